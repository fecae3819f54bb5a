"""newsroom.sqlite_engine: Django's SQLite backend, keeping each statement's
placeholder conversion. It must convert exactly as Django's does."""

import pytest
from django.db import connection
from django.db.backends.sqlite3.base import SQLiteCursorWrapper as DjangoCursor

from newsroom.sqlite_engine.base import SQLiteCursorWrapper, _converted

pytestmark = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="the SQLite engine only"
)

STATEMENTS = [
    "SELECT 1",
    "SELECT %s, %s",
    "SELECT '%%s' || %s",  # A literal %s, escaped.
    "SELECT x FROM t WHERE y LIKE '100%%' AND z = %s",
    "INSERT INTO t (a, b) VALUES " + ", ".join(["(%s, %s)"] * 499),
]


@pytest.mark.parametrize("sql", STATEMENTS)
def test_converts_as_djangos_cursor_does(sql):
    ours = SQLiteCursorWrapper.convert_query(None, sql)
    assert ours == DjangoCursor.convert_query(None, sql)
    # Kept: the same string again is not converted anew.
    assert SQLiteCursorWrapper.convert_query(None, sql) is ours


@pytest.mark.django_db
def test_named_parameters_convert_as_djangos_do():
    sql = "SELECT %(first)s, %(second)s"
    names = ["first", "second"]
    with connection.cursor() as cursor:
        ours = cursor.cursor.convert_query(sql, param_names=names)
    assert ours == DjangoCursor.convert_query(None, sql, param_names=names)


@pytest.mark.django_db
def test_the_configured_connection_uses_it():
    with connection.cursor() as cursor:
        assert isinstance(cursor.cursor, SQLiteCursorWrapper)
        cursor.execute("SELECT %s || '%%' || %s", ["a", "b"])
        assert cursor.fetchone() == ("a%b",)
        cursor.execute("SELECT %(x)s", {"x": 7})
        assert cursor.fetchone() == (7,)
    assert _converted.cache_info().currsize > 0
