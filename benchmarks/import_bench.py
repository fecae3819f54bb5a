"""Import benchmark: articles per second and SQL queries per article.

Generates article files in the scraped format (varied people and topics, related
titles that point at each other, forwards and backwards, with other letter case
and quotes), and imports them with the import_articles command into a fresh
database: first into an empty database, then into one already holding 10,000
articles, then the same files again (nothing changed).

    .venv/bin/python benchmarks/import_bench.py [--articles 5000] [--repeat 3]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mine .venv/bin/python \
        benchmarks/import_bench.py

By default a fresh SQLite database in a temporary folder. With DATABASE_URL
(PostgreSQL), a fresh database named after the URL's with "_import_bench"
appended is created on that server, and dropped at the end. `--repeat` runs the
whole benchmark that many times, each into a fresh database, and prints the
best figure of each row and the spread.

Targets: at least 1,500 articles per second on SQLite and 800 on PostgreSQL,
and as many queries per article with 10,000 articles stored as with none. The
importer writes a batch's new stories with a few statements per table, so its
count depends a little on the data (how many rows fit one statement, whether a
group has near-copies to fetch): "as many" allows FLAT_MARGIN, two statements
per batch of 200, where one query per stored story or per file would show as
thousands or as 1.0. On PostgreSQL new rows are loaded with COPY, which
Django's execute wrappers do not see: the count leaves out one COPY per table
per group of new stories. "per CPU second" counts the CPU time of the import's
own processes (the one storing, with its threads, and the one reading files
ahead), which other work on a shared machine slows down less than the clock;
not the database server's. With two processes at work it can sit under the
wall-clock figure.
"""

import argparse
import os
import random
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS_PER_SECOND = {"sqlite": 1500, "postgresql": 800}
STORED_BEFORE_SECOND_BATCH = 10_000
FLAT_MARGIN = 0.01  # queries per article


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
        started, cpu_started = time.perf_counter(), cpu_time()
        call_command("import_articles", str(folder), verbosity=0)
        seconds = time.perf_counter() - started
        cpu_seconds = cpu_time() - cpu_started
    return seconds, count / seconds, count / cpu_seconds, queries / count


def cpu_time():
    """CPU seconds of this process and of those it has waited for (the one
    that reads files ahead ends with the import)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def fresh_postgresql(url):
    """A new empty database beside the one `url` names; (its URL, drop it)."""
    import psycopg
    from dj_database_url import parse

    settings = parse(url)
    name = f"{settings['NAME']}_import_bench"
    server = {
        "host": settings["HOST"] or None,
        "port": settings["PORT"] or None,
        "user": settings["USER"] or None,
        "password": settings["PASSWORD"] or None,
        "dbname": "postgres",
        "autocommit": True,
    }

    def run(sql):
        with psycopg.connect(**server) as connection:
            connection.execute(sql)

    run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    run(f'CREATE DATABASE "{name}"')
    base = url.rsplit("/", 1)[0]
    return f"{base}/{name}", lambda: run(
        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    )


def run_once(temp, count, stored_before, url):
    """One benchmark into a fresh database: [(label, seconds, per second, per
    CPU second, queries per article)], and the number stored before the second."""
    from django.core.management import call_command
    from django.db import connections

    from articles.models import Article, Person, Topic

    call_command("migrate", verbosity=0)
    fixtures = [ROOT / "fixtures" / "people.json", ROOT / "fixtures" / "topics.json"]
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

    filler = max(0, stored_before - count)
    folders = temp / "files"
    if not folders.exists():
        print(
            f"Generating {2 * count + filler} article files "
            f"({Person.objects.count()} people, {Topic.objects.count()} topics)..."
        )
        folders.mkdir()
        write_batch(folders / "first", "first", count, people)
        write_batch(folders / "filler", "filler", filler, people)
        write_batch(folders / "second", "second", count, people)

    results = [("empty database", *timed_import(folders / "first", count))]
    if filler:
        call_command("import_articles", str(folders / "filler"), verbosity=0)
    stored = Article.objects.count()
    second = folders / "second"
    results.append((f"{stored:,} articles stored", *timed_import(second, count)))
    results.append(("same files again, unchanged", *timed_import(second, count)))
    connections.close_all()
    return results, stored


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=5000, help="per batch")
    parser.add_argument("--repeat", type=int, default=1, help="runs, best kept")
    parser.add_argument(
        "--stored",
        type=int,
        default=STORED_BEFORE_SECOND_BATCH,
        help="articles stored before the second batch (a quick look: fewer)",
    )
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL")

    with tempfile.TemporaryDirectory(prefix="import-bench-") as temp:
        temp = Path(temp)
        os.environ["DJANGO_SECRET_KEY"] = "benchmark-only-not-a-secret"
        os.environ["DJANGO_SETTINGS_MODULE"] = "newsroom.settings"
        sys.path.insert(0, str(ROOT))
        drop = None
        if url:
            os.environ["DATABASE_URL"], drop = fresh_postgresql(url)
        else:
            # A fresh SQLite database of its own, with the project's settings.
            (temp / "var").mkdir()
            os.environ["NEWSROOM_VAR_DIR"] = str(temp / "var")
        import django

        django.setup()
        from django.db import connection

        runs = []
        try:
            for number in range(args.repeat):
                if number:
                    connection.close()
                    if url:
                        drop()
                        os.environ["DATABASE_URL"], drop = fresh_postgresql(url)
                    else:
                        for suffix in ("", "-wal", "-shm"):
                            Path(connection.settings_dict["NAME"] + suffix).unlink(
                                missing_ok=True
                            )
                results, stored = run_once(temp, args.articles, args.stored, url)
                runs.append(results)
            vendor = connection.vendor
            if vendor == "sqlite":
                database = f"SQLite {sqlite3.sqlite_version} (WAL, synchronous=NORMAL)"
            else:
                with connection.cursor() as cursor:
                    cursor.execute("SHOW server_version")
                    database = f"PostgreSQL {cursor.fetchone()[0]}"
        finally:
            connection.close()
            if drop is not None:
                drop()
        load = ", ".join(f"{figure:.1f}" for figure in os.getloadavg())
        print(
            f"\n{database}, {os.cpu_count()} cores (load average now {load}), "
            f"{args.articles} articles per batch, 3 related links each, "
            f"{len(runs)} run(s): best (spread of articles/s)\n"
        )
        print(
            f"{'import into':<30} {'seconds':>8} {'articles/s':>11} {'spread':>11} "
            f"{'per CPU second':>15} {'queries/article':>16}"
        )
        best = []
        for row in range(len(runs[0])):
            figures = [results[row] for results in runs]
            label = figures[0][0]
            rates = [figure[2] for figure in figures]
            top = max(figures, key=lambda figure: figure[2])
            best.append(top)
            _, seconds, per_second, per_cpu_second, queries = top
            spread = f"{min(rates):.0f}-{max(rates):.0f}"
            print(
                f"{label:<30} {seconds:>8.2f} {per_second:>11.0f} {spread:>11} "
                f"{per_cpu_second:>15.0f} {queries:>16.3f}"
            )

        target = TARGETS_PER_SECOND[vendor]
        fast = all(result[2] >= target for result in best[:2])
        flat = best[1][4] <= best[0][4] + FLAT_MARGIN
        print(
            f"\nat least {target} articles/s: {'yes' if fast else 'NO'}; "
            f"queries per article not growing with {stored:,} stored: "
            f"{'yes' if flat else 'NO'}"
        )
        return 0 if fast and flat else 1


if __name__ == "__main__":
    sys.exit(main())
