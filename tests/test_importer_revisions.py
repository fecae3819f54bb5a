"""Each imported file keeps one revision, which the importer writes itself.

It writes the Revision and Version rows directly (two INSERTs) instead of going
through django-reversion's capture, which cost most of an import's time. These
tests hold it to the rows reversion itself records, and show that the history,
compare and restore pages read them.
"""

import pytest
import reversion
from django.core.management import call_command
from reversion.models import Revision

from articles.history import article_history, revision_context
from articles.models import Article
from tests.test_importer import PEOPLE, SEED, TOPICS, run_import, story, write
from tests.test_revisions import restore_in_admin

pytestmark = pytest.mark.django_db


@pytest.fixture
def vocabulary(db):
    call_command("load_vocabulary", str(PEOPLE), str(TOPICS), verbosity=0)


def versions_of(revision):
    """Everything stored for each version of a revision, in a stable order."""
    return sorted(
        (
            version.content_type.model,
            version.object_id,
            version.db,
            version.format,
            version.serialized_data,
            version.object_repr,
        )
        for version in revision.version_set.select_related("content_type")
    )


def latest_revision():
    return Revision.objects.order_by("-pk").first()


def assert_same_rows_as_reversion_records():
    """The latest revision equals what reversion records for the article now."""
    ours = latest_revision()
    with revision_context(comment="recorded by reversion"):
        reversion.add_to_revision(Article.objects.get())
    theirs = latest_revision()
    assert theirs.pk != ours.pk
    assert versions_of(ours) == versions_of(theirs)


def edited_seed(tmp_path):
    """The seed with new words naming another person and topic, and a new
    summary for its last related story."""
    text = SEED.read_text().replace(
        "The document did not specify", "Xi Jinping and China did not specify"
    )
    text = text.replace(
        "for war crimes\nThe meeting comes", "for war crimes\nA new summary"
    )
    return write(tmp_path, SEED.name, text)


def test_each_imported_file_keeps_one_revision_credited_to_it(
    vocabulary, django_capture_on_commit_callbacks
):
    # Callbacks run as after a real commit: the import must not be recorded
    # a second time as a save "outside the admin and the importer".
    with django_capture_on_commit_callbacks(execute=True):
        run_import(SEED)

    article = Article.objects.get()
    [entry] = article_history(article)
    assert entry.revision.comment == f"import: {SEED.name}"
    assert entry.revision.user is None
    assert entry.snapshot["Headline"] == article.headline
    assert entry.snapshot["Body"] == article.body
    assert entry.snapshot["Topics"] == "Belarus, Russia, Ukraine"
    assert entry.snapshot["People"] == "Alexander Lukashenko, Vladimir Putin"
    assert len(entry.snapshot["Related links"].splitlines()) == 3


def test_import_revisions_hold_the_rows_reversion_itself_records(vocabulary, tmp_path):
    run_import(SEED)
    assert_same_rows_as_reversion_records()

    run = run_import(edited_seed(tmp_path))

    assert run.summary == "created 0, updated 1, unchanged 0, skipped 0, failed 0"
    assert latest_revision().comment == f"import: {SEED.name}"
    assert_same_rows_as_reversion_records()
    article = Article.objects.get()
    assert sorted(article.people.values_list("name", flat=True)) == [
        "Alexander Lukashenko",
        "Vladimir Putin",
        "Xi Jinping",
    ]
    assert "China" in article.tags.names()


def test_reimport_revision_shows_what_changed(vocabulary, tmp_path):
    run_import(SEED)
    run_import(edited_seed(tmp_path))

    first, second = article_history(Article.objects.get())

    assert second.revision.comment == f"import: {SEED.name}"
    assert set(second.changed) == {"Body", "Topics", "People", "Related links"}


def test_unchanged_reimport_keeps_no_revision(vocabulary):
    run_import(SEED)
    revisions = Revision.objects.count()

    run = run_import(SEED)

    assert run.summary == "created 0, updated 0, unchanged 1, skipped 0, failed 0"
    assert Revision.objects.count() == revisions


def test_editor_restores_the_first_import_after_an_edited_reimport(
    vocabulary, tmp_path, editor_client
):
    run_import(SEED)
    original = Article.objects.get()
    original_links = list(original.related_links.values_list("title", "summary"))
    run_import(edited_seed(tmp_path))
    first = article_history(original)[0]

    response = restore_in_admin(editor_client, original, first.version)

    assert response.status_code == 302
    restored = Article.objects.get()
    assert restored.body == original.body
    assert sorted(restored.tags.names()) == ["Belarus", "Russia", "Ukraine"]
    assert sorted(restored.people.values_list("name", flat=True)) == [
        "Alexander Lukashenko",
        "Vladimir Putin",
    ]
    assert (
        list(restored.related_links.values_list("title", "summary")) == original_links
    )


def test_a_story_without_people_topics_or_links_keeps_a_revision(tmp_path):
    path = write(tmp_path, "plain.txt", story(related=None))

    run_import(path)

    [entry] = article_history(Article.objects.get())
    assert entry.revision.comment == "import: plain.txt"
    assert (entry.snapshot["Topics"], entry.snapshot["People"]) == ("", "")
    assert entry.snapshot["Related links"] == ""
    assert_same_rows_as_reversion_records()


def test_a_dry_run_keeps_no_revision(vocabulary):
    run_import(SEED, dry_run=True)

    assert not Revision.objects.exists()
