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

Each writes many rows with a statement (as many as the database's limit on
parameters allows), so an import pays a few statements per batch of files; on
PostgreSQL new rows are loaded with COPY, their pks drawn from the sequence
first:

- `save_new(obj)` / `save_new_many(objs, key)`: obj.save() of new rows
  (signals, defaults, auto_now).
- `insert_join_rows(...)`: the join rows of people.add() / tags.add().
- `insert_links(links)`: RelatedLink.objects.bulk_create(links).
- `point_waiting_links({link: article})`: RelatedLink.objects.filter(pk=link,
  target=None).update(target=article) for each.
- `save_import_revision(snapshot, comment)` / `save_import_revisions(...)`: the
  Revision and Version rows of `reversion.add_to_revision(article)` in a
  revision with that comment.
"""

from functools import cache

from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, models, router
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.models.signals import post_save, pre_save
from django.utils import timezone
from django.utils.encoding import is_protected_type
from reversion.models import Revision, Version

from articles.bulk_writes import chunks, insert_rows, insert_sql
from articles.history import NOT_IN_SNAPSHOTS
from articles.models import Article, RelatedLink, TaggedArticle


def save_new(obj):
    """obj.save() for a new object of a model without parent models, as one
    INSERT: the same pre_save and post_save signals, defaults and auto_now
    times, and the object knows its pk and database afterwards."""
    save_new_many([obj])


def save_new_many(objs, key=None):
    """save_new() of each of `objs` (new objects of one model), with as few
    INSERTs as the database's limit on parameters allows. `key` names a unique
    field by which each returned pk finds its object (RETURNING promises no
    order); it may be left out for a single object."""
    if not objs:
        return
    model = type(objs[0])
    using = router.db_for_write(model, instance=objs[0])
    signals = [
        {"sender": model, "instance": obj, "raw": False, "using": using} for obj in objs
    ]
    for signal in signals:
        pre_save.send(**signal, update_fields=None)
    if key is None and len(objs) > 1:
        raise TypeError("save_new_many() of several objects needs a key")
    keys = () if key is None else (key,)
    _insert_new(using, objs, keys)
    for obj in objs:
        obj._state.adding, obj._state.db = False, using
    for signal in signals:
        post_save.send(**signal, created=True, update_fields=None)


def _insert_new(using, objs, keys):
    """INSERT new objects of one model and set each one's pk.

    On PostgreSQL the pks are drawn from the table's sequence first and the
    rows loaded with COPY (bulk_writes.insert_rows: a third of the server's
    work, and next to none of the client's). Elsewhere, INSERTs of as many rows
    as the parameters allow return each row's pk beside the values of the
    fields named in `keys`, which tell its object (RETURNING promises no
    order): they must differ between the objects.
    """
    model = type(objs[0])
    connection = connections[using]
    fields = _insert_fields(model)
    key_fields = [model._meta.get_field(name) for name in keys]
    by_key = {tuple(getattr(obj, f.attname) for f in key_fields): obj for obj in objs}
    if len(by_key) != len(objs):
        raise ValueError(f"two of the objects have the same {', '.join(keys)}")
    if connection.vendor == "postgresql" and model._meta.auto_field:
        for obj, pk in zip(objs, _drawn_pks(connection, model, len(objs)), strict=True):
            obj.pk = pk
        params, width = insert_params(objs, connection), len(fields)
        insert_rows(
            connection,
            model._meta.db_table,
            (model._meta.pk.column, *(field.column for field in fields)),
            [
                (obj.pk, *params[start : start + width])
                for obj, start in zip(objs, range(0, len(params), width), strict=True)
            ],
        )
        return
    returning = (model._meta.pk.column, *(field.column for field in key_fields))
    with connection.cursor() as cursor:
        for chunk in chunks(objs, connection, columns=len(fields)):
            cursor.execute(
                insert_sql(
                    using,
                    model._meta.db_table,
                    _insert_columns(model),
                    len(chunk),
                    returning,
                ),
                insert_params(chunk, connection),
            )
            for pk, *key in cursor.fetchall():
                by_key[tuple(key)].pk = pk


def _drawn_pks(connection, model, count):
    """`count` new pks from the model's sequence, in ascending order
    (PostgreSQL; like an INSERT's, they are gone even if it rolls back)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) "
            "FROM generate_series(1, %s)",
            [model._meta.db_table, model._meta.pk.column, count],
        )
        return sorted(pk for (pk,) in cursor.fetchall())


def insert_params(objs, connection):
    """The parameters of an INSERT of new objects of one model, in
    _insert_fields order: each field's get_db_prep_save(pre_save(obj, True)),
    as Model.save() computes them, without the two calls for the plain text,
    number and key values that both give back unchanged (most of a story's)."""
    plan = _insert_plan(type(objs[0]), connection.alias)
    params = []
    append = params.append
    for obj in objs:
        for field, attname, own_pre_save, as_is in plan:
            value = field.pre_save(obj, True) if own_pre_save else getattr(obj, attname)
            if type(value) not in as_is:
                value = field.get_db_prep_save(value, connection)
            append(value)
    return params


# Field classes (exactly these: a subclass may convert) whose get_prep_value
# and get_db_prep_value give back a value of these types unchanged: text is
# text; a number a number, a key its number, where the backend does not wrap
# them (psycopg 3's get Int4 and the like to bind). Other values (a choice's
# enum member, a lazy string) go the long way.
_TEXT, _NUMBER = frozenset({str, type(None)}), frozenset({int, type(None)})
_WRITTEN_AS_IS = {
    models.CharField: _TEXT,
    models.SlugField: _TEXT,
    models.TextField: _TEXT,
    models.AutoField: _NUMBER,
    models.BigAutoField: _NUMBER,
    models.IntegerField: _NUMBER,
    models.PositiveIntegerField: _NUMBER,
    models.PositiveSmallIntegerField: _NUMBER,
    models.SmallIntegerField: _NUMBER,
    models.BigIntegerField: _NUMBER,
    models.BooleanField: frozenset({bool, type(None)}),
}


@cache
def _insert_plan(model, using):
    """(field, attname, whether its pre_save does more than read the
    attribute, the types of value it writes as they are) of each field an
    INSERT writes."""
    ops = connections[using].ops
    numbers_as_is = (
        type(ops).adapt_integerfield_value
        is BaseDatabaseOperations.adapt_integerfield_value
    )
    plan = []
    for field in _insert_fields(model):
        if field.is_relation:
            # A key is written as its target field writes it.
            plain = type(field) is models.ForeignKey
            as_is = _WRITTEN_AS_IS.get(type(field.target_field)) if plain else None
        else:
            as_is = _WRITTEN_AS_IS.get(type(field))
        if as_is is _NUMBER and not numbers_as_is:
            as_is = None
        own_pre_save = type(field).pre_save is not models.Field.pre_save
        plan.append((field, field.attname, own_pre_save, as_is or frozenset()))
    return plan


@cache
def _insert_fields(model):
    """The fields an INSERT of the model writes: all but its auto pk."""
    if model._meta.parents:
        raise TypeError(f"{model.__name__} has a parent model: use save()")
    return [
        f for f in model._meta.local_concrete_fields if f is not model._meta.auto_field
    ]


@cache
def _insert_columns(model):
    return tuple(field.column for field in _insert_fields(model))


def insert_join_rows(through, article_field, target_field, targets):
    """Insert the join rows of articles to people or topics, given as
    {article pk: [target pk, ...]}; return {article pk: [(row pk, target pk),
    ...]}, by target."""
    using = router.db_for_write(through)
    connection = connections[using]
    columns = tuple(
        through._meta.get_field(name).column for name in (article_field, target_field)
    )
    pairs = [
        (article_id, target_id)
        for article_id, target_ids in targets.items()
        for target_id in target_ids
    ]
    rows = {article_id: [] for article_id in targets}
    if connection.vendor == "postgresql":
        # As _insert_new does: pks drawn first, rows loaded with COPY.
        pks = _drawn_pks(connection, through, len(pairs))
        insert_rows(
            connection,
            through._meta.db_table,
            (through._meta.pk.column, *columns),
            [(pk, *pair) for pk, pair in zip(pks, pairs, strict=True)],
        )
        for pk, (article_id, target_id) in zip(pks, pairs, strict=True):
            rows[article_id].append((pk, target_id))
    else:
        with connection.cursor() as cursor:
            for chunk in chunks(pairs, connection, columns=2):
                sql = insert_sql(
                    using,
                    through._meta.db_table,
                    columns,
                    len(chunk),
                    (through._meta.pk.column, *columns),
                )
                cursor.execute(sql, [value for pair in chunk for value in pair])
                for pk, article_id, target_id in cursor.fetchall():
                    rows[article_id].append((pk, target_id))
    # By target (RETURNING gives the rows in no promised order).
    return {
        article_id: sorted(found, key=lambda row: row[1])
        for article_id, found in rows.items()
    }


def insert_links(links):
    """RelatedLink.objects.bulk_create(links), setting each link's pk."""
    if not links:
        return
    if len({(link.article_id, link.position) for link in links}) != len(links):
        # The pks come back by position; this never happens for imported links.
        RelatedLink.objects.bulk_create(links)
        return
    using = router.db_for_write(RelatedLink)
    _insert_new(using, links, ("article", "position"))
    for link in links:
        link._state.adding, link._state.db = False, using


def point_waiting_links(targets):
    """For each {link pk: article pk} in `targets`, what
    RelatedLink.objects.filter(pk=link, target=None).update(target=article)
    does, in one UPDATE per chunk: a link an editor pointed somewhere
    meanwhile is left alone."""
    if not targets:
        return
    connection = connections[router.db_for_write(RelatedLink)]
    quote = connection.ops.quote_name
    table = quote(RelatedLink._meta.db_table)
    target = quote(RelatedLink._meta.get_field("target").column)
    pk = quote(RelatedLink._meta.pk.column)
    pairs = sorted(targets.items())
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Two array parameters (bulk_writes: psycopg parses placeholders).
            cursor.execute(
                f"UPDATE {table} SET {target} = pointed.target "
                f"FROM unnest(%s::bigint[], %s::bigint[]) AS pointed (link, target) "
                f"WHERE {table}.{pk} = pointed.link AND {table}.{target} IS NULL",
                [[link for link, _ in pairs], [article for _, article in pairs]],
            )
            return
        for chunk in chunks(pairs, connection, columns=3):
            cases = " ".join(["WHEN %s THEN %s"] * len(chunk))
            placeholders = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"UPDATE {table} SET {target} = CASE {pk} {cases} END "
                f"WHERE {pk} IN ({placeholders}) AND {target} IS NULL",
                [
                    *(value for pair in chunk for value in pair),
                    *(link_pk for link_pk, _ in chunk),
                ],
            )


# Revisions ---------------------------------------------------------------------


def save_import_revision(snapshot, comment):
    """Record `snapshot` as one revision credited to `comment` (no user), written
    as django-reversion writes it: its history, compare and restore read it."""
    (revision_id,) = save_import_revisions([(snapshot, comment)])
    return revision_id


def save_import_revisions(revisions):
    """save_import_revision() of each (snapshot, comment) in `revisions`, with a
    few statements for all of them; returns the revisions' ids, in order."""
    if not revisions:
        return []
    using = router.db_for_write(Revision)
    connection = connections[using]
    content_types = ContentType.objects.db_manager(using).get_for_models(
        Article, TaggedArticle, RelatedLink
    )
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    comments = [comment for _, comment in revisions]
    ids = {}
    with connection.cursor() as cursor:
        if len(set(comments)) == len(comments):
            for chunk in chunks(comments, connection, columns=3):
                cursor.execute(
                    _revisions_sql(using, len(chunk)),
                    [value for comment in chunk for value in (now, None, comment)],
                )
                ids.update((comment, pk) for pk, comment in cursor.fetchall())
            revision_ids = [ids[comment] for comment in comments]
        else:  # RETURNING is matched by comment: one at a time.
            revision_ids = []
            for comment in comments:
                cursor.execute(_revisions_sql(using, 1), [now, None, comment])
                ((pk, _),) = cursor.fetchall()
                revision_ids.append(pk)
        versions = [
            (
                revision_id,
                str(pk),
                content_types[model].pk,
                model_db,
                "json",
                data,
                text,
            )
            for revision_id, (snapshot, _) in zip(revision_ids, revisions, strict=True)
            for model, pk, data, text, model_db in _versions(snapshot)
        ]
    insert_rows(connection, Version._meta.db_table, _VERSION_COLUMNS, versions)
    return revision_ids


def _versions(snapshot):
    """(model, pk, serialized data, repr, database) of each object the
    snapshot's revision records."""
    article = snapshot.article
    model_db = router.db_for_write(Article, instance=article)
    # Person's ordering, which is the order reversion's serializer lists them in.
    people = [pk for pk, _ in sorted(snapshot.people, key=lambda p: (p[1], p[0]))]
    yield (
        Article,
        article.pk,
        _serialized(article, {"people": people}),
        str(article),
        model_db,
    )
    for pk, topic_id in snapshot.topics:
        yield (
            TaggedArticle,
            pk,
            _serialized_row(
                TaggedArticle, pk, content_object_id=article.pk, tag_id=topic_id
            ),
            TaggedArticle.describe(article.pk, topic_id),
            model_db,
        )
    for link in snapshot.links:
        yield (RelatedLink, link.pk, _serialized(link), str(link), model_db)


def _revisions_sql(using, count):
    """INSERT of `count` revisions (date, user, comment) returning their id
    and comment."""
    return insert_sql(
        using,
        Revision._meta.db_table,
        ("date_created", "user_id", "comment"),
        count,
        ("id", "comment"),
    )


_VERSION_COLUMNS = (
    "revision_id",
    "object_id",
    "content_type_id",
    "db",
    "format",
    "serialized_data",
    "object_repr",
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
