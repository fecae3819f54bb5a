"""The contract of articles/ingest/rawsql.py: each hand-written statement
writes what the ORM call it stands for writes, and sends the same signals.

(save_import_revision's rows are held to django-reversion's own in
tests/test_importer_revisions.py.)
"""

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models.signals import post_save, pre_save
from django.utils import timezone

from articles.bulk_writes import insert_rows
from articles.ingest.duplicates import BodyBand
from articles.ingest.rawsql import (
    _insert_fields,
    insert_join_rows,
    insert_links,
    insert_params,
    point_waiting_links,
    save_new,
)
from articles.models import Article, RelatedLink, TaggedArticle, Topic
from articles.redirects import SlugRedirect
from articles.wire import ImportedSource
from tests.conftest import make_article, make_person, make_related_link

pytestmark = pytest.mark.django_db

# Differ between two rows by nature: their keys and the moment they were written.
OWN_TO_EACH_ROW = {"id", "slug", "headline", "source", "name"}
WRITTEN_AT = timezone.now() - timedelta(hours=1)


@pytest.fixture
def signals_sent():
    """(signal, sender, keyword arguments but the instance) of each save signal."""
    sent = []

    def receiver(signal, sender, instance, **kwargs):
        kind = "pre_save" if signal is pre_save else "post_save"
        sent.append((kind, sender, kwargs))

    for signal in (pre_save, post_save):
        signal.connect(receiver, sender=Article, weak=False, dispatch_uid="contract")
    yield sent
    for signal in (pre_save, post_save):
        signal.disconnect(sender=Article, dispatch_uid="contract")


def row(model, pk):
    values = model.objects.filter(pk=pk).values().get()
    return {
        name: value for name, value in values.items() if name not in OWN_TO_EACH_ROW
    }


def new_article(number, **fields):
    article = Article(
        headline=f"Story {number}",
        slug=f"story-{number}",
        standfirst="Standfirst.",
        body="<p>Body &amp; more.</p>",
        source=f"{number}.txt",
        status=Article.Status.PUBLISHED,
        published_at=WRITTEN_AT,
        **fields,
    )
    article.prepare_to_save()
    return article


def test_save_new_writes_and_signals_as_save(signals_sent):
    by_orm = new_article(1)
    by_orm.save()
    from_orm = list(signals_sent)
    signals_sent.clear()

    ours = new_article(2)
    save_new(ours)

    assert ours.pk is not None and ours.pk != by_orm.pk
    assert not ours._state.adding and ours._state.db == "default"
    # auto_now times are the moment of each save, as save() sets them.
    times = {"created_at", "updated_at"}
    assert {
        name: value
        for name, value in row(Article, ours.pk).items()
        if name not in times
    } == {
        name: value
        for name, value in row(Article, by_orm.pk).items()
        if name not in times
    }
    stored = Article.objects.get(pk=ours.pk)
    assert by_orm.created_at <= stored.created_at <= stored.updated_at
    assert signals_sent == from_orm
    # The post_save receivers had their effect: the slug's history is kept.
    assert SlugRedirect.objects.count() == 0
    ours.slug = "story-2-renamed"
    ours.save()
    assert SlugRedirect.objects.get().old_slug == "story-2"


def test_save_new_of_a_source_writes_as_save():
    article = make_article()
    values = {
        "article": article,
        "imported": {"headline": 'Ünïcode & "quotes"', "links": [["a", "b"]]},
        "pending": {},
        "pending_since": timezone.now() - timedelta(days=1),
        "duplicate_of": make_article(),
    }
    by_orm = ImportedSource.objects.create(name="a.txt", **values)
    ours = ImportedSource(name="b.txt", **{**values, "article": make_article()})

    save_new(ours)

    expected = row(ImportedSource, by_orm.pk) | {"article_id": ours.article_id}
    assert row(ImportedSource, ours.pk) == expected


@pytest.mark.parametrize("relation", ["people", "topics"])
def test_insert_join_rows_writes_what_add_writes(relation):
    if relation == "people":
        through, fields = Article.people.through, ("article", "person")
        targets = [make_person(), make_person(), make_person()]
    else:
        through, fields = TaggedArticle, ("content_object", "tag")
        targets = [
            Topic.objects.create(name=f"Topic {n}", slug=f"topic-{n}") for n in range(3)
        ]
    by_orm, ours = make_article(), make_article()
    getattr(by_orm, relation if relation == "people" else "tags").add(*targets)

    rows = insert_join_rows(through, *fields, {ours.pk: [t.pk for t in targets]})

    article_column, target_column = (
        through._meta.get_field(name).attname for name in fields
    )

    def stored(article):
        return sorted(
            through.objects.filter(**{article_column: article.pk}).values_list(
                "pk", target_column
            ),
            key=lambda pair: pair[1],
        )

    assert [target for _, target in stored(ours)] == [
        target for _, target in stored(by_orm)
    ]
    assert rows == {ours.pk: stored(ours)}  # (row pk, target pk), by target


def test_insert_links_writes_what_bulk_create_writes():
    target = make_article()

    def links(article):
        return [
            RelatedLink(article=article, position=1, title="One", summary="S"),
            RelatedLink(article=article, position=2, title="Two", target=target),
            RelatedLink(article=article, position=3, title="Three", url="https://x"),
        ]

    by_orm, ours = make_article(), make_article()
    RelatedLink.objects.bulk_create(links(by_orm))
    mine = links(ours)

    insert_links(mine)

    def stored(article):
        return list(
            RelatedLink.objects.filter(article=article)
            .order_by("position")
            .values("position", "title", "summary", "url", "target_id")
        )

    assert stored(ours) == stored(by_orm)
    for link in mine:
        assert RelatedLink.objects.get(pk=link.pk).title == link.title
        assert not link._state.adding and link._state.db == "default"


def test_point_waiting_links_at_updates_as_the_queryset_would():
    article, showing = make_article(), make_article()
    waiting = [make_related_link(showing, title="Soon") for _ in range(3)]
    elsewhere = make_article()
    # An editor pointed one of them somewhere meanwhile: it stays.
    RelatedLink.objects.filter(pk=waiting[0].pk).update(target=elsewhere)
    expected_targets = {waiting[0].pk: elsewhere.pk}
    expected_targets.update({link.pk: article.pk for link in waiting[1:]})

    point_waiting_links({link.pk: article.pk for link in waiting})

    assert (
        dict(RelatedLink.objects.filter(article=showing).values_list("pk", "target_id"))
        == expected_targets
    )


def test_insert_rows_writes_what_bulk_create_writes():
    # Every column type an import loads this way: numbers, text, NULL, JSON.
    by_orm, ours = make_article(), make_article()
    fields = {"imported": {"headline": "Ünïcode \\ tab\t"}, "pending": {}}
    ImportedSource.objects.bulk_create(
        [ImportedSource(name="a", article=by_orm, **fields)]
    )
    written = [
        field for field in ImportedSource._meta.concrete_fields if not field.primary_key
    ]
    source = ImportedSource(name="b", article=ours, **fields)
    insert_rows(
        connection,
        ImportedSource._meta.db_table,
        tuple(field.column for field in written),
        [
            tuple(
                field.get_db_prep_save(field.value_from_object(source), connection)
                for field in written
            )
        ],
    )

    def stored(name):
        values = ImportedSource.objects.filter(name=name).values().get()
        return {
            key: value
            for key, value in values.items()
            if key not in ("id", "name", "article_id")
        }

    assert stored("b") == stored("a")


def test_insert_rows_raises_the_databases_error_and_the_savepoint_recovers():
    article = make_article()
    band = ("article_id", "key")
    with pytest.raises(IntegrityError), transaction.atomic():
        # A band of no story: refused by the database itself.
        insert_rows(connection, BodyBand._meta.db_table, band, [(None, 1)])
    insert_rows(connection, BodyBand._meta.db_table, band, [(article.pk, 7)])
    assert list(BodyBand.objects.values_list("article_id", "key")) == [(article.pk, 7)]


def test_insert_params_are_what_save_would_send():
    """The parameters of an INSERT are each field's get_db_prep_save of its
    pre_save, for every model an import inserts this way, and for values
    that take the long way (an enum member, a datetime, JSON, a key)."""
    article = new_article(1)  # Its status is an enum member.
    link = RelatedLink(article_id=5, position=1, title="T", summary="S")
    source = ImportedSource(name="n.txt", article_id=5, imported={"a": [1]})
    tagged = TaggedArticle(content_object_id=5, tag_id=7)
    for obj in (article, link, source, tagged):
        fields = _insert_fields(type(obj))
        ours = insert_params([obj], connection)
        # pre_save has stamped auto_now times on the object: read them back.
        expected = [
            field.get_db_prep_save(getattr(obj, field.attname), connection)
            for field in fields
        ]
        assert list(map(comparable, ours)) == list(map(comparable, expected))


def comparable(value):
    # psycopg's JSON wrapper compares by identity: compare what it wraps.
    return type(value), getattr(value, "obj", value)
