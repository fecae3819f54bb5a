"""Rows of QuerySets of different models in one query (articles/together.py)."""

import pytest
from django.db.models import F

from articles.models import Article, Correction, Person, RelatedLink, Topic
from articles.together import fetch_together
from tests.conftest import make_article, make_person

pytestmark = pytest.mark.django_db


def fields(instance):
    return [
        getattr(instance, field.attname) for field in instance._meta.concrete_fields
    ]


def test_each_queryset_gives_what_it_gives_alone_in_its_own_order(
    django_assert_num_queries,
):
    # Names whose order depends on the collation, as the database sorts them.
    for number, name in enumerate(("bob", "Alice", "Émile", "alice", "Zoë")):
        make_person(name=name)
        Topic.objects.create(name=f"{name} topic", slug=f"topic-{number}")
    story = make_article()
    story.corrections.create(text="First.")
    story.corrections.create(text="Second.")
    story.related_links.create(title="Out", url="https://example.com/", position=2)
    story.related_links.create(title="In", target=make_article(), position=1)
    parts = {
        "people": Person.objects.all(),
        "topics": Topic.objects.order_by("-name"),
        "corrections": Correction.objects.filter(article=story),
        "links": RelatedLink.objects.annotate(target_slug=F("target__slug")),
    }
    alone = {name: list(queryset) for name, queryset in parts.items()}

    with django_assert_num_queries(1):
        found = fetch_together(parts)

    assert found.keys() == parts.keys()
    for name, instances in alone.items():
        assert [fields(row) for row in found[name]] == [
            fields(row) for row in instances
        ], name
    assert [link.target_slug for link in found["links"]] == [
        link.target_slug for link in alone["links"]
    ]
    assert all(not row._state.adding for rows in found.values() for row in rows)


def test_fields_only_or_defer_leaves_out_stay_in_the_database(
    django_assert_num_queries,
):
    story = make_article(headline="A headline", body="<p>A long body.</p>")
    parts = {
        "addresses": Article.objects.filter(pk=story.pk).only("slug"),
        "cards": Article.objects.filter(pk=story.pk).defer("body", "body_text"),
    }

    with django_assert_num_queries(1):
        found = fetch_together(parts)

    address, card = found["addresses"][0], found["cards"][0]
    assert address.get_deferred_fields() == {
        field.attname
        for field in Article._meta.concrete_fields
        if field.attname not in ("id", "slug")
    }
    assert (address.pk, address.slug) == (story.pk, story.slug)
    assert card.get_deferred_fields() == {"body", "body_text"}
    assert card.headline == "A headline"
