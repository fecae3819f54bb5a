"""A new file that nearly copies a stored story's body, under another source,
is imported as a draft and listed for editors beside the story it resembles
(articles/ingest/duplicates.py), instead of being published twice.

Operators run the import_articles command; editors work through the admin as
members of the Editors group.
"""

import importlib
import random
import re
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection
from django.urls import reverse
from django.utils.html import escape

from articles import richtext
from articles.ingest.duplicates import BodyBand, fingerprint
from articles.models import Article
from articles.wire import ImportedSource
from tests.html_forms import form_data
from tests.test_admin import article_form_data
from tests.test_import_identity import start_page, summary
from tests.test_importer import SEED, run_import, story, write
from tests.test_revisions import change_url

pytestmark = pytest.mark.django_db

# The words of every story about the grain talks: stories on the same subject
# share them, in other orders.
TOPIC_WORDS = str.split("""
    grain exports talks Minsk delegation ministers wheat harvest ports Black Sea
    corridor prices farmers tonnes shipments agreement officials said Monday
    week summit sanctions insurers vessels inspections Turkey Ukraine Russia
    the a of and to in on for with by that after before from their was were
""")


def sentences(seed, count=40):
    """`count` sentences of 12 to 20 topic words each, the same for a seed."""
    rng = random.Random(seed)
    return [
        " ".join(rng.choice(TOPIC_WORDS) for _ in range(rng.randint(12, 20))) + "."
        for _ in range(count)
    ]


def paragraphs(lines):
    """Four sentences a paragraph."""
    return tuple(
        " ".join(lines[start : start + 4]) for start in range(0, len(lines), 4)
    )


LONG = sentences("the story")  # About 640 words.


def one_sentence_changed(lines):
    return [
        *lines[:17],
        "Talks are expected to resume in Istanbul next week.",
        *lines[18:],
    ]


def import_file(tmp_path, name, lines, headline=None):
    """Each file under its own headline unless given: only bodies compare."""
    headline = headline or f"Grain talks, as {name} saw them"
    run = run_import(
        write(tmp_path, name, story(headline=headline, body=paragraphs(lines)))
    )
    assert run.exit_code == 0, run.stderr
    return run


def stored(name):
    return Article.objects.get(source=name)


def duplicates_section(page):
    """The start page's "Possible duplicates" table, or "" when not shown."""
    match = re.search(r"Possible duplicates \(\d+\).*?</table>", page, re.S)
    return match.group(0) if match else ""


def row_of(section, article):
    """The section's row for the article: from its link to the end of the row."""
    match = re.search(rf'{re.escape(change_url(article))}".*?</tr>', section, re.S)
    assert match, f"{article} is not listed"
    return match.group(0)


def test_near_duplicate_under_another_name_is_a_draft_listed_beside_its_original(
    tmp_path, editor_client
):
    import_file(tmp_path, "other.txt", sentences("another story"), "Ports reopen")
    original = stored("other.txt")
    import_file(tmp_path, "agency-a.txt", LONG)
    first = stored("agency-a.txt")

    run = import_file(
        tmp_path, "agency-b.txt", one_sentence_changed(LONG), "Grain talks in Minsk"
    )

    assert run.summary == summary(created=1)
    copy = stored("agency-b.txt")
    assert copy.status == Article.Status.DRAFT
    assert first.status == original.status == Article.Status.PUBLISHED
    source = ImportedSource.objects.get(name="agency-b.txt")
    assert source.duplicate_of == first
    assert 90 <= source.duplicate_similarity < 100
    assert (
        f"agency-b.txt: kept as a draft: body {source.duplicate_similarity}% "
        f"similar to story {first.pk}"
    ) in run.stdout

    section = duplicates_section(start_page(editor_client))
    assert "Possible duplicates (1)" in section
    row = row_of(section, copy)
    assert f"body {source.duplicate_similarity}% similar to" in row
    # Beside the story it resembles, by headline.
    assert f'<a href="{change_url(first)}">{escape(first.headline)}</a>' in row
    assert change_url(original) not in section
    response = editor_client.get(
        reverse("admin:articles_article_changelist") + "?wire=duplicate"
    )
    assert list(response.context["cl"].result_list) == [copy]


def test_editor_dismisses_the_flag_and_the_draft_stays_a_draft(tmp_path, editor_client):
    import_file(tmp_path, "agency-a.txt", LONG)
    import_file(tmp_path, "agency-b.txt", one_sentence_changed(LONG))
    copy = stored("agency-b.txt")
    page = start_page(editor_client)
    form_id = f"dismiss-duplicate-{copy.pk}"
    action = re.search(
        rf'<form method="post" action="([^"]+)"[^>]*id="{form_id}"', page
    )

    response = editor_client.post(
        action.group(1).replace("&amp;", "&"), form_data(page, form_id)
    )

    assert response.status_code == 302
    assert duplicates_section(start_page(editor_client)) == ""
    copy.refresh_from_db()
    assert copy.status == Article.Status.DRAFT
    assert ImportedSource.objects.get(name="agency-b.txt").duplicate_of is None
    # Importing the file again does not flag it again.
    run = import_file(tmp_path, "agency-b.txt", one_sentence_changed(LONG))
    assert run.summary == summary(unchanged=1)
    assert duplicates_section(start_page(editor_client)) == ""


@pytest.mark.parametrize(
    "other_lines",
    [
        pytest.param(sentences("a different story"), id="same topic words"),
        pytest.param(LONG[:20] + sentences("a follow-up", 20), id="half quoted"),
    ],
)
def test_a_different_story_on_the_same_subject_is_not_flagged(
    tmp_path, editor_client, other_lines
):
    import_file(tmp_path, "agency-a.txt", LONG)

    import_file(tmp_path, "agency-b.txt", other_lines)

    assert stored("agency-b.txt").status == Article.Status.PUBLISHED
    assert ImportedSource.objects.get(name="agency-b.txt").duplicate_of is None
    assert duplicates_section(start_page(editor_client)) == ""


def test_the_same_file_imported_again_or_changed_is_never_its_own_duplicate(
    tmp_path, editor_client
):
    import_file(tmp_path, "agency-a.txt", LONG)

    assert import_file(tmp_path, "agency-a.txt", LONG).summary == summary(unchanged=1)
    run = import_file(tmp_path, "agency-a.txt", one_sentence_changed(LONG))

    assert run.summary == summary(updated=1)
    article = stored("agency-a.txt")
    assert article.status == Article.Status.PUBLISHED
    assert "Talks are expected to resume in Istanbul" in article.body
    assert ImportedSource.objects.get().duplicate_of is None
    assert duplicates_section(start_page(editor_client)) == ""
    # Its keys are those of its new body: a copy of that is caught.
    import_file(tmp_path, "agency-b.txt", one_sentence_changed(LONG))
    assert ImportedSource.objects.get(name="agency-b.txt").duplicate_of == article


def test_copy_of_a_story_written_in_the_admin_is_flagged(tmp_path, editor_client):
    response = editor_client.post(
        reverse("admin:articles_article_add"),
        article_form_data(
            headline="Our own report from Minsk",
            slug="our-own-report",
            body=richtext.from_paragraphs(paragraphs(LONG)),
            status="published",
        ),
    )
    assert response.status_code == 302, response.context["errors"]
    written = Article.objects.get(slug="our-own-report")

    import_file(tmp_path, "scraped.txt", one_sentence_changed(LONG))

    assert stored("scraped.txt").status == Article.Status.DRAFT
    assert ImportedSource.objects.get(name="scraped.txt").duplicate_of == written
    row = row_of(duplicates_section(start_page(editor_client)), stored("scraped.txt"))
    assert f'href="{change_url(written)}"' in row


def test_a_deleted_story_drops_its_keys_and_no_longer_counts(tmp_path):
    import_file(tmp_path, "agency-a.txt", LONG)
    first = stored("agency-a.txt")
    assert BodyBand.objects.filter(article=first).exists()

    first.delete()
    import_file(tmp_path, "agency-b.txt", LONG)

    assert not BodyBand.objects.filter(article_id=first.pk).exists()
    assert stored("agency-b.txt").status == Article.Status.PUBLISHED


def test_the_seed_imports_published_and_unflagged_beside_other_stories(tmp_path):
    import_file(tmp_path, "agency-a.txt", LONG)

    run = run_import(SEED)

    assert run.summary == summary(created=1)
    seed = stored(SEED.name)
    assert seed.status == Article.Status.PUBLISHED
    assert ImportedSource.objects.get(name=SEED.name).duplicate_of is None


def test_migration_gives_stories_stored_before_it_their_keys(tmp_path):
    import_file(tmp_path, "agency-a.txt", LONG)
    BodyBand.objects.all().delete()  # As before the migration.
    backfill = importlib.import_module(
        "articles.migrations.0016_body_bands"
    ).store_body_bands

    backfill(apps, SimpleNamespace(connection=connection))
    import_file(tmp_path, "agency-b.txt", one_sentence_changed(LONG))

    assert ImportedSource.objects.get(name="agency-b.txt").duplicate_of == stored(
        "agency-a.txt"
    )


def test_band_keys_stay_those_stored_stories_have():
    """Stored stories keep the keys their bodies had when saved: a change to
    how keys are computed (a faster loop, another library) must give the same
    ones, or stored stories stop being found. Pinned for a long body and for
    a short one, whose empty bins borrow from others."""
    long_body = " ".join(f"word{n % 97} item{n % 13}" for n in range(150))
    short_body = " ".join(f"w{n}" for n in range(45))
    assert fingerprint(long_body).band_keys[:6] == (
        -126380360,
        1723452624,
        633933410,
        2030177772,
        71142286,
        -1471699786,
    )
    assert fingerprint(short_body).band_keys[:6] == (
        -2067933750,
        -368834304,
        2142128284,
        -166449268,
        -1444140613,
        -45584906,
    )
