"""Helpers for code that writes many rows at once (the importer).

`Deferred`: rows that signal receivers write for each saved object, put off
while a bulk writer's batch is open and then written with one statement.

A receiver that writes a row per saved object costs a bulk writer (the
importer's INSERT of a few hundred stories) a query per object. Inside
`batch()`, such a receiver hands its item to a `Deferred` instead (`add`
returns True), and the items are written together when the block ends without
an error: inside the writer's transaction or savepoint, so a rollback takes
them too. Outside a batch, `add` returns False and the receiver writes at once.

`chunks(rows, connection, columns=N)`: rows cut to fit one statement's
parameters on that database.

`insert_rows(connection, table, columns, rows)`: INSERT many rows that need
nothing back (no RETURNING), the fastest way the database has;
`insert_sql(...)` is the statement of a multi-row INSERT, for callers that do.

`one_of(connection, values)`: the right side of `column IN (...)` for many
values, as few statements as the database needs.

On PostgreSQL, statements take many values as one array parameter: psycopg
parses every placeholder of a statement in Python, and does not keep the parse
of a long statement, so an IN list of thousands costs the client more than the
server's work.
"""

import threading
from contextlib import contextmanager
from functools import cache

from django.db import connections


class Deferred:
    def __init__(self, write_all):
        self._write_all = write_all  # Called with the list of items put off.
        self._open = threading.local()

    def add(self, item):
        """Put `item` off if a batch is open in this thread; whether it was."""
        items = getattr(self._open, "items", None)
        if items is None:
            return False
        items.append(item)
        return True

    @contextmanager
    def batch(self):
        if getattr(self._open, "items", None) is not None:
            yield  # Nested: the outermost batch writes.
            return
        self._open.items = items = []
        try:
            yield
        finally:
            self._open.items = None
        # Not reached when the block raised: nothing of it is written.
        if items:
            self._write_all(items)


def chunks(rows, connection, *, columns):
    """`rows` (a list) cut to fit the database's limit on a statement's
    parameters, when each row takes `columns` of them."""
    limit = connection.features.max_query_params or 30_000
    size = max(1, limit // columns)
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def one_of(connection, values):
    """(SQL, parameters) of `IN (...)` for `values` (a list), for each
    statement they need: `= ANY(%s)` with one array on PostgreSQL, IN lists
    cut to fit the limit on parameters elsewhere."""
    if connection.vendor == "postgresql":
        yield "= ANY(%s)", [values]
        return
    for chunk in chunks(values, connection, columns=1):
        yield f"IN ({', '.join(['%s'] * len(chunk))})", chunk


def insert_rows(connection, table, columns, rows):
    """INSERT `rows` (tuples of values, in `columns` order) into `table`.

    PostgreSQL loads them with one COPY: a multi-row INSERT of a few thousand
    parameters costs its server twice the work and the client as much again
    to bind them, where COPY streams the rows (an imported story's versions
    and body bands are most of its rows). Elsewhere, INSERTs of as many rows
    as the parameters allow. Errors are the database's, as Django raises
    them (IntegrityError, ...), either way.
    """
    if not rows:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            sql = _copy_sql(connection.alias, table, columns)
            with connection.wrap_database_errors, cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
            return
        for chunk in chunks(rows, connection, columns=len(columns)):
            sql = insert_sql(connection.alias, table, columns, len(chunk))
            cursor.execute(sql, [value for row in chunk for value in row])


def _quoted(using, table, columns):
    quote = connections[using].ops.quote_name
    return quote(table), ", ".join(map(quote, columns))


@cache
def _copy_sql(using, table, columns):
    table, columns = _quoted(using, table, columns)
    return f"COPY {table} ({columns}) FROM STDIN"


@cache
def insert_sql(using, table, columns, count, returning=()):
    """INSERT of `count` rows of `columns` (a tuple) into `table`, returning
    the `returning` columns of each (a tuple; none when empty)."""
    row = f"({', '.join(['%s'] * len(columns))})"
    quoted_table, quoted_columns = _quoted(using, table, columns)
    sql = f"INSERT INTO {quoted_table} ({quoted_columns}) VALUES "
    sql += ", ".join([row] * count)
    if returning:
        sql += f" RETURNING {_quoted(using, table, returning)[1]}"
    return sql
