"""Search benchmark: 20,000 generated articles, 200 varied queries, median and p95.

    .venv/bin/python benchmarks/search_bench.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h9bench \\
        .venv/bin/python benchmarks/search_bench.py

It fills a fresh throwaway database: on SQLite a file in a temporary folder; on
PostgreSQL Django's test database beside the one DATABASE_URL names
("test_h9bench" for the above), which is created, used and dropped. The named
database itself is never touched.

Each query is timed three times, after one warm-up pass: the search itself
(the count and the first page of ranked, highlighted hits, as the view asks for
them), the whole /search/ response through Django's test client, and the
admin's search (every article, drafts too: the count and the first page of 100
ranked rows, as the article change list asks for them).
"""

import itertools
import math
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ARTICLES = 20_000
QUERIES = 200
SEED = 9

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
work_dir = tempfile.TemporaryDirectory(prefix="search-bench-")
os.environ["NEWSROOM_VAR_DIR"] = work_dir.name
os.environ["DJANGO_SETTINGS_MODULE"] = "newsroom.test_settings"

import django  # noqa: E402

django.setup()

from django.core.paginator import Paginator  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from articles.models import Article  # noqa: E402
from articles.search import parse_query, ranked_matches, search_articles  # noqa: E402
from articles.views import PAGE_SIZE  # noqa: E402

_NEWS_WORDS = """
    government minister election parliament president economy inflation budget
    market shares bank interest rates energy climate flood storm drought wildfire
    police court trial judge verdict prison protest strike union workers hospital
    health vaccine doctors schools teachers students university research science
    football cricket tennis olympics champion league transfer coach stadium
    border migrants refugees army troops missile ceasefire talks treaty summit
    embassy sanctions trade exports tariffs factory jobs housing prices rent
    transport railway airport airline pilots ship harbour port bridge motorway
    technology software startup internet privacy data hackers satellite rocket
    campaign voters ballot poll candidate party leader opposition coalition
    festival film music concert museum gallery artist author novel theatre award
"""
NEWS_WORDS = sorted(set(_NEWS_WORDS.split()))
_SYLLABLES = "ka lo mer tin sa ven dor pel ri cas um bra ne fol gi tor ash quin"
SYLLABLES = _SYLLABLES.split()
FOREIGN = [
    "Москва",
    "Київ",
    "中国经济",
    "東京",
    "Ελλάδα",
    "القاهرة",
    "München",
    "Zürich",
]


def vocabulary(rng):
    """News words first, then invented ones: Zipf-ranked, so a few are common."""
    invented = set()
    while len(invented) < 6_000:
        word = "".join(rng.choices(SYLLABLES, k=rng.randint(2, 4)))
        invented.add(word)
    words = NEWS_WORDS + sorted(invented) + FOREIGN
    rng.shuffle(words)
    cumulative = list(
        itertools.accumulate(1 / (rank + 1) for rank in range(len(words)))
    )
    return words, cumulative


def sentence(rng, words, cumulative, length):
    return (
        " ".join(rng.choices(words, cum_weights=cumulative, k=length)).capitalize()
        + "."
    )


def fill(rng, words, cumulative):
    now = timezone.now()
    articles = []
    for number in range(ARTICLES):
        paragraphs = [
            " ".join(
                sentence(rng, words, cumulative, rng.randint(8, 20))
                for _ in range(rng.randint(3, 6))
            )
            for _ in range(rng.randint(3, 7))
        ]
        articles.append(
            Article(
                headline=sentence(rng, words, cumulative, rng.randint(5, 11))[:-1],
                slug=f"story-{number}",
                standfirst=sentence(rng, words, cumulative, rng.randint(15, 30)),
                body="\n\n".join(paragraphs),
                # One in ten is a draft or scheduled: search must skip them.
                status=Article.Status.DRAFT
                if number % 20 == 0
                else Article.Status.PUBLISHED,
                published_at=now + timedelta(hours=1 if number % 20 == 10 else -number),
            )
        )
    with transaction.atomic():
        Article.objects.bulk_create(articles, batch_size=500)


def queries(rng, words):
    common, middling, rare = words[:50], words[50:800], words[800:]
    hostile = [
        '"',
        '"unbalanced quote',
        "NEAR(",
        "AND (",
        "budget AND (",
        "*",
        "elect*",
        "'; DROP TABLE articles_article; --",
        "\x00",
        "x" * 10_240,
        "🔥🧊",
        "Москва",
        "中国经济",
    ]
    chosen = []
    for number in range(QUERIES):
        kind = number % 10
        if kind < 3:
            chosen.append(rng.choice(middling))
        elif kind == 3:
            chosen.append(rng.choice(common))
        elif kind == 4:
            chosen.append(rng.choice(rare))
        elif kind in (5, 6):
            chosen.append(f"{rng.choice(common)} {rng.choice(middling)}")
        elif kind == 7:
            chosen.append(" ".join(rng.choices(middling, k=3)))
        elif kind == 8:
            chosen.append(rng.choice(hostile))
        else:
            chosen.append(f"zq{number}xv")  # matches nothing
    return chosen


def search_first_page(text):
    results = search_articles(parse_query(text))
    page = Paginator(results, PAGE_SIZE).get_page(1)
    return list(page)


ADMIN_PAGE_SIZE = 100  # ModelAdmin.list_per_page


def admin_search_first_page(text):
    matches = ranked_matches(parse_query(text), Article.objects.all())
    page = Paginator(matches, ADMIN_PAGE_SIZE).get_page(1)
    return list(page)


def time_each(function, texts):
    """Wall-clock and CPU milliseconds of each call.

    On SQLite all the work happens in this process, so its CPU time is the
    query cost without the waits a busy machine adds to the wall clock.
    """
    wall, cpu = [], []
    for text in texts:
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        function(text)
        wall.append((time.perf_counter() - wall_start) * 1000)
        cpu.append((time.process_time() - cpu_start) * 1000)
    return wall, cpu


def report(label, timings):
    timings = sorted(timings)
    p95 = timings[math.ceil(len(timings) * 0.95) - 1]
    print(
        f"{label:<34} median {statistics.median(timings):6.1f} ms   "
        f"p95 {p95:6.1f} ms   max {timings[-1]:6.1f} ms"
    )


def main():
    rng = random.Random(SEED)
    if connection.vendor == "sqlite":
        connection.settings_dict["TEST"]["NAME"] = str(Path(work_dir.name) / "db")
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        words, cumulative = vocabulary(rng)
        started = time.perf_counter()
        fill(rng, words, cumulative)
        print(
            f"{connection.vendor}: {ARTICLES:,} articles written and indexed "
            f"in {time.perf_counter() - started:.1f} s"
        )
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE articles_article")
        texts = queries(rng, words)
        hits = [len(search_first_page(text)) for text in texts]  # warm-up
        print(f"{QUERIES} queries, {sum(1 for count in hits if count)} with results")
        client = Client(HTTP_HOST="localhost")

        def whole_response(text):
            assert client.get("/search/", {"q": text}).status_code == 200

        for label, function in [
            ("search (count + page 1)", search_first_page),
            ("whole /search/ response", whole_response),
            ("admin (count + page of 100)", admin_search_first_page),
        ]:
            wall, cpu = time_each(function, texts)
            report(f"{label}, wall", wall)
            if connection.vendor == "sqlite":
                report(f"{label}, CPU", cpu)
        load = " ".join(f"{figure:.1f}" for figure in os.getloadavg())
        print(f"machine load average (1, 5, 15 min): {load}")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        work_dir.cleanup()


if __name__ == "__main__":
    main()
