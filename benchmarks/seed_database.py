"""Fill the configured database for the HTTP benchmark.

The seed story from fixtures/articles/ plus a few hundred generated ones, with
topics, people and related links, created through the ORM (so the page cache
is invalidated as it would be by an import). Prints the paths to measure.

    DJANGO_SETTINGS_MODULE=newsroom.settings python benchmarks/seed_database.py 300
"""

import os
import random
import sys
from datetime import timedelta
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsroom.settings")
django.setup()

from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from django.utils.text import slugify  # noqa: E402

from articles.models import Article, Person, RelatedLink, Topic  # noqa: E402

SEED_FILE = ROOT / "fixtures" / "articles" / "000_0f23217bc585dcd4.txt"
TOPICS = ["Russia", "Belarus", "Ukraine", "Defence", "Diplomacy", "Europe"]
PEOPLE = ["Vladimir Putin", "Alexander Lukashenko", "Xi Jinping", "Maria Lvova-Belova"]


def seed_story():
    """Headline, standfirst and body paragraphs of the seed file (a plain
    reading of the top of the story: the importer owns the full format)."""
    lines = [line.strip() for line in SEED_FILE.read_text().splitlines()]
    headline, standfirst = lines[0], lines[1]
    body = []
    for line in lines[3:]:
        if line.startswith("Read all the Latest News"):
            break
        if line:
            body.append(line)
    return headline, standfirst, body[1:]  # the first line is the photo caption


def sentence(rng, vocabulary, words=14):
    text = " ".join(rng.choice(vocabulary) for _ in range(words))
    return text[0].upper() + text[1:] + "."


@transaction.atomic
def seed(count):
    rng = random.Random(7)
    now = timezone.now()
    topics = [
        Topic.objects.get_or_create(name=name, defaults={"slug": slugify(name)})[0]
        for name in TOPICS
    ]
    people = [
        Person.objects.get_or_create(name=name, defaults={"slug": slugify(name)})[0]
        for name in PEOPLE
    ]
    headline, standfirst, body = seed_story()
    vocabulary = " ".join(body).replace(".", "").split()
    seed_article = Article.objects.create(
        headline=headline,
        slug=slugify(headline),
        standfirst=standfirst,
        body="\n\n".join(body),
        image_caption="Russian president Vladimir Putin",
        image_credit="AP",
        status=Article.Status.PUBLISHED,
        published_at=now - timedelta(minutes=1),
    )
    seed_article.tags.add(*topics[:4])
    seed_article.people.add(*people[:2])
    for number in range(count):
        article = Article.objects.create(
            headline=f"Story {number}: {sentence(rng, vocabulary, 8)}",
            slug=f"story-{number}",
            standfirst=sentence(rng, vocabulary, 20),
            body="\n\n".join(sentence(rng, vocabulary, 40) for _ in range(6)),
            status=Article.Status.PUBLISHED,
            published_at=now - timedelta(hours=number + 1),
        )
        article.tags.add(*rng.sample(topics, 2))
        article.people.add(*rng.sample(people, 2))
    others = list(Article.objects.exclude(pk=seed_article.pk)[:3])
    for position, target in enumerate(others):
        RelatedLink.objects.create(
            article=seed_article,
            position=position,
            title=target.headline,
            summary=target.standfirst,
            target=target,
        )
    return seed_article, topics[0], people[0]


if __name__ == "__main__":
    article, topic, person = seed(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
    print(article.get_absolute_url())
    print(topic.get_absolute_url())
    print(person.get_absolute_url())
