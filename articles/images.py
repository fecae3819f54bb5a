"""Checking and cleaning an uploaded photo before anything of it is stored.

Every way a photo arrives (admin upload, importer, code) goes through
`check_upload` (as the model field's validator) and `clean_upload` (in
`Image.save`), so the limits and the removal of location data hold for all.

Pillow is imported by the functions that decode, not with the module: reader
processes, which only name renditions, never load it.
"""

import hashlib
import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError

# The site's one upload limit (NEWSROOM_UPLOAD_MAX_MB), which nginx shares.
MAX_UPLOAD_BYTES = settings.UPLOAD_MAX_BYTES
MAX_PIXELS = 40_000_000

# Pillow format -> file extension of the stored original. Only these decoders are
# ever tried, so no upload reaches Pillow's riskier plugins (EPS, PSD, ...).
ACCEPTED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "AVIF": "avif"}
ACCEPTED_NAMES = "JPEG, PNG, WebP or AVIF"
# Pillow format -> the stored original's content type.
CONTENT_TYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "AVIF": "image/avif",
}

# The only EXIF a stored original keeps: who made it and what it shows. GPS,
# camera serial numbers, maker notes and the rest never leave the upload.
# Their names in PIL.ExifTags.Base.
KEPT_EXIF_TAGS = ("Artist", "Copyright", "ImageDescription")

# Encoder settings for the stored original: close to the upload, which is
# re-encoded only so that no location data survives.
ORIGINAL_SAVE_OPTIONS = {
    "JPEG": {"quality": 92},
    "PNG": {},
    "WEBP": {"quality": 90},
    "AVIF": {"quality": 90},
}


@dataclass(frozen=True)
class CleanedUpload:
    content: bytes
    extension: str
    width: int
    height: int
    checksum: str  # sha256 of the bytes as uploaded

    @property
    def name(self):
        return f"{self.checksum[:20]}.{self.extension}"


def megabytes(size):
    return f"{size / 1024 / 1024:.1f} MB"


def read_upload(file):
    """The uploaded bytes, refusing files over the size limit before reading them."""
    limit = settings.UPLOAD_MAX_BYTES  # read now: the one limit nginx shares
    size = getattr(file, "size", None)
    if size is not None and size > limit:
        raise ValidationError(
            f"The file is {megabytes(size)}; the limit is {limit // 1024 // 1024} MB.",
            code="file_too_big",
        )
    file.seek(0)
    data = file.read(limit + 1)
    file.seek(0)
    if len(data) > limit:
        raise ValidationError(
            f"The file is over the {limit // 1024 // 1024} MB limit.",
            code="file_too_big",
        )
    return data


def decode(data, name=""):
    """Decode image bytes fully with Pillow, or raise a one-line ValidationError."""
    import PIL.Image

    head = data[:1024].lstrip().lower()
    if name.lower().endswith((".svg", ".svgz")) or b"<svg" in head:
        raise ValidationError(
            f"SVG images are not accepted; upload a {ACCEPTED_NAMES} photo.",
            code="svg",
        )
    with warnings.catch_warnings():
        # Pillow only warns between its limit and twice it; refuse those too.
        warnings.simplefilter("error", PIL.Image.DecompressionBombWarning)
        try:
            image = PIL.Image.open(io.BytesIO(data), formats=list(ACCEPTED_FORMATS))
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise ValidationError(
                    f"The image is {width}×{height} pixels "
                    f"({width * height / 1_000_000:.1f} megapixels); the limit is "
                    f"{MAX_PIXELS // 1_000_000} megapixels.",
                    code="too_many_pixels",
                )
            image.load()
        except (PIL.Image.DecompressionBombError, PIL.Image.DecompressionBombWarning):
            raise ValidationError(
                "The image declares far more pixels than its file size allows "
                f"(a decompression bomb); the limit is {MAX_PIXELS // 1_000_000} "
                "megapixels.",
                code="decompression_bomb",
            ) from None
        except PIL.UnidentifiedImageError:
            raise ValidationError(
                f"The file is not a {ACCEPTED_NAMES} image.", code="not_an_image"
            ) from None
        except (OSError, SyntaxError, ValueError, EOFError) as error:
            raise ValidationError(
                f"The image could not be read (damaged or cut short): {error}.",
                code="unreadable_image",
            ) from None
    return image


def check_upload(file):
    """Model field validator: the same checks as storing, without storing."""
    if getattr(file, "_committed", False):
        return  # already stored, so already checked and cleaned: not fetched again
    decode(read_upload(file), getattr(file, "name", "") or "").close()


def kept_exif(image):
    import PIL.Image
    from PIL.ExifTags import Base

    source = image.getexif()
    kept = PIL.Image.Exif()
    for tag in (Base[name] for name in KEPT_EXIF_TAGS):
        if tag in source:
            kept[tag] = source[tag]
    return kept


def web_mode(image, fmt):
    """Convert to a pixel mode the target format stores as a browser expects."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if fmt == "JPEG":
        return image if image.mode in ("RGB", "L") else image.convert("RGB")
    if fmt == "PNG" and image.mode in ("1", "L", "LA", "P", "RGB", "RGBA"):
        return image
    return image.convert("RGBA" if has_alpha else "RGB")


def clean_upload(file):
    """The bytes to store: upright, location-free, in the uploaded format."""
    from PIL import ImageOps

    data = read_upload(file)
    image = decode(data, getattr(file, "name", "") or "")
    fmt = image.format
    exif = kept_exif(image)
    icc_profile = image.info.get("icc_profile")
    upright = web_mode(ImageOps.exif_transpose(image), fmt)
    # Nothing from the upload's own metadata (EXIF, XMP, text chunks) is carried
    # over except what is passed explicitly below.
    upright.info = {}
    options = dict(ORIGINAL_SAVE_OPTIONS[fmt])
    if icc_profile:
        options["icc_profile"] = icc_profile
    if len(exif):
        options["exif"] = exif.tobytes()
    output = io.BytesIO()
    upright.save(output, fmt, **options)
    return CleanedUpload(
        content=output.getvalue(),
        extension=ACCEPTED_FORMATS[fmt],
        width=upright.width,
        height=upright.height,
        checksum=hashlib.sha256(data).hexdigest(),
    )
