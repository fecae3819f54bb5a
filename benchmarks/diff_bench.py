"""Diff benchmark: the revision "Changes" page's marked_difference on long bodies.

    .venv/bin/python benchmarks/diff_bench.py

Prints, for each shape of change between two bodies of about 1 MB, the best of
three timings of `articles.history.marked_difference` (wall clock, and the CPU
time of this process, steadier on a busy machine) and the size of the HTML it
returns. Target: well under a second for every shape (the page must not pin a
worker thread, however long the story).
"""

import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsroom.test_settings")

import django  # noqa: E402

django.setup()

from articles.history import marked_difference  # noqa: E402

TARGET_BYTES = 1_000_000
WORDS_PER_PARAGRAPH = 80
REPEATS = 3
VOCABULARY = [
    "the",
    "minister",
    "said",
    "on",
    "tuesday",
    "that",
    "talks",
    "with",
    "the",
    "union",
    "would",
    "resume",
    "after",
    "a",
    "week",
    "of",
    "strikes",
    "across",
    "ports",
    "railways",
    "and",
    "schools",
    "while",
    "the",
    "opposition",
    "called",
    "for",
    "an",
    "inquiry",
    "into",
    "spending",
    "on",
    "the",
    "new",
    "border",
    "checks",
    "and",
    "farmers",
    "protested",
    "outside",
    "parliament",
    "against",
    "lower",
    "prices",
    "for",
    "grain",
    "and",
    "milk",
]


def paragraph(rng):
    words = rng.choices(VOCABULARY, k=WORDS_PER_PARAGRAPH)
    return " ".join(words).capitalize() + "."


def body(rng):
    paragraphs, size = [], 0
    while size < TARGET_BYTES:
        paragraphs.append(paragraph(rng))
        size += len(paragraphs[-1]) + 2
    return paragraphs


def few_words(rng):
    return " ".join(rng.choices(["a", "b", "c"], k=WORDS_PER_PARAGRAPH * 4))


def one_word_changed(paragraphs):
    changed = list(paragraphs)
    middle = len(changed) // 2
    changed[middle] = changed[middle].replace(" the ", " a ", 1)
    return changed


def every_tenth_paragraph_changed(paragraphs):
    return [
        text.replace(" said ", " told ", 1) + " Added." if number % 10 == 0 else text
        for number, text in enumerate(paragraphs)
    ]


def every_paragraph_changed(paragraphs):
    return [text.replace(" the ", " a ", 1) for text in paragraphs]


def paragraphs_moved(paragraphs):
    """The second half first: a large deletion and a large insertion."""
    half = len(paragraphs) // 2
    return paragraphs[half:] + paragraphs[:half]


def shapes():
    rng = random.Random(17)
    original = body(rng)
    text = "\n\n".join(original)
    yield "one word changed", text, "\n\n".join(one_word_changed(original))
    yield (
        "every 10th paragraph changed",
        text,
        "\n\n".join(every_tenth_paragraph_changed(original)),
    )
    yield (
        "every paragraph changed",
        text,
        "\n\n".join(every_paragraph_changed(original)),
    )
    yield "halves swapped", text, "\n\n".join(paragraphs_moved(original))
    yield "completely different", text, "\n\n".join(body(rng))
    yield (
        "one paragraph, one word changed",
        " ".join(original),
        " ".join(one_word_changed(original)),
    )
    # Few distinct words make SequenceMatcher slow: the budget has to hold.
    yield (
        "all changed, 3-word vocabulary",
        "\n\n".join(few_words(rng) for _ in range(len(original))),
        "\n\n".join(few_words(rng) for _ in range(len(original))),
    )
    yield (
        "the same paragraph repeated",
        "\n\n".join([original[0]] * len(original)),
        ("\n\n".join([original[0]] * (len(original) - 1) + [original[1]])),
    )


def main():
    print(
        f"{'shape':<34} {'before':>9} {'after':>9} {'seconds':>8} {'cpu':>6} "
        f"{'html':>10}"
    )
    for name, before, after in shapes():
        timings, cpu_timings = [], []
        for _ in range(REPEATS):
            started, cpu_started = time.perf_counter(), time.process_time()
            old_html, new_html = marked_difference(before, after)
            timings.append(time.perf_counter() - started)
            cpu_timings.append(time.process_time() - cpu_started)
        print(
            f"{name:<34} {len(before):>9,} {len(after):>9,} "
            f"{min(timings):>8.3f} {min(cpu_timings):>6.3f} "
            f"{len(old_html) + len(new_html):>10,}"
        )


if __name__ == "__main__":
    main()
