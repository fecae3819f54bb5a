"""Duplicate check benchmark: time per story to fingerprint a body and look it up.

Stores 20,000 stories with their band keys: half with varied bodies (about 400
words, each its own mix of a shared vocabulary and stock phrases, as wire
stories on one subject are), half from benchmarks/import_bench.py's template
(any two alike at 0.2 to 0.7, the hard case for the lookup). Then, for 500 new
bodies of each kind, times what the importer adds per file (articles/ingest/
duplicates.py): the fingerprint alone, the fingerprint and the lookup (one
query), and writing a new story's keys; and counts the candidates whose bodies
the lookup fetched. Near-duplicates are stored varied bodies with one sentence
changed: all those still at 0.9 or more must be flagged, and nothing else.

    .venv/bin/python benchmarks/duplicates_bench.py [--stories 20000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python ...

Without DATABASE_URL it uses a fresh SQLite database in a temporary folder.
Target: well under a millisecond per story, flat as the stored stories grow.
"""

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOOKUPS = 500  # per kind of new story


def words(text):
    return text.split()


VOCABULARY = words(
    "minister talks grain exports border officials said agreement week summit "
    "prices energy delegation parliament vote tariffs region government plan "
    "report rail port water fishing election reform drone steel union court "
    "ruling protest capital council budget deficit inflation bank rate market "
    "shares investors company workers strike hospital school police army"
)


# Stock phrases every story on these subjects uses, so stories share shingles.
PHRASES = [
    "officials said on Tuesday that the",
    "according to a statement from the",
    "the minister told reporters after the meeting",
    "talks are expected to resume next week",
]


def sentence(rng):
    words = [rng.choice(VOCABULARY) for _ in range(rng.randint(8, 18))]
    words.insert(rng.randrange(len(words)), rng.choice(PHRASES))
    return " ".join(words) + "."


def body(rng):
    paragraphs = [" ".join(sentence(rng) for _ in range(4)) for _ in range(6)]
    return "".join(f"<p>{paragraph}</p>" for paragraph in paragraphs)


def one_sentence_changed(text, rng):
    first_end = text.index(".") + 1
    return f"<p>{sentence(rng)}{text[first_end:]}"


def templated(batch, count):
    """Bodies as benchmarks/import_bench.py writes them: one template, so
    any two share many shingles (similarity 0.2 to 0.7)."""
    import import_bench

    from articles.ingest.formats import parse_article

    people, _ = import_bench.vocabulary()
    return [
        parse_article(import_bench.article_file(batch, n, count, people)).body
        for n in range(count)
    ]


def timed(texts, work):
    """(wall-clock, CPU) milliseconds per text. The CPU time is the process's
    own, which other work on a shared machine does not slow down (for
    PostgreSQL it leaves out the server's)."""
    started, cpu_started = time.perf_counter(), time.process_time()
    for text in texts:
        work(text)
    return (
        (time.perf_counter() - started) / len(texts) * 1000,
        (time.process_time() - cpu_started) / len(texts) * 1000,
    )


def figures(milliseconds):
    wall, cpu = milliseconds
    return f"{wall:.3f} ms ({cpu:.3f} CPU)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=20_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="duplicates-bench-") as temp:
        os.environ["NEWSROOM_VAR_DIR"] = temp
        os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-not-a-secret")
        os.environ["DJANGO_SETTINGS_MODULE"] = "newsroom.settings"
        sys.path.insert(0, str(ROOT))
        sys.path.insert(0, str(ROOT / "benchmarks"))
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection, transaction

        from articles.ingest import duplicates
        from articles.models import Article

        if connection.vendor == "postgresql":
            # A database of the benchmark's own (test_<name>), made afresh.
            connection.creation.create_test_db(verbosity=0, autoclobber=True)
        call_command("migrate", verbosity=0)

        rng = random.Random(21)
        half = args.stories // 2
        print(
            f"Storing {args.stories} stories with their band keys ({half} varied, "
            f"{args.stories - half} from import_bench.py's template)..."
        )
        varied = [body(rng) for _ in range(half)]
        bodies = varied + templated("stored", args.stories - half)
        started = time.perf_counter()
        with transaction.atomic():
            stored = Article.objects.bulk_create(
                (
                    Article(headline=f"Story {n}", slug=f"story-{n}", body=text)
                    for n, text in enumerate(bodies)
                ),
                batch_size=1000,
            )
            duplicates.BodyBand.objects.bulk_create(
                (
                    row
                    for article in stored
                    for row in duplicates.band_rows(
                        duplicates.BodyBand, article.pk, article.body
                    )
                ),
                batch_size=2000,
            )
        print(f"  band keys written in {time.perf_counter() - started:.1f} s")

        originals = rng.sample(varied, LOOKUPS)
        copies = [one_sentence_changed(text, rng) for text in originals]
        really = sum(
            duplicates.jaccard(
                duplicates.fingerprint(copy).shingles,
                duplicates.fingerprint(original).shingles,
            )
            >= duplicates.THRESHOLD
            for copy, original in zip(copies, originals, strict=True)
        )
        groups = [
            (f"near-duplicates ({really} at >= 0.9)", copies),
            ("new varied", [body(rng) for _ in range(LOOKUPS)]),
            ("new templated", templated("new", LOOKUPS)),
        ]
        index = duplicates.DuplicateIndex.load()
        candidates_sql = duplicates._candidates_sql(connection.alias)
        for label, texts in groups:
            duplicates.fingerprint.cache_clear()
            fingerprint_ms = timed(texts, duplicates.fingerprint)
            duplicates.fingerprint.cache_clear()
            lookup_ms = timed(texts, index.resembles)
            flagged = sum(index.resembles(text) is not None for text in texts)
            with connection.cursor() as cursor:
                candidates = 0
                for text in texts:
                    cursor.execute(
                        candidates_sql, duplicates.fingerprint(text).band_keys
                    )
                    candidates += len(cursor.fetchall())
            print(
                f"{label:30}: fingerprint {figures(fingerprint_ms)}, fingerprint "
                f"+ lookup {figures(lookup_ms)} per story, "
                f"{candidates / len(texts):.3f} candidates per story, "
                f"flagged {flagged} of {len(texts)}"
            )
        with transaction.atomic():
            made = Article.objects.bulk_create(
                Article(headline=f"New {n}", slug=f"new-{n}", body=text)
                for n, text in enumerate(groups[1][1])
            )
            wall = cpu = 0.0
            for article in made:
                # As in an import: the lookup fingerprinted the body just before.
                duplicates.fingerprint(article.body)
                started, cpu_started = time.perf_counter(), time.process_time()
                index.remember(article.pk, article.body, created=True)
                wall += time.perf_counter() - started
                cpu += time.process_time() - cpu_started
            remember_ms = (wall / len(made) * 1000, cpu / len(made) * 1000)
            transaction.set_rollback(True)
        print(f"remember (write the keys): {figures(remember_ms)} per story")
        print(f"database: {connection.vendor}, {args.stories} stories stored")
        if connection.vendor == "postgresql":
            connection.creation.destroy_test_db(
                connection.settings_dict["NAME"], verbosity=0
            )


if __name__ == "__main__":
    main()
