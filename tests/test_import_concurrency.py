"""An import and an editor's save of the same story, at the same time.

Two connections: the import runs in the test's thread, the editor saves through
the admin from a thread of their own (each thread has its own connection). The
importer makes a photo's renditions (seconds) before it locks the story's row,
and compares with the story as it is once locked: an editor's save meanwhile
neither waits for the renditions nor gets overwritten.
"""

import threading

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models.signals import post_save, pre_save
from django.test import Client

from articles.models import Article, Image
from tests.test_importer import run_import, story, write
from tests.test_importer_images import photo_bytes
from tests.test_revisions import edit_in_admin

# serialized_rollback: the next tests get the rows migrations made back.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

WAIT_SECONDS = 20


def in_own_connection(work, errors):
    """Run `work` in a thread with a connection of its own, and wait for it."""

    def run():
        try:
            work()
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(WAIT_SECONDS)
    if thread.is_alive():
        errors.append(TimeoutError("the other connection waited too long"))


@pytest.fixture
def during_first_save_of(request):
    """Run work in another connection the first time a model's signal is sent."""

    def connect(signal, model, work, errors):
        done = []

        def receiver(sender, instance, **kwargs):
            if not done:
                done.append(instance)
                in_own_connection(work, errors)

        signal.connect(receiver, sender=model, weak=False)
        request.addfinalizer(lambda: signal.disconnect(receiver, sender=model))
        return done

    return connect


def test_editors_save_while_the_importer_makes_renditions_is_kept(
    tmp_path, editor, during_first_save_of
):
    path = write(tmp_path, "story.txt", story())
    run_import(path)
    article = Article.objects.get()
    # The file now brings a photo (renditions to make) and a new body.
    path.write_text(story(body=("The wire's new body.",)))
    write(tmp_path, "story.jpg", photo_bytes())

    def editor_saves():
        client = Client()
        client.force_login(editor)
        edit_in_admin(client, article, standfirst="The editor's standfirst.")

    errors = []
    saved_during = during_first_save_of(post_save, Image, editor_saves, errors)

    run = run_import(path)

    assert saved_during, "the import made no photo"
    assert errors == []
    assert run.exit_code == 0, run.stderr
    assert run.summary.startswith("created 0, updated 1")
    article = Article.objects.get()
    assert article.standfirst == "The editor's standfirst."  # not overwritten
    assert article.body == "<p>The wire's new body.</p>"
    assert article.lead_image is not None


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite locks the whole database"
)
def test_importer_holds_the_stories_row_until_its_file_commits(
    tmp_path, during_first_save_of
):
    path = write(tmp_path, "story.txt", story())
    run_import(path)
    path.write_text(story(body=("The wire's new body.",)))
    article_id = Article.objects.get().pk

    def try_to_lock_the_row():
        with transaction.atomic():
            Article.objects.select_for_update(nowait=True).get(pk=article_id)

    errors = []
    # Sent when the importer saves the story, inside the file's transaction.
    during_first_save_of(pre_save, Article, try_to_lock_the_row, errors)

    run = run_import(path)

    assert run.exit_code == 0, run.stderr
    [error] = errors
    assert isinstance(error, DatabaseError)
    assert "could not obtain lock" in str(error)
    assert Article.objects.get().body == "<p>The wire's new body.</p>"
