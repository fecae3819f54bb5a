"""Django's SQLite backend, with each statement's placeholders converted once.

Django writes "%s" placeholders, which its SQLite cursor turns into "?" with a
regular expression on every execute. For the importer's statements, which
insert hundreds of rows with up to 999 placeholders, that scan cost about a
twentieth of an import's time (benchmarks/import_bench.py). The statements
are the same few strings over and over (built once and cached by the
importer; the ORM's repeat too), so each one's conversion is kept:
`convert_query` gives exactly what Django's gives (tests/test_sqlite_engine.py).
Everything else is Django's backend, unchanged (settings.DATABASES uses this
engine for SQLite).
"""

from functools import lru_cache

from django.db.backends.sqlite3 import base

# Distinct statements whose conversion is kept, the latest used: more than the
# importer repeats (a few per table), few enough (with the converted copy, well
# under 1 MiB) not to weigh on a web worker, whose ORM queries rarely repeat.
CONVERTED_STATEMENTS = 64


class SQLiteCursorWrapper(base.SQLiteCursorWrapper):
    def convert_query(self, query, *, param_names=None):
        if param_names is not None:  # Named parameters: rare, left as they are.
            return super().convert_query(query, param_names=param_names)
        return _converted(query)


@lru_cache(maxsize=CONVERTED_STATEMENTS)
def _converted(query):
    # Django's conversion of "%s" placeholders does not read the cursor.
    return base.SQLiteCursorWrapper.convert_query(None, query)


class DatabaseWrapper(base.DatabaseWrapper):
    def create_cursor(self, name=None):
        return self.connection.cursor(factory=SQLiteCursorWrapper)
