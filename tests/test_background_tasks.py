"""Photo renditions made in the background (articles/tasks.py): the upload
returns with the original stored, pages show it meanwhile, and a worker, on the
database queue or on Redis with RQ, makes the renditions pages then list."""

import json
from pathlib import Path

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from articles import renditions
from articles.models import Image
from articles.tasks import make_missing_renditions, make_renditions, record_renditions
from tests.background import committed, run_queued_tasks
from tests.conftest import make_article
from tests.html_forms import form_data
from tests.services import (
    Site,
    delete_redis_keys,
    drop_database,
    manage,
    require_postgres,
    require_redis,
)
from tests.test_html_validity import check_files, checker_command
from tests.test_image_pages import Images
from tests.test_images import photo_bytes, stored_files, upload

TASKS_REDIS_URL = "redis://127.0.0.1:6379/13"


def lead_picture(response):
    """The story photo's <img>, and every <source> of the page."""
    html = response.content.decode()
    [lead] = [img for img in Images(html).images if "story-photo" in img["class"]]
    return lead, html


def srcset_names(srcset):
    return {
        candidate.split()[0].removeprefix("/media/") for candidate in srcset.split(",")
    }


# In this process, with the worker's code (tests/background.py) -------------------


@pytest.mark.django_db
def test_admin_upload_returns_before_the_renditions_which_a_worker_then_makes(
    editor_client, media_root
):
    add_url = reverse("admin:articles_image_add")
    data = form_data(editor_client.get(add_url).content.decode(), "image_form")
    data.update(
        file=upload(photo_bytes(1600, 1200), "harbour.jpg"),
        alt_text="Ferries moored in the harbour at dawn",
    )
    with committed():
        response = editor_client.post(add_url, data)
    assert response.status_code == 302, response.context["errors"]

    image = Image.objects.get()
    assert stored_files(media_root) == [image.file.name]
    assert image.renditions_made == []
    assert DBTaskResult.objects.ready().count() == 1
    story = make_article(slug="harbour", lead_image=image)
    reader = Client()

    # Meanwhile: the original, scaled by the browser; no link to a missing file.
    before = reader.get(story.get_absolute_url())
    lead, html = lead_picture(before)
    assert lead["src"] == image.file.url
    assert (lead["width"], lead["height"]) == ("1600", "1200")
    assert lead["alt"] == "Ferries moored in the harbour at dawn"
    assert "srcset" not in lead and "sizes" not in lead
    assert "<source" not in html and "images/renditions/" not in html

    assert run_queued_tasks() == 1
    image.refresh_from_db()
    expected = {r.name for r in renditions.all_renditions(image)}
    assert set(image.renditions_made) == expected
    assert set(stored_files(media_root)) == expected | {image.file.name}

    # The cached page went stale with the renditions: readers get the srcset,
    # and a browser holding the old page does not get a 304 for it.
    after = reader.get(
        story.get_absolute_url(), headers={"if-none-match": before["ETag"]}
    )
    assert after.status_code == 200
    assert after["X-Cache"] == "MISS"
    lead, html = lead_picture(after)
    full_jpegs = {r.name for r in renditions.renditions(image, "full", "jpeg")}
    assert srcset_names(lead["srcset"]) == full_jpegs
    assert lead["src"].removeprefix("/media/") in full_jpegs
    for format_key in ("avif", "webp"):
        for rendition in renditions.renditions(image, "full", format_key):
            assert rendition.url in html


@pytest.mark.django_db
@pytest.mark.processes
def test_pages_waiting_for_renditions_pass_the_nu_html_checker(
    client, media_root, tmp_path
):
    checker_command()
    with committed():
        image = Image.objects.create(
            file=upload(photo_bytes(1600, 1200)), alt_text="A tram in the snow"
        )
    story = make_article(slug="tram", lead_image=image)
    files = []
    for name, url in [("article", story.get_absolute_url()), ("home", "/")]:
        response = client.get(url)
        assert image.file.url in response.content.decode()
        files.append(tmp_path / f"{name}.html")
        files[-1].write_bytes(response.content)
    assert check_files(files) == []


@pytest.mark.django_db
def test_pages_list_the_renditions_made_so_far(client, media_root):
    with committed():
        image = Image.objects.create(
            file=upload(photo_bytes(1600, 1200)), alt_text="A tram in the snow"
        )
    story = make_article(lead_image=image)
    jpegs = renditions.renditions(image, "full", "jpeg")
    # As the task leaves it after its first format: the JPEGs, nothing else yet.
    renditions.generate(image, jpegs)
    record_renditions(image, [r.name for r in jpegs])

    lead, html = lead_picture(client.get(story.get_absolute_url()))
    assert srcset_names(lead["srcset"]) == {r.name for r in jpegs}
    assert "<source" not in html
    assert (lead["width"], lead["height"]) == ("1600", "1200")


@pytest.mark.django_db
def test_the_task_makes_only_missing_renditions_when_run_again(media_root):
    with committed():
        image = Image.objects.create(file=upload(photo_bytes(900, 600)))
        make_renditions.enqueue(image.pk)  # enqueued twice: the second finds all
    assert run_queued_tasks() == 2
    runs = DBTaskResult.objects.order_by("started_at")
    assert [run.return_value for run in runs] == [
        len(renditions.all_renditions(image)),
        0,
    ]

    lost = renditions.renditions(image, "card", "avif")[-1].name
    (Path(media_root) / lost).unlink()
    image.refresh_from_db()
    image.renditions_made.remove(lost)
    with committed():
        image.save()  # saving an image whose renditions are incomplete enqueues
    assert run_queued_tasks() == 1
    assert runs.last().return_value == 1
    assert lost in stored_files(media_root)
    image.refresh_from_db()
    assert lost in image.renditions_made


@pytest.mark.django_db
def test_the_task_of_a_deleted_photo_does_nothing(media_root):
    with committed():
        image = Image.objects.create(file=upload(photo_bytes(900, 600)))
    with committed():
        image.delete()
    assert run_queued_tasks() == 1
    assert DBTaskResult.objects.get().return_value == 0
    assert stored_files(media_root) == []


@pytest.mark.django_db
def test_an_upload_rolled_back_enqueues_nothing(media_root):
    with committed(), pytest.raises(RuntimeError), transaction.atomic():
        Image.objects.create(file=upload(photo_bytes(900, 600)))
        raise RuntimeError("the form's other part failed")
    assert not DBTaskResult.objects.exists()


@pytest.mark.django_db
def test_the_importer_makes_renditions_at_once_and_enqueues_nothing(media_root):
    image = Image(file=upload(photo_bytes(900, 600)))
    with committed():
        image.save()
        make_missing_renditions(image)
    assert not DBTaskResult.objects.exists()
    assert set(stored_files(media_root)) == renditions.stored_names(image)


# Real worker processes, on both queues --------------------------------------------

STORY_WITH_PHOTO = """
import io
import PIL.Image
from django.core.files.base import ContentFile
from articles.models import Article, Image

data = io.BytesIO()
PIL.Image.new("RGB", (1600, 1200), "navy").save(data, "JPEG")
image = Image.objects.create(
    file=ContentFile(data.getvalue(), name="harbour.jpg"), alt_text="The harbour"
)
Article.objects.create(
    headline="Harbour reopens", slug="harbour", body="Text.", status="published",
    lead_image=image,
)
"""
PHOTO_STATE = """
import json
from articles import renditions
from articles.models import Image

image = Image.objects.get()
print(json.dumps({
    "original": image.file.name,
    "made": sorted(image.renditions_made),
    "planned": sorted(r.name for r in renditions.all_renditions(image)),
    "full_jpegs": sorted(r.url for r in renditions.renditions(image, "full", "jpeg")),
}))
"""
URL = "/articles/harbour/"


def photo_state(site):
    return json.loads(manage(site.env, "shell", "-c", PHOTO_STATE).splitlines()[-1])


def assert_worker_makes_the_renditions(site, worker_command):
    """The story's page shows the original until the worker (run to the end
    of its queue) has made the renditions, then lists them."""
    site.shell(STORY_WITH_PHOTO)
    state = photo_state(site)
    assert state["made"] == []
    with site.server(workers=1) as server:
        before = server.get(URL)
        assert before.status == 200
        assert f'src="/media/{state["original"]}"'.encode() in before.body
        assert b"images/renditions/" not in before.body

        manage(site.env, *worker_command)

        state = photo_state(site)
        assert state["made"] == state["planned"] and len(state["planned"]) == 19
        media = site.var_dir / "media"
        assert all((media / name).is_file() for name in state["planned"])
        after = server.get(URL)
        assert after.headers["x-cache"] == "MISS"
        for url in state["full_jpegs"]:
            assert url.encode() in after.body


@pytest.fixture
def sqlite_site(tmp_path, prepared_site):
    return Site.from_prepared(tmp_path, prepared_site)


@pytest.fixture
def postgres_site(tmp_path, prepared_site):
    database_url = require_postgres()
    site = Site.from_prepared(tmp_path, prepared_site, database_url=database_url)
    manage(site.env, "migrate", "--noinput", "--verbosity", "0")
    yield site
    drop_database(database_url)


DB_WORKER = ("db_worker", "--batch", "--no-reload", "--no-startup-delay")


@pytest.mark.processes
def test_db_worker_process_makes_the_renditions_on_sqlite(sqlite_site):
    assert_worker_makes_the_renditions(sqlite_site, DB_WORKER)


@pytest.mark.processes
def test_db_worker_process_makes_the_renditions_on_postgres(postgres_site):
    assert_worker_makes_the_renditions(postgres_site, DB_WORKER)


@pytest.mark.processes
def test_rq_worker_process_makes_the_renditions(tmp_path, prepared_site):
    redis_url = require_redis(TASKS_REDIS_URL)
    # The queue's database is this test's own: nothing left from a run before.
    delete_redis_keys(redis_url, "rq")
    site = Site.from_prepared(tmp_path, prepared_site, TASKS_REDIS_URL=redis_url)
    try:
        assert_worker_makes_the_renditions(site, ("rqworker", "default", "--burst"))
    finally:
        delete_redis_keys(redis_url, "rq")
