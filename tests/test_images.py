import io
import struct
import zlib
from html.parser import HTMLParser
from pathlib import Path

import PIL.Image
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db.models import ProtectedError
from django.template import Context, Template, TemplateSyntaxError
from django.urls import reverse
from PIL import ExifTags

from articles import renditions
from articles.images import MAX_UPLOAD_BYTES
from articles.models import Article, Image
from tests.background import committed, run_queued_tasks
from tests.conftest import make_article
from tests.test_admin import article_form_data as admin_article_form_data

pytestmark = pytest.mark.django_db

BLUE = (0, 0, 255)
RED = (255, 0, 0)


def photo_bytes(width=1000, height=750, fmt="JPEG", exif=None, **options):
    """A smooth colour gradient: quick to encode, so the suite stays fast
    (benchmarks/image_bench.py times realistic, noisy photos)."""
    gradient = PIL.Image.linear_gradient("L").resize((width, height))
    across = PIL.Image.linear_gradient("L").rotate(90).resize((width, height))
    image = PIL.Image.merge(
        "RGB", (gradient, across, gradient.transpose(PIL.Image.Transpose.ROTATE_180))
    )
    output = io.BytesIO()
    if exif is not None:
        options["exif"] = exif.tobytes()
    image.save(output, fmt, **options)
    return output.getvalue()


def two_band_photo(width=1200, height=1200):
    """Blue above the middle, red below: shows which part a crop kept."""
    image = PIL.Image.new("RGB", (width, height), RED)
    image.paste(BLUE, (0, 0, width, height // 2))
    output = io.BytesIO()
    image.save(output, "PNG")
    return output.getvalue()


def gps_exif(orientation=None):
    exif = PIL.Image.Exif()
    exif[ExifTags.Base.Artist] = "Jane Photographer"
    exif[ExifTags.Base.Make] = "CameraCo"
    exif[ExifTags.Base.BodySerialNumber] = "SN-123456"
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (55.0, 45.0, 21.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (37.0, 37.0, 4.0)
    return exif


def upload(content, name="photo.jpg"):
    return SimpleUploadedFile(name, content, content_type="image/jpeg")


def make_image(content=None, name="photo.jpg", **fields):
    """A photo in the library as readers meet it: saved, and its renditions
    made by the task its upload enqueued."""
    fields.setdefault("alt_text", "Firefighters at a burning warehouse")
    with committed():
        image = Image.objects.create(
            file=upload(content or photo_bytes(), name=name), **fields
        )
    run_queued_tasks()
    image.refresh_from_db()
    return image


def decode(storage_name):
    storage = Image._meta.get_field("file").storage
    with storage.open(storage_name, "rb") as stored:
        image = PIL.Image.open(io.BytesIO(stored.read()))
        image.load()
    return image


def stored_files(media_root):
    return sorted(
        str(path.relative_to(media_root))
        for path in Path(media_root).rglob("*")
        if path.is_file()
    )


def image_form_data(file, **overrides):
    data = {
        "file": file,
        "alt_text": "A man in a red coat crossing a snowy square",
        "caption": "Red Square in the snow",
        "credit": "Jane Photographer / Agency",
        "focal_x": "",
        "focal_y": "",
    }
    data.update(overrides)
    return data


# Upload through the admin


def test_editor_uploads_a_photo_in_the_admin(editor_client, editor, media_root):
    with committed():
        response = editor_client.post(
            reverse("admin:articles_image_add"),
            image_form_data(upload(photo_bytes(1700, 1275), "DSC_0042.JPG")),
        )
    assert response.status_code == 302, response.context["errors"]
    image = Image.objects.get()
    assert image.uploaded_by == editor
    assert (image.width, image.height) == (1700, 1275)
    assert image.credit == "Jane Photographer / Agency"
    assert image.file.name.startswith("images/originals/")
    # The request stored the original; the task it enqueued makes the rest.
    assert stored_files(media_root) == [image.file.name]
    assert run_queued_tasks() == 1
    expected = {image.file.name} | {r.name for r in renditions.all_renditions(image)}
    assert set(stored_files(media_root)) == expected
    assert len(expected) == 1 + 4 * 3 + 2 * 3 + 1


def test_image_list_shows_a_rendition_thumbnail_and_searches_credit(editor_client):
    image = make_image(credit="Agency Pool", caption="Kremlin at dusk")
    make_image(credit="Someone Else", caption="A cat")
    changelist = reverse("admin:articles_image_changelist")

    html = editor_client.get(changelist, {"q": "pool"}).content.decode()

    thumbnail = renditions.renditions(image, "card", "webp")[0]
    assert f'src="{thumbnail.url}"' in html
    assert image.file.url not in html
    assert "Kremlin at dusk" in html
    assert "A cat" not in html


def test_image_change_page_previews_the_crops(editor_client):
    image = make_image()
    html = editor_client.get(
        reverse("admin:articles_image_change", args=[image.pk])
    ).content.decode()
    for spec, format_key in [("full", "webp"), ("card", "webp"), ("social", "jpeg")]:
        assert renditions.renditions(image, spec, format_key)[0].url in html
    assert 'accept="image/jpeg,image/png,image/webp,image/avif"' in html


def test_article_form_offers_the_lead_image_autocomplete(editor_client):
    html = editor_client.get(reverse("admin:articles_article_add")).content.decode()
    assert 'data-field-name="lead_image"' in html
    image = make_image(caption="Snow on the Kremlin")
    results = editor_client.get(
        reverse("admin:autocomplete"),
        {
            "term": "snow",
            "app_label": "articles",
            "model_name": "article",
            "field_name": "lead_image",
        },
    ).json()["results"]
    assert results == [{"id": str(image.pk), "text": "Snow on the Kremlin"}]


def test_an_image_in_use_cannot_be_deleted(superuser_client):
    image = make_image()
    make_article(lead_image=image)
    with pytest.raises(ProtectedError):
        image.delete()
    response = superuser_client.post(
        reverse("admin:articles_image_delete", args=[image.pk]), {"post": "yes"}
    )
    assert response.status_code == 200
    assert "Cannot delete image" in response.content.decode()
    assert Image.objects.filter(pk=image.pk).exists()


def test_editor_cannot_delete_an_image(editor_client):
    image = make_image()
    delete_url = reverse("admin:articles_image_delete", args=[image.pk])
    assert editor_client.post(delete_url, {"post": "yes"}).status_code == 403
    assert Image.objects.filter(pk=image.pk).exists()


def test_deleting_an_unused_image_removes_its_files(
    superuser_client, media_root, django_capture_on_commit_callbacks
):
    image = make_image()
    assert stored_files(media_root)
    with django_capture_on_commit_callbacks(execute=True):
        response = superuser_client.post(
            reverse("admin:articles_image_delete", args=[image.pk]), {"post": "yes"}
        )
    assert response.status_code == 302
    assert not Image.objects.exists()
    assert stored_files(media_root) == []


def test_replacing_the_photo_removes_the_old_files(
    editor_client, media_root, django_capture_on_commit_callbacks
):
    image = make_image(photo_bytes(800, 600))
    old_files = set(stored_files(media_root))
    with django_capture_on_commit_callbacks(execute=True):
        response = editor_client.post(
            reverse("admin:articles_image_change", args=[image.pk]),
            image_form_data(upload(photo_bytes(600, 800), "portrait.jpg")),
        )
    assert response.status_code == 302, response.context["errors"]
    assert run_queued_tasks() == 1
    image.refresh_from_db()
    assert (image.width, image.height) == (600, 800)
    files = set(stored_files(media_root))
    assert not files & old_files
    assert files == renditions.stored_names(image)


# Refused uploads


def decompression_bomb(side=20_000):
    """A ~50 KB PNG that says it is side×side pixels (400 megapixels)."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    compressor = zlib.compressobj(9)
    row = b"\0" * (1 + side // 8)  # filter byte + one bit per pixel
    pixels = b"".join(compressor.compress(row) for _ in range(side)) + (
        compressor.flush()
    )
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", pixels)
        + chunk(b"IEND", b"")
    )


def too_many_pixels():
    output = io.BytesIO()
    PIL.Image.new("1", (8000, 6000)).save(output, "PNG")
    return output.getvalue()


REFUSED_UPLOADS = {
    "too big": (
        lambda: b"\xff\xd8\xff" + b"\0" * MAX_UPLOAD_BYTES,
        "big.jpg",
        "The file is 20.0 MB; the limit is 20 MB.",
    ),
    "too many pixels": (
        too_many_pixels,
        "huge.png",
        "The image is 8000×6000 pixels (48.0 megapixels); the limit is 40 megapixels.",
    ),
    "svg": (
        lambda: (
            b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" '
            b'width="10" height="10"><script>alert(1)</script></svg>'
        ),
        "logo.svg",
        "SVG images are not accepted; upload a JPEG, PNG, WebP or AVIF photo.",
    ),
    "svg named as a jpeg": (
        lambda: b'<svg xmlns="http://www.w3.org/2000/svg"></svg>',
        "photo.jpg",
        "SVG images are not accepted",
    ),
    "not an image": (
        lambda: b"Minutes of the editorial meeting.\n",
        "minutes.jpg",
        "The file is not a JPEG, PNG, WebP or AVIF image.",
    ),
    "gif": (
        lambda: b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
        "anim.gif",
        "The file is not a JPEG, PNG, WebP or AVIF image.",
    ),
    "cut short": (
        lambda: photo_bytes(600, 400)[:4000],
        "half.jpg",
        "The image could not be read (damaged or cut short)",
    ),
    "decompression bomb": (
        decompression_bomb,
        "bomb.png",
        "The image declares far more pixels than its file size allows "
        "(a decompression bomb); the limit is 40 megapixels.",
    ),
}


@pytest.mark.parametrize("case", REFUSED_UPLOADS)
def test_refused_upload_gives_a_clear_error_and_stores_nothing(
    case, editor_client, media_root
):
    make_content, name, message = REFUSED_UPLOADS[case]
    response = editor_client.post(
        reverse("admin:articles_image_add"),
        image_form_data(upload(make_content(), name)),
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert response.context["adminform"].form.errors["file"]
    assert not Image.objects.exists()
    assert stored_files(media_root) == []


def test_model_validation_refuses_a_bomb_too():
    image = Image(file=upload(decompression_bomb(), "bomb.png"), alt_text="x")
    with pytest.raises(ValidationError) as error:
        image.full_clean()
    assert "decompression bomb" in str(error.value.message_dict["file"])


# Location data


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP", "PNG"])
def test_gps_is_removed_from_the_original_and_every_rendition(fmt):
    content = photo_bytes(900, 600, fmt, exif=gps_exif())
    assert (
        PIL.Image.open(io.BytesIO(content)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    ), "the test photo must carry GPS data to begin with"

    image = make_image(content, name=f"photo.{fmt.lower()}")

    original = decode(image.file.name)
    exif = original.getexif()
    assert original.format == fmt
    assert not exif.get_ifd(ExifTags.IFD.GPSInfo)
    assert ExifTags.IFD.GPSInfo not in exif
    assert ExifTags.Base.BodySerialNumber not in exif
    assert exif.get(ExifTags.Base.Artist) == "Jane Photographer"
    for rendition in renditions.all_renditions(image):
        assert not decode(rendition.name).getexif(), rendition.name


def test_orientation_is_applied_to_the_stored_original():
    # Orientation 6: the camera was turned; the picture must be shown rotated.
    image = make_image(photo_bytes(800, 600, exif=gps_exif(orientation=6)))
    original = decode(image.file.name)
    assert (image.width, image.height) == (600, 800)
    assert original.size == (600, 800)
    assert ExifTags.Base.Orientation not in original.getexif()
    assert decode(renditions.largest(image, "full", "jpeg").name).size == (600, 800)


# Renditions


def test_renditions_have_the_promised_formats_and_sizes():
    image = make_image(photo_bytes(2000, 1500))
    expected = {
        "full": [(480, 360), (800, 600), (1200, 900), (1600, 1200)],
        "card": [(480, 270), (800, 450)],
        "social": [(1200, 630)],
    }
    pillow_names = {"avif": "AVIF", "webp": "WEBP", "jpeg": "JPEG"}
    for spec, sizes in expected.items():
        for format_key in renditions.SPECS[spec].formats:
            made = renditions.renditions(image, spec, format_key)
            assert [(r.width, r.height) for r in made] == sizes
            for rendition in made:
                decoded = decode(rendition.name)
                assert decoded.format == pillow_names[format_key]
                assert decoded.size == (rendition.width, rendition.height)
    assert renditions.SPECS["social"].formats == ("jpeg",)


def test_a_small_photo_is_never_upscaled():
    image = make_image(photo_bytes(600, 400))
    assert [
        (r.width, r.height) for r in renditions.renditions(image, "full", "webp")
    ] == [
        (480, 320),
        (600, 400),
    ]
    assert [
        (r.width, r.height) for r in renditions.renditions(image, "card", "webp")
    ] == [
        (480, 270),
        (600, 338),
    ]
    social = renditions.largest(image, "social", "jpeg")
    assert decode(social.name).size == (600, 315)


def test_transparent_png_keeps_alpha_in_webp_and_is_flattened_in_jpeg():
    output = io.BytesIO()
    PIL.Image.new("RGBA", (600, 400), (0, 128, 0, 0)).save(output, "PNG")
    image = make_image(output.getvalue(), name="logo.png")
    assert decode(renditions.largest(image, "full", "webp").name).mode == "RGBA"
    jpeg = decode(renditions.largest(image, "full", "jpeg").name)
    assert jpeg.mode == "RGB"
    assert jpeg.getpixel((10, 10)) == (255, 255, 255)


def centre_colour(rendition):
    decoded = decode(rendition.name).convert("RGB")
    return decoded.getpixel((decoded.width // 2, decoded.height // 2))


def is_close(colour, expected):
    return all(abs(a - b) < 40 for a, b in zip(colour, expected, strict=True))


def test_fixed_ratio_crops_keep_the_focal_point_in_view():
    image = make_image(two_band_photo(), name="bands.png", focal_x=0.5, focal_y=0.05)
    assert is_close(centre_colour(renditions.largest(image, "card", "jpeg")), BLUE)
    assert is_close(centre_colour(renditions.largest(image, "social", "jpeg")), BLUE)

    image.focal_y = 0.95
    image.save()
    assert is_close(centre_colour(renditions.largest(image, "card", "jpeg")), RED)
    assert is_close(centre_colour(renditions.largest(image, "social", "jpeg")), RED)
    # The photo as taken is not cropped: blue on top, red below.
    full = decode(renditions.largest(image, "full", "jpeg").name).convert("RGB")
    assert is_close(full.getpixel((10, 10)), BLUE)
    assert is_close(full.getpixel((10, full.height - 10)), RED)


def test_crop_box_centres_on_the_focal_point_and_stays_in_the_frame():
    assert renditions.crop_box(1000, 1000, (16, 9), (0.5, 0.5)) == (0, 219, 1000, 781)
    assert renditions.crop_box(1000, 1000, (16, 9), (0.5, 0.0)) == (0, 0, 1000, 562)
    assert renditions.crop_box(1000, 1000, (16, 9), (0.5, 1.0)) == (
        0,
        438,
        1000,
        1000,
    )
    assert renditions.crop_box(2000, 500, (16, 9), (0.5, 0.5)) == (556, 0, 1445, 500)
    assert renditions.crop_box(2000, 500, (16, 9), (0.9, 0.5)) == (1111, 0, 2000, 500)
    assert renditions.crop_box(2000, 500, None, (0.8, 0.5)) == (0, 0, 2000, 500)


def test_moving_the_focal_point_renames_crops_and_removes_the_old_ones(
    media_root, django_capture_on_commit_callbacks
):
    image = make_image(focal_x=0.5, focal_y=0.5)
    full_before = {r.name for r in renditions.renditions(image, "full")}
    card_before = {r.name for r in renditions.renditions(image, "card")}

    image.focal_x, image.focal_y = 0.2, 0.3
    with django_capture_on_commit_callbacks(execute=True):
        image.save()
    assert run_queued_tasks() == 1

    assert {r.name for r in renditions.renditions(image, "full")} == full_before
    card_after = {r.name for r in renditions.renditions(image, "card")}
    assert not card_after & card_before
    files = set(stored_files(media_root))
    assert card_after <= files
    assert not card_before & files


def test_editing_only_the_text_makes_no_new_files(
    media_root, django_assert_num_queries
):
    image = make_image()
    files = stored_files(media_root)
    mtimes = {name: (Path(media_root) / name).stat().st_mtime_ns for name in files}
    image.alt_text = "Another description"
    image.save()
    assert stored_files(media_root) == files
    assert {
        name: (Path(media_root) / name).stat().st_mtime_ns for name in files
    } == mtimes


def test_make_renditions_command_restores_missing_files(media_root):
    image = make_image()
    lost = renditions.renditions(image, "card", "avif")[0].name
    (Path(media_root) / lost).unlink()
    output = io.StringIO()
    call_command("make_renditions", stdout=output)
    assert lost in stored_files(media_root)
    assert output.getvalue().strip().endswith("made 1, images 1, failed 0")


# Alt text and publishing


def article_form_data(**overrides):
    """The admin tests' article form, published, with no topics or links."""
    return admin_article_form_data(
        **{
            "headline": "Snow closes Moscow airports",
            "slug": "snow-closes-moscow-airports",
            "standfirst": "Flights are cancelled.",
            "lead_image": "",
            "status": "published",
            "tags": "",
            "related_links-TOTAL_FORMS": "0",
            **overrides,
        }
    )


def test_article_with_a_lead_image_without_alt_text_cannot_be_published(
    editor_client,
):
    image = make_image(alt_text="")
    response = editor_client.post(
        reverse("admin:articles_article_add"), article_form_data(lead_image=image.pk)
    )
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors["lead_image"] == [
        "The lead image has no alt text: add it on the image (describe what the "
        "photo shows) before publishing."
    ]
    assert not Article.objects.exists()

    response = editor_client.post(
        reverse("admin:articles_article_add"),
        article_form_data(lead_image=image.pk, status="draft"),
    )
    assert response.status_code == 302
    assert Article.objects.get().lead_image == image


def test_article_with_described_lead_image_is_published(editor_client):
    image = make_image(alt_text="Planes under snow at Sheremetyevo")
    response = editor_client.post(
        reverse("admin:articles_article_add"), article_form_data(lead_image=image.pk)
    )
    assert response.status_code == 302
    assert Article.objects.published().get().lead_image == image


def test_model_clean_refuses_publishing_without_alt_text():
    article = make_article(lead_image=make_image(alt_text=""))
    with pytest.raises(ValidationError) as error:
        article.full_clean()
    assert "no alt text" in error.value.message_dict["lead_image"][0]
    article.status = Article.Status.DRAFT
    article.full_clean()


def test_publish_action_skips_articles_whose_lead_image_has_no_alt_text(
    editor_client,
):
    blocked = make_article(
        status=Article.Status.DRAFT,
        published_at=None,
        lead_image=make_image(alt_text=""),
    )
    fine = make_article(status=Article.Status.DRAFT, published_at=None)
    response = editor_client.post(
        reverse("admin:articles_article_changelist"),
        {
            "action": "publish",
            "_selected_action": [blocked.pk, fine.pk],
            "confirm": "yes",
        },
        follow=True,
    )
    assert list(Article.objects.published()) == [fine]
    assert "Not published, the lead image has no alt text: " + blocked.headline in (
        response.content.decode()
    )


def test_alt_text_of_an_image_in_a_published_story_cannot_be_blanked():
    image = make_image()
    make_article(lead_image=image)
    image.alt_text = ""
    with pytest.raises(ValidationError) as error:
        image.full_clean()
    assert "alt_text" in error.value.message_dict


def test_focal_point_needs_both_values():
    image = make_image()
    image.focal_x = 0.3
    with pytest.raises(ValidationError, match="both focal point values"):
        image.full_clean()
    image.focal_y = 1.5
    with pytest.raises(ValidationError) as error:
        image.full_clean()
    assert "focal_y" in error.value.message_dict


# The picture tag


class TagCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def render_tags(source, **context):
    html = Template("{% load pictures %}" + source).render(Context(context))
    collector = TagCollector()
    collector.feed(html)
    return html, collector.tags


def srcset_widths(srcset):
    return [int(entry.rsplit(" ", 1)[1].rstrip("w")) for entry in srcset.split(", ")]


def test_picture_tag_draws_avif_webp_sources_and_a_jpeg_img(client):
    image = make_image(photo_bytes(2000, 1500), alt_text='Snow on "Red" Square <3')
    html, tags = render_tags(
        '{% picture image "full" sizes="(min-width: 50rem) 48rem, 100vw" '
        'fetchpriority="high" class="lead-photo" %}',
        image=image,
    )
    assert [tag for tag, _ in tags] == ["picture", "source", "source", "img"]
    avif, webp, img = tags[1][1], tags[2][1], tags[3][1]
    assert (avif["type"], webp["type"]) == ("image/avif", "image/webp")
    for attrs in (avif, webp, img):
        assert srcset_widths(attrs["srcset"]) == [480, 800, 1200, 1600]
        assert attrs["sizes"] == "(min-width: 50rem) 48rem, 100vw"
    assert img["src"].endswith("-800x600.jpg")
    assert all(
        entry.split(" ")[0].endswith(".jpg") for entry in img["srcset"].split(", ")
    )
    assert (img["width"], img["height"]) == ("1600", "1200")
    assert img["alt"] == 'Snow on "Red" Square <3'
    assert "&lt;3" in html and "&quot;Red&quot;" in html
    assert img["loading"] == "eager"
    assert img["fetchpriority"] == "high"
    assert img["class"] == "lead-photo"
    assert "decoding" not in img
    # Every URL it names is served.
    for entry in [avif["srcset"], webp["srcset"], img["srcset"]]:
        for url in (part.split(" ")[0] for part in entry.split(", ")):
            assert client.get(url).status_code == 200, url


def test_picture_tag_lazy_loads_by_default_and_crops_cards():
    image = make_image(photo_bytes(2000, 1500))
    _, tags = render_tags('{% picture image "card" sizes="20rem" %}', image=image)
    img = tags[-1][1]
    assert img["loading"] == "lazy"
    assert img["decoding"] == "async"
    assert "fetchpriority" not in img
    assert (img["width"], img["height"]) == ("800", "450")
    assert srcset_widths(img["srcset"]) == [480, 800]


def test_picture_tag_alt_override_and_no_image():
    image = make_image()
    _, tags = render_tags('{% picture image alt="" %}', image=image)
    assert tags[-1][1]["alt"] == ""
    html, tags = render_tags("{% picture image %}", image=None)
    assert html.strip() == ""


def test_picture_tag_refuses_a_lazy_lead_image_and_unknown_options():
    image = make_image()
    with pytest.raises(TemplateSyntaxError, match="must not be lazy-loaded"):
        render_tags(
            '{% picture image fetchpriority="high" loading="lazy" %}', image=image
        )
    with pytest.raises(TemplateSyntaxError, match="unknown option"):
        render_tags('{% picture image srcset="x" %}', image=image)
    with pytest.raises(TemplateSyntaxError, match="Unknown rendition spec"):
        render_tags('{% picture image "poster" %}', image=image)


def test_rendition_tag_gives_the_absolute_social_image(settings):
    settings.SITE_URL = "https://news.example.com"
    image = make_image(photo_bytes(2000, 1500))
    html, _ = render_tags(
        '{% rendition image "social" as social %}'
        "{{ social.absolute_url }} {{ social.width }}x{{ social.height }} "
        "{{ social.content_type }}",
        image=image,
    )
    url, size, content_type = html.split()
    assert url.startswith("https://news.example.com/media/images/renditions/")
    assert url.endswith("-1200x630.jpg")
    assert (size, content_type) == ("1200x630", "image/jpeg")


# Serving media


def test_renditions_are_served_with_long_immutable_caching(client):
    image = make_image()
    avif = renditions.largest(image, "full", "avif")
    response = client.get(avif.url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/avif"
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response["X-Content-Type-Options"] == "nosniff"
    body = b"".join(response.streaming_content)
    assert PIL.Image.open(io.BytesIO(body)).format == "AVIF"

    again = client.get(avif.url, HTTP_IF_MODIFIED_SINCE=response["Last-Modified"])
    assert again.status_code == 304
    assert again["Cache-Control"] == "public, max-age=31536000, immutable"


def test_originals_are_served_with_short_caching(client):
    image = make_image()
    response = client.get(image.file.url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "public, max-age=3600"


@pytest.mark.parametrize(
    "path",
    [
        "/media/../secret_key",
        "/media/%2e%2e/secret_key",
        "/media/images/../../secret_key",
        "/media//etc/passwd",
        "/media/notes.txt",
        "/media/.hidden.jpg",
        "/media/images",
        "/media/images/renditions/missing-10x10.jpg",
    ],
)
def test_media_view_serves_nothing_outside_media_or_not_an_image(
    client, media_root, path
):
    (Path(media_root) / "notes.txt").write_text("private")
    (Path(media_root) / ".hidden.jpg").write_bytes(photo_bytes(10, 10))
    (Path(media_root) / "images").mkdir(exist_ok=True)
    (Path(media_root).parent / "secret_key").write_text("private")
    assert client.get(path).status_code == 404


def test_media_view_refuses_to_write(client):
    image = make_image()
    assert client.post(image.file.url).status_code == 405
