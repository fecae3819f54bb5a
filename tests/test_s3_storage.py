"""The S3 media path, against moto's standalone server on a loopback port.

Real boto3 and django-storages calls over HTTP; moto stands in for S3 as the one
S3 endpoint available on these machines.
"""

import io
import json
import random
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import boto3
import PIL.Image
import pytest
from django.urls import reverse
from PIL import ExifTags

from articles import renditions
from articles.media import media_urlpatterns
from articles.models import Image
from tests.background import committed, run_queued_tasks
from tests.services import run_python, site_env
from tests.test_images import (
    gps_exif,
    image_form_data,
    make_image,
    photo_bytes,
    render_tags,
    stored_files,
    upload,
)

pytestmark = [pytest.mark.django_db, pytest.mark.processes]

ROOT = Path(__file__).resolve().parent.parent
PORTS = range(19300, 19400)  # this branch's share of loopback ports
CREDENTIALS = {"access_key": "testing", "secret_key": "testing"}
REGION = "us-east-1"


def free_port():
    for port in random.sample(PORTS, len(PORTS)):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"No free port in {PORTS}.")


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "server.log"
    with log.open("wb") as log_file:
        server = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"moto server did not start: {log.read_text()}"
                    ) from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.fixture
def s3_client(s3_endpoint):
    return boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id=CREDENTIALS["access_key"],
        aws_secret_access_key=CREDENTIALS["secret_key"],
        region_name=REGION,
    )


@pytest.fixture
def bucket(settings, s3_endpoint, s3_client):
    """A fresh bucket, configured as the default storage the way settings.py does."""
    name = f"media-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=name)
    # What README.md asks of the operator: readers may read every object.
    s3_client.put_bucket_policy(
        Bucket=name,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": f"arn:aws:s3:::{name}/*",
                    }
                ],
            }
        ),
    )
    settings.MEDIA_S3_BUCKET = name
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "articles.storage.MediaS3Storage",
            "OPTIONS": {
                "bucket_name": name,
                "endpoint_url": s3_endpoint,
                "region_name": REGION,
                "querystring_auth": False,
                "file_overwrite": False,
                **CREDENTIALS,
            },
        },
    }
    return name


def bucket_keys(s3_client, bucket):
    listing = s3_client.list_objects_v2(Bucket=bucket)
    return {item["Key"] for item in listing.get("Contents", [])}


def test_uploaded_photo_and_every_rendition_land_in_the_bucket(
    editor_client, s3_client, bucket, s3_endpoint, media_root
):
    with committed():
        response = editor_client.post(
            reverse("admin:articles_image_add"),
            image_form_data(upload(photo_bytes(1700, 1275, exif=gps_exif()))),
        )
    assert response.status_code == 302, response.context["errors"]
    image = Image.objects.get()
    # The request stored the original; the task it enqueued makes the rest.
    assert bucket_keys(s3_client, bucket) == {image.file.name}
    assert run_queued_tasks() == 1
    image.refresh_from_db()

    expected = {image.file.name} | {r.name for r in renditions.all_renditions(image)}
    assert bucket_keys(s3_client, bucket) == expected
    assert len(expected) == 1 + 19  # the original and 19 renditions
    assert stored_files(media_root) == []  # nothing went to the local disk

    original = s3_client.get_object(Bucket=bucket, Key=image.file.name)
    assert original["ContentType"] == "image/jpeg"
    assert original["CacheControl"] == "public, max-age=3600"
    stored = PIL.Image.open(io.BytesIO(original["Body"].read()))
    assert not stored.getexif().get_ifd(ExifTags.IFD.GPSInfo)

    avif = renditions.largest(image, "full", "avif")
    head = s3_client.head_object(Bucket=bucket, Key=avif.name)
    assert head["ContentType"] == "image/avif"
    assert head["CacheControl"] == "public, max-age=31536000, immutable"


def test_pages_link_renditions_straight_to_the_bucket(s3_client, bucket, s3_endpoint):
    image = make_image(photo_bytes(1200, 900), alt_text="x")
    _, tags = render_tags('{% picture image "card" %}', image=image)
    img = tags[-1][1]
    assert img["src"].startswith(f"{s3_endpoint}/{bucket}/images/renditions/")

    # A reader's browser fetches it over plain HTTP.
    with urllib.request.urlopen(img["src"], timeout=10) as response:
        fetched = PIL.Image.open(io.BytesIO(response.read()))
    assert fetched.format == "JPEG"
    assert fetched.size == (800, 450)


def test_deleting_an_image_removes_its_objects(
    s3_client, bucket, django_capture_on_commit_callbacks
):
    image = Image.objects.create(file=upload(photo_bytes(900, 600)), alt_text="x")
    assert bucket_keys(s3_client, bucket)
    with django_capture_on_commit_callbacks(execute=True):
        image.delete()
    assert bucket_keys(s3_client, bucket) == set()


def test_the_app_does_not_route_media_when_a_bucket_holds_it(settings):
    settings.MEDIA_S3_BUCKET = ""
    assert len(media_urlpatterns()) == 1
    settings.MEDIA_S3_BUCKET = "newsroom-media"
    assert media_urlpatterns() == []


def test_media_s3_bucket_variable_selects_the_s3_storage(tmp_path):
    env = site_env(
        tmp_path,
        MEDIA_S3_BUCKET="newsroom-media",
        MEDIA_S3_ENDPOINT_URL="http://127.0.0.1:9000",
        MEDIA_S3_REGION="eu-west-2",
    )
    result = run_python(
        env,
        "import newsroom.settings as s; d = s.STORAGES['default']; "
        "o = d['OPTIONS']; print(d['BACKEND'], o['bucket_name'], "
        "o['endpoint_url'], o['region_name'], o['querystring_auth'])",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "articles.storage.MediaS3Storage",
        "newsroom-media",
        "http://127.0.0.1:9000",
        "eu-west-2",
        "False",
    ]


def test_without_a_bucket_media_stays_on_disk_under_var(tmp_path):
    result = run_python(
        site_env(tmp_path),
        "import newsroom.settings as s; "
        "print(s.STORAGES['default']['BACKEND'], s.MEDIA_ROOT, s.MEDIA_URL)",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.core.files.storage.FileSystemStorage",
        str(tmp_path / "media"),
        "/media/",
    ]


PHOTO_ORIGIN_AND_IMG_SRC = (
    "import django; django.setup(); from urllib.parse import urlsplit; "
    "from django.conf import settings; "
    "from django.core.files.storage import default_storage as storage; "
    "url = urlsplit(storage.url('images/renditions/x.jpg')); "
    "print(f'{url.scheme}://{url.netloc}'); "
    "print(*settings.CONTENT_SECURITY_POLICY['DIRECTIVES']['img-src'])"
)


@pytest.mark.parametrize(
    "media_settings",
    [
        {"MEDIA_S3_ENDPOINT_URL": "http://127.0.0.1:9000", "MEDIA_S3_REGION": REGION},
        {"MEDIA_S3_ENDPOINT_URL": "https://s3.example.net/", "MEDIA_S3_REGION": ""},
        {"MEDIA_S3_REGION": "eu-west-2"},
        {"MEDIA_S3_REGION": "us-east-1"},
        {},
        {"MEDIA_S3_CUSTOM_DOMAIN": "photos.example-cdn.net"},
        {
            "MEDIA_S3_CUSTOM_DOMAIN": "photos.example-cdn.net",
            "MEDIA_S3_ENDPOINT_URL": "https://s3.example.net",
        },
    ],
    ids=lambda media_settings: ",".join(media_settings) or "AWS",
)
def test_img_src_allows_exactly_the_origin_of_photo_urls(tmp_path, media_settings):
    """The URL django-storages makes for a photo (offline: no request is
    sent) is allowed by the policy, and nothing else is added to it."""
    env = site_env(
        tmp_path,
        MEDIA_S3_BUCKET="newsroom-media",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        DJANGO_SETTINGS_MODULE="newsroom.settings",
        **media_settings,
    )
    result = run_python(env, PHOTO_ORIGIN_AND_IMG_SRC)
    assert result.returncode == 0, result.stderr
    photo_origin, img_src = result.stdout.splitlines()
    assert img_src.split() == ["'self'", "data:", photo_origin]
    if "MEDIA_S3_CUSTOM_DOMAIN" in media_settings:
        assert photo_origin == "https://photos.example-cdn.net"


def test_without_a_bucket_img_src_is_the_site_alone(tmp_path):
    result = run_python(
        site_env(tmp_path, MEDIA_S3_CUSTOM_DOMAIN="photos.example-cdn.net"),
        "import newsroom.settings as s; "
        "print(*s.CONTENT_SECURITY_POLICY['DIRECTIVES']['img-src'])",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["'self'", "data:"]
