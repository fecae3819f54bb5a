"""The hand-written SQL of an import, and the contract it keeps.

For the rows of one story the ORM spends longer building and compiling each
statement than the database spends running it, and django-reversion's capture
follows every relation with a query of its own. The importer holds every row it
stores, so these functions write them directly: table and column names come
from the models, and statements are built once per run.

Each function says which ORM call or reversion record it stands for; the
contract tests (tests/test_ingest_rawsql.py, tests/test_importer_revisions.py)
hold them to writing exactly what that call writes. Nothing else in the app
spells SQL for the importer.

- `save_new(obj)`: obj.save() of a new row (signals, defaults, auto_now).
- `insert_join_rows(...)`: the join rows of people.add() / tags.add().
- `insert_links(links)`: RelatedLink.objects.bulk_create(links).
- `point_waiting_links_at(article, ids)`: RelatedLink.objects.filter(pk__in=ids,
  target=None).update(target=article), chunked.
- `save_import_revision(snapshot, comment)`: the Revision and Version rows of
  `reversion.add_to_revision(article)` in a revision with that comment.
"""

from functools import cache

from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, router
from django.db.models.signals import post_save, pre_save
from django.utils import timezone
from django.utils.encoding import is_protected_type
from reversion.models import Revision, Version

from articles.history import NOT_IN_SNAPSHOTS
from articles.models import Article, RelatedLink, TaggedArticle


def save_new(obj):
    """obj.save() for a new object of a model without parent models, as one
    INSERT: the same pre_save and post_save signals, defaults and auto_now
    times, and the object knows its pk and database afterwards."""
    model = type(obj)
    using = router.db_for_write(model, instance=obj)
    connection = connections[using]
    signal = {"sender": model, "instance": obj, "raw": False, "using": using}
    pre_save.send(**signal, update_fields=None)
    fields, sql = _insert_sql(using, model, 1, model._meta.pk.column)
    with connection.cursor() as cursor:
        cursor.execute(
            sql, [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
        )
        (obj.pk,) = cursor.fetchone()
    obj._state.adding, obj._state.db = False, using
    post_save.send(**signal, created=True, update_fields=None)


@cache
def _insert_sql(using, model, rows, *returning):
    """(fields, INSERT of `rows` rows of the model returning those columns)."""
    if model._meta.parents:
        raise TypeError(f"{model.__name__} has a parent model: use save()")
    quote = connections[using].ops.quote_name
    fields = [
        f for f in model._meta.local_concrete_fields if f is not model._meta.auto_field
    ]
    row = f"({', '.join(['%s'] * len(fields))})"
    return fields, (
        f"INSERT INTO {quote(model._meta.db_table)} "
        f"({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES {', '.join([row] * rows)} "
        f"RETURNING {', '.join(map(quote, returning))}"
    )


def insert_join_rows(through, article_field, target_field, article_id, target_ids):
    """Insert (article, target) rows; return their (row pk, target pk), in order."""
    using = router.db_for_write(through)
    sql = _join_rows_sql(using, through, article_field, target_field, len(target_ids))
    with connections[using].cursor() as cursor:
        cursor.execute(
            sql,
            [value for target_id in target_ids for value in (article_id, target_id)],
        )
        # RETURNING gives the rows in no promised order.
        return sorted(cursor.fetchall(), key=lambda row: row[1])


@cache
def _join_rows_sql(using, through, article_field, target_field, count):
    quote = connections[using].ops.quote_name
    article_column = quote(through._meta.get_field(article_field).column)
    target_column = quote(through._meta.get_field(target_field).column)
    return (
        f"INSERT INTO {quote(through._meta.db_table)} ({article_column}, "
        f"{target_column}) VALUES {', '.join(['(%s, %s)'] * count)} "
        f"RETURNING {quote(through._meta.pk.column)}, {target_column}"
    )


def insert_links(links):
    """RelatedLink.objects.bulk_create(links) for one article's links, sets pk."""
    if not links:
        return
    position = {link.position: link for link in links}
    if len(position) != len(links):
        # The pks come back by position; this never happens for imported links.
        RelatedLink.objects.bulk_create(links)
        return
    using = router.db_for_write(RelatedLink)
    connection = connections[using]
    pk_column = RelatedLink._meta.pk.column
    fields, sql = _insert_sql(using, RelatedLink, len(links), pk_column, "position")
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                f.get_db_prep_save(f.pre_save(link, True), connection)
                for link in links
                for f in fields
            ],
        )
        for pk, link_position in cursor.fetchall():
            link = position[link_position]
            link.pk = pk
            link._state.adding, link._state.db = False, connection.alias


def point_waiting_links_at(article, link_ids):
    connection = connections[router.db_for_write(RelatedLink)]
    quote = connection.ops.quote_name
    table = quote(RelatedLink._meta.db_table)
    target = quote(RelatedLink._meta.get_field("target").column)
    pk = quote(RelatedLink._meta.pk.column)
    with connection.cursor() as cursor:
        # Chunks keep under SQLite's limit on parameters; a link an editor
        # pointed somewhere meanwhile is left alone.
        for start in range(0, len(link_ids), 500):
            chunk = link_ids[start : start + 500]
            placeholders = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"UPDATE {table} SET {target} = %s "
                f"WHERE {pk} IN ({placeholders}) AND {target} IS NULL",
                [article.pk, *chunk],
            )


# Revisions ---------------------------------------------------------------------


def save_import_revision(snapshot, comment):
    """Record `snapshot` as one revision credited to `comment` (no user), written
    as django-reversion writes it: its history, compare and restore read it."""
    article = snapshot.article
    using = router.db_for_write(Revision)
    model_db = router.db_for_write(Article, instance=article)
    # Person's ordering, which is the order reversion's serializer lists them in.
    people = [pk for pk, _ in sorted(snapshot.people, key=lambda p: (p[1], p[0]))]
    versions = [
        (Article, article.pk, _serialized(article, {"people": people}), str(article)),
        *(
            (
                TaggedArticle,
                pk,
                _serialized_row(
                    TaggedArticle, pk, content_object_id=article.pk, tag_id=topic_id
                ),
                TaggedArticle.describe(article.pk, topic_id),
            )
            for pk, topic_id in snapshot.topics
        ),
        *(
            (RelatedLink, link.pk, _serialized(link), str(link))
            for link in snapshot.links
        ),
    ]
    content_types = ContentType.objects.db_manager(using).get_for_models(
        Article, TaggedArticle, RelatedLink
    )
    connection = connections[using]
    revision_sql, version_sql = _revision_sql(using)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(revision_sql, [now, comment])
        (revision_id,) = cursor.fetchone()
        cursor.executemany(
            version_sql,
            [
                (
                    revision_id,
                    str(pk),
                    content_types[model].pk,
                    model_db,
                    "json",
                    data,
                    text,
                )
                for model, pk, data, text in versions
            ],
        )
    return revision_id


@cache
def _revision_sql(using):
    """INSERTs of a revision (no user; returns its id) and of one version."""
    quote = connections[using].ops.quote_name
    return (
        f"INSERT INTO {quote(Revision._meta.db_table)} (date_created, user_id, "
        f"comment) VALUES (%s, NULL, %s) RETURNING id",
        f"INSERT INTO {quote(Version._meta.db_table)} (revision_id, object_id, "
        f"content_type_id, db, format, serialized_data, object_repr) "
        f"VALUES (%s, %s, %s, %s, %s, %s, %s)",
    )


# What `serializers.serialize("json", [obj], fields=<the registered fields>)`
# returns, without its per-call set-up and its query for each many-to-many.


def _serialized(obj, many_to_many=None):
    """A model instance as reversion serialises it."""
    fields = {}
    for name, model_field in _snapshot_fields(type(obj)):
        value = model_field.value_from_object(obj)
        if type(value) is not str and not is_protected_type(value):
            value = model_field.value_to_string(obj)
        fields[name] = value
    return _encoded(type(obj), obj.pk, fields, many_to_many)


def _serialized_row(model, pk, **values):
    """A row given by attribute name, when every value is a number or text
    (a join row): no model instance to build."""
    fields = {name: values[field.attname] for name, field in _snapshot_fields(model)}
    return _encoded(model, pk, fields)


def _encoded(model, pk, fields, many_to_many=None):
    for name in _snapshot_many_to_many(model):
        fields[name] = many_to_many[name]
    data = {"model": model._meta.label_lower, "pk": pk, "fields": fields}
    return f"[{_JSON.encode(data)}]"


# As the JSON serializer encodes (dates to the millisecond, text as it is).
_JSON = DjangoJSONEncoder(ensure_ascii=False)


@cache
def _snapshot_fields(model):
    excluded = NOT_IN_SNAPSHOTS.get(model, ())
    return [
        (model_field.name, model_field)
        for model_field in model._meta.concrete_model._meta.local_fields
        if model_field.serialize and model_field.name not in excluded
    ]


@cache
def _snapshot_many_to_many(model):
    excluded = NOT_IN_SNAPSHOTS.get(model, ())
    return [
        model_field.name
        for model_field in model._meta.concrete_model._meta.local_many_to_many
        if model_field.serialize and model_field.name not in excluded
    ]
