"""Import benchmark: articles per second and SQL queries per article.

Generates article files in the scraped format (varied people and topics, related
titles that point at each other, forwards and backwards, with other letter case
and quotes), and imports them with the import_articles command into a fresh
SQLite database in a temporary folder: first into an empty database, then into
one already holding 10,000 articles, then the same files again (nothing changed).

    .venv/bin/python benchmarks/import_bench.py [--articles 5000]

Targets: at least 500 articles per second, and as many queries per article with
10,000 articles stored as with none. "per CPU second" counts the process's own
CPU time, which other work on a shared machine does not slow down; it includes
the thread that checkpoints SQLite's log during the import (newsroom/sqlite.py),
so it can sit a little under the wall-clock figure.
"""

import argparse
import os
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_PER_SECOND = 500
STORED_BEFORE_SECOND_BATCH = 10_000


def words(text, separator=None):
    return text.split(separator)


FIRST_NAMES = words("Anna Boris Clara Dmitri Elena Farid Greta Hugo Irina Jonas")
SURNAMES = words(
    "Abramov Bauer Costa Dvorak Eriksen Fischer Grigoriev Horvat Ivanova Jensen "
    "Kowalski Lindqvist Moreau Novak Okafor Petrov Quinn Rossi Schmidt Tanaka"
)
PLACES = words(
    "Riga Vilnius Tallinn Warsaw Prague Vienna Budapest Sofia Athens Lisbon "
    "Madrid Dublin Oslo Helsinki Bern Zagreb Skopje Tirana Chisinau Tbilisi"
)
SUBJECTS = words(
    "grain exports|energy prices|border talks|rail links|election reform|"
    "water rights|fishing quotas|steel tariffs|drone rules|port upgrades",
    "|",
)
SUPPORTING = words("Moscow|Minsk|Kyiv|Beijing|the ICC|experts|trade unions", "|")
VERBS = words("backs rejects questions welcomes delays signs debates revives")


def vocabulary():
    """Extra people and topics, beside the fixtures, so matching has work to do."""
    people = [
        (f"{first} {surname}", f"{first[0]}. {surname}")
        for first in FIRST_NAMES
        for surname in SURNAMES
    ]
    topics = [
        (f"{place} affairs", f"{place}, {place}er, {place} region") for place in PLACES
    ] + [(subject.title(), subject) for subject in SUBJECTS]
    return people, topics


def cast(batch, number, people):
    """Who and what one story is about: three people, two places, two subjects."""
    rng = random.Random(f"{batch}-{number}")
    return rng.sample(people, 3), rng.sample(PLACES, 2), rng.sample(SUBJECTS, 2)


def headline(batch, number, people):
    (person, *_), (place, _), (subject, _) = cast(batch, number, people)
    verb = VERBS[number % len(VERBS)]
    return (
        f"{person[0]}'s office {verb} plan on {subject} in {place} ({batch} {number})"
    )


def related_title(title, rng):
    """The same story as another site titles it: other case, curly quotes."""
    variant = rng.choice(["same", "upper", "curly", "spaced"])
    if variant == "upper":
        return title.upper()
    if variant == "curly":
        return title.replace("'", "’")
    if variant == "spaced":
        return f"  {title}  "
    return title


def article_file(batch, number, count, people):
    rng = random.Random(f"{batch}-{number}-body")
    (first, second, third), places, subjects = cast(batch, number, people)
    paragraphs = []
    for paragraph in range(8):
        place, subject = places[paragraph % 2], subjects[paragraph % 2]
        paragraphs.append(
            f"{first[1]} met {second[0]} in {place} on Tuesday to discuss {subject}, "
            f"a week after talks on the matter stalled for the third time this year. "
            f"Officials said {third[1]}'s team would report on the {subject} plan "
            f"before the summit, and that {rng.choice(SUPPORTING)} would be consulted."
        )
    # Backwards, forwards and anywhere in the batch: import order must not matter.
    targets = [number - 1, number + 1, rng.randrange(count)]
    related = []
    for target in targets:
        title = headline(batch, target % count, people)
        related += ["", related_title(title, rng), f"A summary of {title}."]
    lines = [
        headline(batch, number, people),
        f"A standfirst for story {number} of the {batch} batch.",
        "",
        f"Delegates gather in {places[0]}. Reuters",
        *paragraphs,
        "Read all the Latest News, Trending News, Cricket News, Bollywood News,",
        "India News and Entertainment News here. Follow us on Facebook, Twitter "
        "and Instagram.",
        "also read",
        *related,
    ]
    return "\n".join(lines) + "\n"


def write_batch(folder, batch, count, people):
    folder.mkdir()
    for number in range(count):
        text = article_file(batch, number, count, people)
        # A story is known by its file's name: each batch's names are its own.
        (folder / f"{batch}-{number:06}.txt").write_text(text, encoding="utf-8")
    return folder


def timed_import(folder, count):
    from django.core.management import call_command
    from django.db import connection

    queries = 0

    def count_query(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count_query):
        started, cpu_started = time.perf_counter(), time.process_time()
        call_command("import_articles", str(folder), verbosity=0)
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
    return seconds, count / seconds, count / cpu_seconds, queries / count


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=5000, help="per batch")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="import-bench-") as temp:
        temp = Path(temp)
        # A fresh SQLite database of its own, with the project's settings.
        os.environ.pop("DATABASE_URL", None)
        os.environ["NEWSROOM_VAR_DIR"] = str(temp)
        os.environ["DJANGO_SECRET_KEY"] = "benchmark-only-not-a-secret"
        os.environ["DJANGO_SETTINGS_MODULE"] = "newsroom.settings"
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.core.management import call_command

        from articles.models import Article, Person, Topic

        call_command("migrate", verbosity=0)
        fixtures = [
            ROOT / "fixtures" / "people.json",
            ROOT / "fixtures" / "topics.json",
        ]
        call_command("load_vocabulary", *map(str, fixtures), verbosity=0)
        people, topics = vocabulary()
        Person.objects.bulk_create(
            Person(name=name, slug=f"person-{n}", aliases=alias)
            for n, (name, alias) in enumerate(people)
        )
        Topic.objects.bulk_create(
            Topic(name=name, slug=f"topic-{n}", keywords=keywords)
            for n, (name, keywords) in enumerate(topics)
        )

        count = args.articles
        filler = max(0, STORED_BEFORE_SECOND_BATCH - count)
        print(
            f"Generating {2 * count + filler} article files "
            f"({Person.objects.count()} people, {Topic.objects.count()} topics)..."
        )
        first = write_batch(temp / "first", "first", count, people)
        fill = write_batch(temp / "filler", "filler", filler, people)
        second = write_batch(temp / "second", "second", count, people)

        results = [("empty database", *timed_import(first, count))]
        if filler:
            call_command("import_articles", str(fill), verbosity=0)
        stored = Article.objects.count()
        results.append((f"{stored:,} articles stored", *timed_import(second, count)))
        results.append(("same files again, unchanged", *timed_import(second, count)))

        load = ", ".join(f"{figure:.1f}" for figure in os.getloadavg())
        print(
            f"\nSQLite {sqlite3.sqlite_version} (WAL, synchronous=NORMAL), "
            f"{os.cpu_count()} cores (load average now {load}), {count} articles "
            f"per batch, 3 related links each\n"
        )
        print(
            f"{'import into':<30} {'seconds':>8} {'articles/s':>11} "
            f"{'per CPU second':>15} {'queries/article':>16}"
        )
        for label, seconds, per_second, per_cpu_second, queries in results:
            print(
                f"{label:<30} {seconds:>8.2f} {per_second:>11.0f} "
                f"{per_cpu_second:>15.0f} {queries:>16.2f}"
            )

        new_batches = results[:2]
        fast = all(result[2] >= TARGET_PER_SECOND for result in new_batches)
        flat = results[1][4] <= results[0][4]
        print(
            f"\nat least {TARGET_PER_SECOND} articles/s: {'yes' if fast else 'NO'}; "
            f"queries per article not growing with {stored:,} stored: "
            f"{'yes' if flat else 'NO'}"
        )
        return 0 if fast and flat else 1


if __name__ == "__main__":
    sys.exit(main())
