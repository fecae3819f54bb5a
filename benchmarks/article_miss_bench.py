"""CPU cost of an uncached article page, measured in-process (less noisy than
wrk on a shared machine): production settings, the database http_bench.sh
seeds, Django's WSGI handler called directly.

    .venv/bin/python benchmarks/article_miss_bench.py            # figures
    .venv/bin/python benchmarks/article_miss_bench.py --profile  # and cProfile

Four kinds of request to the seed article, each repeated (after a warm-up):
- "session cookie": a reader with a session cookie (the cache is bypassed, as
  http_bench.sh's "article, uncached");
- "miss: list": for an anonymous reader, the stored page went stale because
  another story joined its topic's list ("More on this" is made again);
- "miss: body": the same after the story's body was edited;
- "cold: none stored": a fresh worker (nothing in its memory) asked for a page
  nobody stored (the article's address with a query string never asked);
- "cold: stale": a fresh worker asked for a stored page gone stale (a deploy
  or a restore: a new site-wide token);
- "cached": a hit, for comparison.
Prints CPU milliseconds per request (process time, the change before each
miss left out) and queries per request (-v: and their SQL).
"""

import cProfile
import io
import itertools
import logging
import os
import pstats
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUESTS = 300
ARTICLES = 300

sys.path.insert(0, str(ROOT))
work_dir = tempfile.TemporaryDirectory(prefix="article-miss-bench-")
for name in ("DJANGO_DEBUG", "DATABASE_URL", "REDIS_URL", "DJANGO_HTTPS"):
    os.environ.pop(name, None)
os.environ["NEWSROOM_VAR_DIR"] = work_dir.name
os.environ["DJANGO_SETTINGS_MODULE"] = "newsroom.settings"
os.environ["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(50)

subprocess.run(
    [sys.executable, "manage.py", "migrate", "--noinput", "--verbosity", "0"],
    cwd=ROOT,
    check=True,
)
subprocess.run(
    [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
    cwd=ROOT,
    check=True,
)
ARTICLE = subprocess.run(
    [sys.executable, "benchmarks/seed_database.py", str(ARTICLES)],
    cwd=ROOT,
    check=True,
    capture_output=True,
    text=True,
).stdout.split()[0]

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.client import RequestFactory  # noqa: E402

from articles.delivery import keys  # noqa: E402
from articles.delivery.memo import memo as process_memo  # noqa: E402
from articles.models import Article, Topic  # noqa: E402
from newsroom.wsgi import application  # noqa: E402

# One line a request on standard error would drown the figures.
logging.getLogger("newsroom.request").setLevel(logging.WARNING)

factory = RequestFactory(HTTP_HOST=settings.ALLOWED_HOSTS[0].lstrip("."))


def get(path, cookies=None):
    environ = factory.get(path).environ
    if cookies:
        environ["HTTP_COOKIE"] = cookies
    body = []

    def start_response(status, headers, exc_info=None):
        body.append((status, dict(headers)))

    content = b"".join(application(environ, start_response))
    status, headers = body[0]
    assert status.startswith("200"), (status, content[:300])
    return headers, content


def session_cookie():
    return get(ARTICLE, f"{settings.SESSION_COOKIE_NAME}=benchmark-bypass")


topic = Topic.objects.get(slug="russia")
# The oldest story: no link of the seed article's nor in its "More on this".
spare = Article.objects.order_by("published_at").first()


def stale():
    # Tagging another story bumps the topic's list: the seed article's page
    # (its "More on this") is stale and made again.
    spare.tags.remove(topic)
    spare.tags.add(topic)


seed = Article.objects.get(slug=ARTICLE.strip("/").split("/")[-1])
bodies = [seed.body, seed.body.replace("Putin", "Putin,", 1)]


def edit_body():
    # A new body: the story's own page is stale, nothing else it shows.
    seed.body = bodies.pop(0)
    bodies.append(seed.body)
    seed.save()


unasked = (f"{ARTICLE}?page={number}" for number in itertools.count(1))


def cold_unstored():
    headers, content = get(next(unasked))
    assert headers.get("X-Cache") == "MISS", headers
    return headers, content


def new_token():
    keys.invalidate_pages()
    process_memo.clear()


def miss():
    headers, content = get(ARTICLE)
    assert headers.get("X-Cache") == "MISS", headers
    return headers, content


def cached():
    headers, content = get(ARTICLE)
    assert headers.get("X-Cache") == "HIT", headers
    return headers, content


def measure(label, request, change=lambda: None, profile=False):
    for _ in range(20):
        change()
        request()
    change()
    queries = []
    with connection.execute_wrapper(
        lambda execute, sql, *args: queries.append(sql) or execute(sql, *args)
    ):
        request()
    profiler = cProfile.Profile() if profile else None
    spent = 0.0
    for _ in range(REQUESTS):
        change()
        start = time.process_time()
        if profiler:
            profiler.enable()
        request()
        if profiler:
            profiler.disable()
        spent += time.process_time() - start
    print(
        f"{label:18} {spent / REQUESTS * 1000:7.2f} ms CPU/request"
        f"  {len(queries)} queries"
    )
    if "-v" in sys.argv:
        print("\n".join(f"  {sql[:150]}" for sql in queries))
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(45)
        print(out.getvalue())


if __name__ == "__main__":
    profile = "--profile" in sys.argv
    print(f"article {ARTICLE}; {REQUESTS} requests each; load {os.getloadavg()}")
    get(ARTICLE)
    measure("session cookie", session_cookie, profile=profile)
    measure("miss: list", miss, stale, profile=profile)
    measure("miss: body", miss, edit_body, profile=profile)
    measure("cold: none stored", cold_unstored, process_memo.clear, profile=profile)
    measure("cold: stale", miss, new_token, profile=profile)
    measure("cached", cached)
