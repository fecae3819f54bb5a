"""Image renditions: the one place that knows their sizes, formats and names.

A rendition is a resized (and, for fixed ratios, focal-point cropped) copy of an
uploaded image in one format. They are made by a background task after the
image is saved (articles/tasks.py) and stored beside the original; the image
records the names of those stored (`Image.renditions_made`), so pages compute
names and URLs and pick the ones made, with no file access and no image
decoding. Until a spec has any, pages show the original, scaled by the browser.

A rendition's name carries a hash of everything it is made from (the original's
stored name, the spec, the size, the focal point for crops, the encoder
settings), so when any of these changes the name changes: browsers and CDNs may
keep a rendition forever.
"""

import hashlib
import io
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile

from articles.images import ACCEPTED_FORMATS, CONTENT_TYPES

RENDITIONS_FOLDER = "images/renditions/"

# Bump when the way renditions are drawn changes, so every name changes with it.
DRAWING_VERSION = 1


@dataclass(frozen=True)
class Format:
    key: str
    pillow_name: str
    content_type: str
    extension: str
    options: tuple  # Pillow save() keyword arguments, as (name, value) pairs


FORMATS = {
    # AVIF quality 55 and WebP 75 look like JPEG 80 at about half its size.
    "avif": Format("avif", "AVIF", "image/avif", "avif", (("quality", 55),)),
    "webp": Format("webp", "WEBP", "image/webp", "webp", (("quality", 75),)),
    "jpeg": Format(
        "jpeg",
        "JPEG",
        "image/jpeg",
        "jpg",
        (("quality", 80), ("optimize", True), ("progressive", True)),
    ),
}


@dataclass(frozen=True)
class Spec:
    name: str
    widths: tuple
    ratio: tuple | None  # (width, height) of a fixed crop; None keeps the photo's
    formats: tuple


SPECS = {
    # The photo as taken, for the article page.
    "full": Spec("full", (480, 800, 1200, 1600), None, ("avif", "webp", "jpeg")),
    # 16:9 cards on lists, cropped around the focal point.
    "card": Spec("card", (480, 800), (16, 9), ("avif", "webp", "jpeg")),
    # OpenGraph / Twitter: 1200×630 JPEG, which every network reads.
    "social": Spec("social", (1200,), (1200, 630), ("jpeg",)),
}


@dataclass(frozen=True)
class Rendition:
    spec: str
    format: Format
    width: int
    height: int
    name: str  # the storage name
    storage: object

    @property
    def url(self):
        return self.storage.url(self.name)

    @property
    def absolute_url(self):
        """For feeds and social cards: the URL with SITE_URL when it is relative."""
        url = self.url
        return url if "://" in url else settings.SITE_URL + url

    @property
    def content_type(self):
        return self.format.content_type


def focal_point(image):
    """The point to keep in view, (0.5, 0.5) (the centre) unless one was set."""
    if image.focal_x is None or image.focal_y is None:
        return 0.5, 0.5
    return image.focal_x, image.focal_y


def crop_box(width, height, ratio, focal):
    """The largest box of the given ratio, centred on the focal point if it fits."""
    if ratio is None:
        return 0, 0, width, height
    ratio_width, ratio_height = ratio
    crop_width = min(width, round(height * ratio_width / ratio_height))
    crop_height = min(height, round(width * ratio_height / ratio_width))
    left = min(max(round(focal[0] * width - crop_width / 2), 0), width - crop_width)
    top = min(max(round(focal[1] * height - crop_height / 2), 0), height - crop_height)
    return left, top, left + crop_width, top + crop_height


def output_sizes(width, height, spec):
    """Rendition sizes for a photo, smallest first: never wider than the photo."""
    left, top, right, bottom = crop_box(width, height, spec.ratio, (0.5, 0.5))
    crop_width, crop_height = right - left, bottom - top
    sizes = []
    for wanted in spec.widths:
        out_width = min(wanted, crop_width)
        if spec.ratio:
            out_height = round(out_width * spec.ratio[1] / spec.ratio[0])
        else:
            out_height = round(out_width * crop_height / crop_width)
        if (out_width, out_height) not in sizes:
            sizes.append((out_width, out_height))
    return sizes


def rendition_name(image, spec, fmt, size):
    focal = focal_point(image) if spec.ratio else None
    recipe = repr(
        (DRAWING_VERSION, image.file.name, spec, size, focal, fmt.key, fmt.options)
    )
    digest = hashlib.sha256(recipe.encode()).hexdigest()[:16]
    return f"{RENDITIONS_FOLDER}{digest}-{size[0]}x{size[1]}.{fmt.extension}"


def renditions(image, spec_name, format_key=None):
    """The renditions of one spec, smallest first; no file is touched."""
    spec = SPECS[spec_name]
    keys = [format_key] if format_key else spec.formats
    return [
        Rendition(
            spec=spec.name,
            format=FORMATS[key],
            width=size[0],
            height=size[1],
            name=rendition_name(image, spec, FORMATS[key], size),
            storage=image.file.storage,
        )
        for key in keys
        for size in output_sizes(image.width, image.height, spec)
    ]


def made(image, spec_name, format_key=None):
    """The renditions of one spec that are stored already, smallest first."""
    stored = set(image.renditions_made)
    return [r for r in renditions(image, spec_name, format_key) if r.name in stored]


def original(image):
    """The uploaded photo itself, for pages to show until renditions are made."""
    extension = image.file.name.rsplit(".", 1)[-1].lower()
    pillow_name = next(k for k, v in ACCEPTED_FORMATS.items() if v == extension)
    fmt = Format(extension, pillow_name, CONTENT_TYPES[pillow_name], extension, ())
    return Rendition(
        spec="original",
        format=fmt,
        width=image.width,
        height=image.height,
        name=image.file.name,
        storage=image.file.storage,
    )


def best(image, spec_name, format_key, max_width=None):
    """The largest stored rendition (no wider than max_width, if one is), else
    the smallest stored one, else the original: always a file that exists."""
    stored = made(image, spec_name, format_key)
    if not stored:
        return original(image)
    if max_width is None:
        return stored[-1]
    return next((r for r in reversed(stored) if r.width <= max_width), stored[0])


def smallest(image, spec_name, format_key):
    """For thumbnails: the smallest stored rendition, else the original."""
    stored = made(image, spec_name, format_key)
    return stored[0] if stored else original(image)


def largest(image, spec_name, format_key):
    """For social cards, feeds and structured data: the largest stored."""
    return best(image, spec_name, format_key)


def all_renditions(image):
    return [rendition for spec in SPECS for rendition in renditions(image, spec)]


def missing(image):
    """The renditions the image should have and has not recorded as stored."""
    stored = set(image.renditions_made)
    return [r for r in all_renditions(image) if r.name not in stored]


def by_format(planned):
    """Renditions in the order to make them: JPEG first (quickest to encode and
    read by every browser), then WebP, then AVIF (slowest)."""
    order = ("jpeg", "webp", "avif")
    return [
        [r for r in planned if r.format.key == key]
        for key in order
        if any(r.format.key == key for r in planned)
    ]


def stored_names(image):
    """Every file an image has in storage: its original and its renditions."""
    if not image.file:
        return set()
    return {image.file.name} | {r.name for r in all_renditions(image)}


def prepare(source):
    """Pixels ready to resize: RGB, or RGBA when the photo has transparency."""
    has_alpha = source.mode in ("RGBA", "LA", "PA") or "transparency" in source.info
    return source.convert("RGBA" if has_alpha else "RGB")


def encode(picture, fmt, icc_profile):
    import PIL.Image  # only where renditions are made, never in readers' workers

    if fmt.pillow_name == "JPEG" and picture.mode == "RGBA":
        flat = PIL.Image.new("RGB", picture.size, "white")
        flat.paste(picture, mask=picture.getchannel("A"))
        picture = flat
    options = dict(fmt.options)
    if icc_profile:
        options["icc_profile"] = icc_profile
    output = io.BytesIO()
    picture.save(output, fmt.pillow_name, **options)
    return output.getvalue()


def generate(image, wanted=None):
    """Make and store the renditions not in storage yet (of `wanted`, or all of
    the image's); return the names made.

    Each size is resized once from the original and encoded in every format.
    If anything fails, the renditions made by this call are removed again.
    """
    import PIL.Image

    storage = image.file.storage
    wanted = all_renditions(image) if wanted is None else wanted
    missing = [r for r in wanted if not storage.exists(r.name)]
    if not missing:
        return []
    with storage.open(image.file.name, "rb") as original:
        source = PIL.Image.open(original, formats=list(ACCEPTED_FORMATS))
        source.load()
    icc_profile = source.info.get("icc_profile")
    pixels = prepare(source)
    made = []
    resized = {}
    try:
        for rendition in missing:
            spec = SPECS[rendition.spec]
            size = (rendition.width, rendition.height)
            if (spec.name, size) not in resized:
                box = crop_box(
                    image.width, image.height, spec.ratio, focal_point(image)
                )
                resized[(spec.name, size)] = pixels.resize(
                    size, PIL.Image.Resampling.LANCZOS, box=box, reducing_gap=3.0
                )
            content = encode(resized[(spec.name, size)], rendition.format, icc_profile)
            saved = storage.save(rendition.name, ContentFile(content))
            if saved != rendition.name:
                # Another worker stored the same rendition meanwhile (its name
                # says what it holds): keep theirs, not a copy under a new name.
                storage.delete(saved)
                continue
            made.append(saved)
    except BaseException:
        delete(storage, made)
        raise
    return made


def delete(storage, names):
    for name in names:
        storage.delete(name)


def picture_context(
    image,
    spec_name="full",
    sizes="100vw",
    loading=None,
    fetchpriority=None,
    alt=None,
    css_class="",
):
    """What templates/includes/picture.html needs to draw a <picture>."""
    if spec_name not in SPECS:
        raise ValueError(f"Unknown rendition spec {spec_name!r}; use one of {SPECS}.")
    if fetchpriority not in (None, "high", "low", "auto"):
        raise ValueError(
            f"fetchpriority must be high, low or auto, not {fetchpriority!r}."
        )
    if loading is None:
        # The lead image is fetched at once; everything else waits for the scroll.
        loading = "eager" if fetchpriority == "high" else "lazy"
    if loading not in ("lazy", "eager"):
        raise ValueError(f"loading must be lazy or eager, not {loading!r}.")
    if loading == "lazy" and fetchpriority == "high":
        raise ValueError("An image with fetchpriority high must not be lazy-loaded.")
    spec = SPECS[spec_name]

    def srcset(format_key):
        # Only renditions already made: never a link to a file not stored yet.
        return ", ".join(
            f"{r.url} {r.width}w" for r in made(image, spec_name, format_key)
        )

    planned = renditions(image, spec_name, spec.formats[-1])
    # src, for browsers without srcset: the largest no wider than 800 px, or
    # the original while no rendition of this spec is made.
    src = best(image, spec_name, spec.formats[-1], max_width=800)
    sources = [
        {"type": FORMATS[key].content_type, "srcset": srcset(key)}
        for key in spec.formats[:-1]
    ]
    return {
        "sources": [source for source in sources if source["srcset"]],
        "src": src.url,
        "srcset": srcset(spec.formats[-1]),
        "sizes": sizes,
        # The largest rendition's size gives the browser the aspect ratio, so
        # the page does not shift when the photo arrives.
        "width": planned[-1].width,
        "height": planned[-1].height,
        "alt": image.alt_text if alt is None else alt,
        "loading": loading,
        "fetchpriority": fetchpriority,
        "css_class": css_class,
    }
