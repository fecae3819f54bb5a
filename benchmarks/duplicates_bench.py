"""Duplicate check benchmark: time per story to fingerprint a body and look it up.

Stores 20,000 stories (bodies of about 400 words, each with its own mix of
phrases from a shared vocabulary, as wire stories on the same subjects are) with
their band keys, then, for new bodies, times what the importer adds per file:
the fingerprint alone, the lookup among stored stories (articles/ingest/
duplicates.py), and writing the new story's keys. Half the new bodies are
near-duplicates of stored ones (one sentence changed), half are new stories.

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
LOOKUPS = 1000


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=20_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="duplicates-bench-") as temp:
        os.environ["NEWSROOM_VAR_DIR"] = temp
        os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-not-a-secret")
        os.environ["DJANGO_SETTINGS_MODULE"] = "newsroom.settings"
        sys.path.insert(0, str(ROOT))
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
        print(f"Storing {args.stories} stories with their band keys...")
        bodies = [body(rng) for _ in range(args.stories)]
        started = time.perf_counter()
        with transaction.atomic():
            stored = Article.objects.bulk_create(
                Article(headline=f"Story {n}", slug=f"story-{n}", body=text)
                for n, text in enumerate(bodies)
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

        copies = [
            one_sentence_changed(rng.choice(bodies), rng) for _ in range(LOOKUPS // 2)
        ]
        new = [body(rng) for _ in range(LOOKUPS // 2)]
        index = duplicates.DuplicateIndex.load()

        def per_story(texts, work):
            duplicates.fingerprint.cache_clear()
            started = time.perf_counter()
            results = [work(text) for text in texts]
            return (time.perf_counter() - started) / len(texts) * 1000, results

        queries = 0

        def count_query(execute, sql, params, many, context):
            nonlocal queries
            queries += 1
            return execute(sql, params, many, context)

        for label, texts in (("near-duplicates", copies), ("new stories", new)):
            fingerprint_ms, _ = per_story(texts, duplicates.fingerprint)
            queries = 0
            with connection.execute_wrapper(count_query):
                lookup_ms, found = per_story(texts, index.resembles)
            flagged = sum(result is not None for result in found)
            print(
                f"{label:16}: fingerprint {fingerprint_ms:.3f} ms, fingerprint + "
                f"lookup {lookup_ms:.3f} ms per story ({queries / len(texts):.1f} "
                f"queries), flagged {flagged} of {len(texts)}"
            )
        with transaction.atomic():
            made = Article.objects.bulk_create(
                Article(headline=f"New {n}", slug=f"new-{n}", body=text)
                for n, text in enumerate(new)
            )
            duplicates.fingerprint.cache_clear()
            started = time.perf_counter()
            for article in made:
                index.remember(article.pk, article.body, created=True)
            remember_ms = (time.perf_counter() - started) / len(made) * 1000
            transaction.set_rollback(True)
        print(f"remember (fingerprint + insert): {remember_ms:.3f} ms per story")
        print(f"database: {connection.vendor}, {args.stories} stories stored")
        if connection.vendor == "postgresql":
            connection.creation.destroy_test_db(
                connection.settings_dict["NAME"], verbosity=0
            )


if __name__ == "__main__":
    main()
