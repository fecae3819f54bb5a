"""Batched imports: many files per transaction, each file in a savepoint.

A bad file fails alone and leaves nothing behind; an interrupted import loses
at most its open batch, and running it again brings that batch in. Symbolic
links are refused, never followed.
"""

import os

import pytest
from django.core.management.base import CommandError
from django.db import connection
from django.db.models.signals import post_save
from reversion.models import Revision, Version

from articles import renditions
from articles.ingest.store import ArticleImporter, FileOutcome
from articles.models import Article, Image, RelatedLink
from articles.wire import ImportedSource
from tests.test_importer import run_import, story, write
from tests.test_importer_images import photo_bytes, stored_files

pytestmark = pytest.mark.django_db


def refuse_revisions_of(headline):
    """A trigger: the database fails a file at its very last write (its
    revision), after its article, source, links and photo are stored."""
    message = f"revision of {headline} refused by the test"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION refuse_revision() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.object_repr = '{headline}' THEN "
                f"RAISE EXCEPTION '{message}'; END IF; RETURN NEW; END $$ "
                "LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE TRIGGER refuse_revision BEFORE INSERT ON reversion_version "
                "FOR EACH ROW EXECUTE FUNCTION refuse_revision()"
            )
        else:
            cursor.execute(
                "CREATE TRIGGER refuse_revision BEFORE INSERT ON reversion_version "
                f"WHEN NEW.object_repr = '{headline}' "
                f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )


def three_stories(folder, bad_has_photo=True):
    paths = [
        write(folder, f"{name}.txt", story(headline=f"Story {name}"))
        for name in ("a", "b", "c")
    ]
    if bad_has_photo:
        write(folder, "b.jpg", photo_bytes(colour=(200, 30, 30)))
    return paths


def test_bad_file_in_a_batch_fails_alone_and_leaves_nothing(tmp_path, media_root):
    three_stories(tmp_path)
    refuse_revisions_of("Story b")

    run = run_import(tmp_path, batch_size=10)

    assert run.exit_code == 1
    assert run.stderr == (
        f"{tmp_path / 'b.txt'}: database error: revision of Story b refused by "
        "the test\n"
    )
    assert run.summary == "created 2, updated 0, unchanged 0, skipped 0, failed 1"
    assert sorted(Article.objects.values_list("headline", flat=True)) == [
        "Story a",
        "Story c",
    ]
    assert sorted(ImportedSource.objects.values_list("name", flat=True)) == [
        "a.txt",
        "c.txt",
    ]
    assert Revision.objects.count() == 2
    assert not Version.objects.filter(object_repr="Story b").exists()
    assert RelatedLink.objects.count() == 2  # a's and c's, none of b's
    # b's photo: neither its Image nor any of its files.
    assert Image.objects.count() == 0
    assert stored_files(media_root) == []


def test_bad_file_leaves_the_photo_another_file_of_its_batch_uses(tmp_path, media_root):
    paths = three_stories(tmp_path)
    write(tmp_path, "c.jpg", photo_bytes(colour=(200, 30, 30)))  # b's photo too
    refuse_revisions_of("Story b")

    run = run_import(*paths, batch_size=10)

    assert run.exit_code == 1
    image = Image.objects.get()
    assert Article.objects.get(headline="Story c").lead_image == image
    assert stored_files(media_root) == sorted(renditions.stored_names(image))


def test_batch_api_gives_each_files_outcome_in_order(tmp_path):
    a, b, c = three_stories(tmp_path, bad_has_photo=False)
    b.write_text("\n\n")
    recorded = []

    outcomes = list(
        ArticleImporter().import_paths(
            [a, b, c], batch_size=2, on_stored=recorded.append
        )
    )

    article_a, article_c = Article.objects.order_by("headline")
    assert outcomes == [
        FileOutcome(a, "created", article_a),
        FileOutcome(b, "failed", note="empty"),
        FileOutcome(c, "created", article_c),
    ]
    assert [outcome.article_id for outcome in outcomes] == [
        article_a.pk,
        None,
        article_c.pk,
    ]
    # Called inside each batch's transaction, with that batch's outcomes.
    assert recorded == [outcomes[:2], outcomes[2:]]


class Interrupted(KeyboardInterrupt):
    pass


def interrupt_when_saving(headline):
    def receiver(sender, instance, **kwargs):
        if instance.headline == headline:
            raise Interrupted

    post_save.connect(receiver, sender=Article, weak=False)
    return lambda: post_save.disconnect(receiver, sender=Article)


def test_interrupted_import_loses_only_the_open_batch(tmp_path, media_root):
    for number in range(1, 6):
        write(tmp_path, f"{number}.txt", story(headline=f"Story {number}"))
    write(tmp_path, "3.jpg", photo_bytes())
    disconnect = interrupt_when_saving("Story 4")
    try:
        with pytest.raises(Interrupted):
            run_import(tmp_path, batch_size=2)
    finally:
        disconnect()

    # The first batch (1, 2) committed; the open one (3, 4) left nothing.
    assert sorted(Article.objects.values_list("headline", flat=True)) == [
        "Story 1",
        "Story 2",
    ]
    assert ImportedSource.objects.count() == 2
    assert Revision.objects.count() == 2
    assert Image.objects.count() == 0
    assert stored_files(media_root) == []

    run = run_import(tmp_path, batch_size=2)

    assert run.exit_code == 0, run.stderr
    assert run.summary == "created 3, updated 0, unchanged 2, skipped 0, failed 0"
    assert Article.objects.count() == 5
    assert Article.objects.get(headline="Story 3").lead_image is not None


def test_symbolic_links_are_refused_not_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    target = write(outside, "secret.txt", story(headline="Not to be imported"))
    folder = tmp_path / "folder"
    folder.mkdir()
    write(folder, "real.txt", story())
    os.symlink(target, folder / "link.txt")
    given = tmp_path / "given.txt"
    os.symlink(target, given)
    linked_folder = tmp_path / "linked-folder"
    os.symlink(outside, linked_folder)

    run = run_import(folder, given, linked_folder)

    assert run.exit_code == 1
    assert run.stderr.splitlines() == [
        f"{folder / 'link.txt'}: is a symbolic link",
        f"{given}: is a symbolic link",
        f"{linked_folder}: is a symbolic link",
    ]
    assert run.summary == "created 1, updated 0, unchanged 0, skipped 0, failed 3"
    assert list(Article.objects.values_list("headline", flat=True)) == [
        "Minsk hosts talks on grain exports"
    ]


def test_symbolic_link_as_a_stories_photo_refuses_the_story(tmp_path):
    path = write(tmp_path, "story.txt", story())
    photo = write(tmp_path, "elsewhere.jpg", photo_bytes())
    os.symlink(photo, tmp_path / "story.jpg")

    run = run_import(path)

    assert run.exit_code == 1
    assert run.stderr == f"{path}: photo story.jpg is a symbolic link\n"
    assert not Article.objects.exists()


def test_batch_size_must_be_positive(tmp_path):
    with pytest.raises(CommandError, match="--batch-size"):
        run_import(write(tmp_path, "story.txt", story()), batch_size=0)


def test_importer_forgets_what_an_interrupted_batch_taught_it(tmp_path):
    paths = [
        write(tmp_path, f"{number}.txt", story(headline=f"Story {number}"))
        for number in (1, 2)
    ]
    importer = ArticleImporter()
    disconnect = interrupt_when_saving("Story 2")
    try:
        with pytest.raises(Interrupted):
            importer.import_batch(paths)
    finally:
        disconnect()

    outcomes = importer.import_batch(paths)

    # Story 1's slug and source went with the batch: it is new again.
    assert [outcome.outcome for outcome in outcomes] == ["created", "created"]
    assert sorted(Article.objects.values_list("slug", flat=True)) == [
        "story-1",
        "story-2",
    ]
