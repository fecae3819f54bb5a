"""The importer's lead image: a photo beside a story file, with the same stem."""

import io
from pathlib import Path

import PIL.Image
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

from articles import renditions
from articles.models import Article, Image
from tests.test_importer import (
    SEED,
    content_writes,
    refuse_related_links_in_database,
    run_import,
    story,
    write,
)

pytestmark = pytest.mark.django_db


def photo_bytes(format="JPEG", size=(640, 480), colour=(40, 90, 160)):
    picture = PIL.Image.new("RGB", size, colour)
    # A gradient, so that encoders have something to do and sizes differ.
    for x in range(0, size[0], 8):
        picture.paste((x % 256, 120, 200 - x % 200), (x, 0, x + 4, size[1]))
    output = io.BytesIO()
    picture.save(output, format)
    return output.getvalue()


def stored_files(media_root):
    return sorted(
        str(path.relative_to(media_root))
        for path in Path(media_root).rglob("*")
        if path.is_file()
    )


def test_photo_beside_a_story_becomes_its_lead_image(tmp_path, media_root):
    path = write(tmp_path, "story.txt", story())
    write(tmp_path, "story.jpg", photo_bytes())

    run = run_import(path)

    assert run.exit_code == 0, run.stderr
    article = Article.objects.get()
    image = article.lead_image
    assert image.caption == "Delegates arrive in Minsk"
    assert image.credit == "Reuters"
    assert image.alt_text == "Delegates arrive in Minsk"
    assert (image.width, image.height) == (640, 480)
    # The original and every rendition are stored, and nothing else.
    assert stored_files(media_root) == sorted(renditions.stored_names(image))


# Serialized rollback: a transactional test before this one may have emptied the
# tables that migrations fill (content types), which revisions point at.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_import_makes_the_renditions_itself_and_queues_none(tmp_path, media_root):
    """Committed as a real import commits (the photo's Image on its own, before
    the batch): a worker asked too would encode every rendition again."""
    path = write(tmp_path, "story.txt", story())
    write(tmp_path, "story.jpg", photo_bytes())

    run = run_import(path)

    assert run.exit_code == 0, run.stderr
    assert not renditions.missing(Article.objects.get().lead_image)
    assert not DBTaskResult.objects.exists()


@pytest.mark.parametrize(
    ("extension", "format"),
    [(".jpeg", "JPEG"), (".png", "PNG"), (".webp", "WEBP"), (".JPG", "JPEG")],
)
def test_each_accepted_extension_is_found(tmp_path, extension, format):
    path = write(tmp_path, "story.txt", story())
    write(tmp_path, f"story{extension}", photo_bytes(format))

    run = run_import(path)

    assert run.exit_code == 0, run.stderr
    assert Article.objects.get().lead_image.file.name.endswith(
        ".png" if format == "PNG" else ".webp" if format == "WEBP" else ".jpg"
    )


def test_a_photo_with_another_stem_is_not_used(tmp_path):
    path = write(tmp_path, "story.txt", story())
    write(tmp_path, "other.jpg", photo_bytes())

    run_import(path)

    assert Article.objects.get().lead_image is None


def test_alt_text_is_the_headline_when_the_story_has_no_caption(tmp_path):
    path = write(tmp_path, "story.txt", story(caption=None))
    write(tmp_path, "story.jpg", photo_bytes())

    run_import(path)

    image = Article.objects.get().lead_image
    assert image.alt_text == "Minsk hosts talks on grain exports"
    assert (image.caption, image.credit) == ("", "")


def test_seed_with_a_photo_has_its_parsed_caption_and_credit(tmp_path):
    path = write(tmp_path, SEED.name, SEED.read_bytes())
    write(tmp_path, SEED.with_suffix(".jpg").name, photo_bytes())

    run_import(path)

    image = Article.objects.get().lead_image
    assert (image.caption, image.credit) == ("Russian president Vladimir Putin", "AP")
    assert image.alt_text == "Russian president Vladimir Putin"


def test_reimport_with_the_same_photo_changes_nothing(tmp_path, media_root):
    path = write(tmp_path, "story.txt", story())
    write(tmp_path, "story.jpg", photo_bytes())
    run_import(path)
    files = stored_files(media_root)
    image = Image.objects.get()

    with CaptureQueriesContext(connection) as queries:
        run = run_import(path)

    assert run.summary == "created 0, updated 0, unchanged 1, skipped 0, failed 0"
    assert content_writes(queries) == []
    assert list(Image.objects.values()) == [Image.objects.values().get(pk=image.pk)]
    assert stored_files(media_root) == files


def test_reimport_with_another_photo_replaces_the_lead_image(tmp_path):
    path = write(tmp_path, "story.txt", story())
    write(tmp_path, "story.jpg", photo_bytes())
    run_import(path)
    first = Article.objects.get().lead_image

    write(tmp_path, "story.jpg", photo_bytes(colour=(200, 30, 30)))
    run = run_import(path)

    assert run.summary == "created 0, updated 1, unchanged 0, skipped 0, failed 0"
    assert Article.objects.get().lead_image != first
    assert Image.objects.count() == 2  # the old photo stays in the library


def test_reimport_without_the_photo_keeps_the_lead_image(tmp_path):
    path = write(tmp_path, "story.txt", story())
    photo = write(tmp_path, "story.jpg", photo_bytes())
    run_import(path)
    photo.unlink()

    run = run_import(path)

    assert run.summary == "created 0, updated 0, unchanged 1, skipped 0, failed 0"
    assert Article.objects.get().lead_image is not None


def test_a_photo_already_in_the_library_is_used_again(tmp_path, media_root):
    first = write(tmp_path, "first.txt", story(headline="First story"))
    second = write(tmp_path, "second.txt", story(headline="Second story"))
    write(tmp_path, "first.jpg", photo_bytes())
    write(tmp_path, "second.jpg", photo_bytes())

    run = run_import(first, second)

    assert run.summary == "created 2, updated 0, unchanged 0, skipped 0, failed 0"
    image = Image.objects.get()
    assert set(Article.objects.values_list("lead_image", flat=True)) == {image.pk}
    assert stored_files(media_root) == sorted(renditions.stored_names(image))


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"not an image at all", "The file is not a JPEG"),
        (photo_bytes()[:400], "The image could not be read"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"></svg>', "SVG images are not"),
    ],
    ids=["garbage", "cut-short", "svg"],
)
def test_a_corrupt_photo_refuses_the_story_whole(tmp_path, media_root, content, reason):
    good = write(tmp_path, "good.txt", story(headline="Good story"))
    bad = write(tmp_path, "bad.txt", story(headline="Bad story"))
    write(tmp_path, "bad.jpg", content)

    run = run_import(good, bad)

    assert run.exit_code == 1
    [line] = run.stderr.splitlines()
    assert line.startswith(f"{bad}: photo bad.jpg: {reason}")
    assert run.summary == "created 1, updated 0, unchanged 0, skipped 0, failed 1"
    assert list(Article.objects.values_list("headline", flat=True)) == ["Good story"]
    assert not Image.objects.exists()
    assert stored_files(media_root) == []


def test_a_photo_over_the_upload_limit_refuses_the_story(
    tmp_path, media_root, settings
):
    # The admin's limit, read when the file is: one limit for both ways in.
    settings.UPLOAD_MAX_BYTES = 1024 * 1024
    big = write(tmp_path, "big.txt", story(headline="Big photo"))
    write(tmp_path, "big.jpg", photo_bytes(format="BMP", size=(700, 600)))

    run = run_import(big)

    assert run.exit_code == 1
    assert run.stderr.splitlines() == [
        f"{big}: photo big.jpg: The file is over the 1 MB limit"
    ]
    assert not Article.objects.exists() and not Image.objects.exists()
    assert stored_files(media_root) == []


def test_photo_files_go_when_the_story_rolls_back(tmp_path, media_root):
    # The photo is stored, then the database refuses the story's related links.
    refuse_related_links_in_database()
    path = write(tmp_path, "story.txt", story())
    write(tmp_path, "story.jpg", photo_bytes())

    run = run_import(path)

    assert run.exit_code == 1
    assert "database error: related links refused by the test" in run.stderr
    assert not Article.objects.exists()
    assert not Image.objects.exists()
    assert stored_files(media_root) == []


def test_dry_run_stores_no_photo(tmp_path, media_root):
    path = write(tmp_path, "story.txt", story())
    write(tmp_path, "story.jpg", photo_bytes())

    run = run_import(path, dry_run=True)

    assert run.summary.startswith(
        "created 1, updated 0, unchanged 0, skipped 0, failed 0"
    )
    assert not Image.objects.exists()
    assert stored_files(media_root) == []


def test_queries_per_article_stay_flat_with_photos(tmp_path):
    counts = []
    colours = [(10, 20, 30), (200, 100, 50), (90, 90, 90), (5, 250, 5)]
    for number, colour in enumerate(colours):
        path = write(tmp_path, f"{number}.txt", story(headline=f"Story {number}"))
        write(tmp_path, f"{number}.jpg", photo_bytes(colour=colour))
        with CaptureQueriesContext(connection) as queries:
            run_import(path)
        counts.append(len(queries))

    assert Image.objects.count() == 4
    # The first import also fills Django's caches (content types and the like).
    assert counts[1] == counts[2] == counts[3]
