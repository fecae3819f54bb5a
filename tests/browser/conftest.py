"""Real-browser tests: Debian's Chromium driven by Playwright against live_server.

Only Debian's Chromium is used (Playwright's own browser download is not available
on these machines). Without it the browser tests are skipped with one line.
"""

import os
from pathlib import Path

import pytest
from django.db import connections

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_MISSING = (
    f"Chromium not found at {CHROMIUM}: browser tests skipped "
    "(apt-get install chromium, as .ci/run does)"
)
BROWSER_TESTS = Path(__file__).parent

# Playwright's sync API runs an asyncio event loop in this thread for as long as
# the session's browser lives, so Django takes every ORM call made here (test
# data, the database flush between tests) for one made from async code and
# raises SynchronousOnlyOperation. Nothing here is async code: the loop only
# talks to the browser, so the check is switched off. It is set at import, before
# any test runs, because the loop outlives each test.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    # Raised from here, before any fixture starts the browser, and from this one
    # line, so pytest's summary folds every skip into a single line.
    if not CHROMIUM.exists() and BROWSER_TESTS in item.path.parents:
        pytest.skip(CHROMIUM_MISSING)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        # The machines have no outside network: without these flags Chromium
        # keeps trying to reach Google's services.
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args, live_server):
    return {**browser_context_args, "base_url": live_server.url}


@pytest.fixture(autouse=True)
def _restore_migration_data(live_server, django_db_serialized_rollback):
    """Give every browser test the rows migrations create (the Editors group).

    live_server needs transactional_db, which empties every table after each
    test; serialized rollback puts the migrated rows back before the next.
    """


@pytest.fixture(scope="session")
def _migrated_rows(django_db_setup):
    """The rows Django serialized when it created the test database."""
    return {
        alias: connections[alias]._test_serialized_contents
        for alias in connections
        if hasattr(connections[alias], "_test_serialized_contents")
    }


@pytest.fixture(scope="session")
def playwright(_migrated_rows, playwright):
    # Django keeps one database connection per thread, but a separate one per
    # context while an event loop runs in the thread, so once Playwright starts,
    # tests get fresh connection objects that lack the serialized rows the
    # test database was created with. Hand those rows on, so serialized
    # rollback restores them (and flush keeps content types) as Django means.
    for alias, rows in _migrated_rows.items():
        connections[alias]._test_serialized_contents = rows
    return playwright


@pytest.fixture
def reader(new_context):
    """An anonymous reader's page, in a browser context of its own."""
    return new_context().new_page()


@pytest.fixture
def screenshot(page, output_path):
    """Save numbered full-page screenshots of a journey into test-artifacts/."""
    folder = Path(output_path)
    folder.mkdir(parents=True, exist_ok=True)
    taken = []

    def take(name, of_page=None):
        taken.append(name)
        path = folder / f"{len(taken):02d}-{name}.png"
        (of_page or page).screenshot(path=path, full_page=True)
        return path

    return take
