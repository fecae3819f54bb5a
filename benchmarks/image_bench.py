"""Time to store a 12-megapixel photo and make all its renditions.

    .venv/bin/python benchmarks/image_bench.py [--runs 3]

Generates a 4000×3000 JPEG with photo-like content (smooth gradients, soft
shapes, fine detail and sensor grain, so encoders work as on a real photo),
then times, like an upload does: checking and cleaning the original
(articles.images.clean_upload) and making every rendition
(articles.renditions.generate) into a temporary folder. Prints the median of
the runs and the size of each rendition.
"""

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import django  # noqa: E402
import PIL  # noqa: E402
import PIL.Image  # noqa: E402
from django.conf import settings  # noqa: E402
from PIL import ImageDraw, ImageFilter, features  # noqa: E402

WIDTH, HEIGHT = 4000, 3000


def realistic_photo():
    """A 12-megapixel camera-like JPEG, made the same way on every run."""
    sky = PIL.Image.linear_gradient("L").resize((WIDTH, HEIGHT))
    warm = PIL.Image.radial_gradient("L").resize((WIDTH, HEIGHT))
    photo = PIL.Image.merge("RGB", (warm, sky, sky.point(lambda v: 255 - v // 2)))
    shapes = ImageDraw.Draw(photo)
    for i in range(40):  # buildings, people, objects: hard and soft edges
        x, y = (i * 977) % WIDTH, (i * 613) % HEIGHT
        colour = ((i * 53) % 256, (i * 91) % 256, (i * 37) % 256)
        shapes.rectangle((x, y, x + 200 + i * 9, y + 120 + i * 7), fill=colour)
        shapes.ellipse((y, x % HEIGHT, y + 300, x % HEIGHT + 180), fill=colour[::-1])
    photo = photo.filter(ImageFilter.GaussianBlur(3))
    detail = PIL.Image.effect_mandelbrot(
        (WIDTH // 2, HEIGHT // 2), (-0.75, 0.05, -0.70, 0.1), 200
    ).convert("RGB")
    photo.paste(detail, (WIDTH // 2, HEIGHT // 2))  # foliage-like fine texture
    grain = PIL.Image.effect_noise((WIDTH, HEIGHT), 24).convert("RGB")
    photo = PIL.Image.blend(photo, grain, 0.08)  # sensor noise
    output = io.BytesIO()
    photo.save(output, "JPEG", quality=92)
    return output.getvalue()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    media = tempfile.TemporaryDirectory(prefix="image-bench-")
    settings.configure(MEDIA_ROOT=media.name, MEDIA_URL="/media/")
    django.setup()
    from django.core.files.base import ContentFile
    from django.core.files.storage import FileSystemStorage

    from articles import renditions
    from articles.images import clean_upload

    storage = FileSystemStorage()
    upload = realistic_photo()
    print(f"Pillow {PIL.__version__}, AVIF {features.version('avif')}, ", end="")
    print(f"WebP {features.version('webp')}, JPEG {features.version('jpg')}")
    print(f"source: {WIDTH}×{HEIGHT} JPEG, {len(upload) / 1e6:.1f} MB")

    clean_times, rendition_times, rendition_cpu = [], [], []
    for run in range(args.runs):
        started = time.perf_counter()
        cleaned = clean_upload(ContentFile(upload, name="photo.jpg"))
        clean_times.append(time.perf_counter() - started)
        name = storage.save(
            f"images/originals/{run}-{cleaned.name}", ContentFile(cleaned.content)
        )
        image = SimpleNamespace(
            file=SimpleNamespace(name=name, storage=storage),
            width=cleaned.width,
            height=cleaned.height,
            focal_x=0.6,
            focal_y=0.4,
        )
        started, cpu_started = time.perf_counter(), time.process_time()
        made = renditions.generate(image)
        rendition_times.append(time.perf_counter() - started)
        # CPU seconds of all the process's threads: steadier than wall time on a
        # machine other work shares.
        rendition_cpu.append(time.process_time() - cpu_started)

    print(
        f"check and clean the original (strip GPS, re-encode): "
        f"{statistics.median(clean_times):.2f} s (median of {args.runs})"
    )
    print(
        f"make all {len(made)} renditions: "
        f"{statistics.median(rendition_times):.2f} s (median of {args.runs}; "
        f"runs {', '.join(f'{t:.2f}' for t in rendition_times)})"
    )
    print(
        f"  CPU time for the renditions: {statistics.median(rendition_cpu):.2f} s "
        f"(all threads; wall time above includes waiting for a busy machine)"
    )
    total = statistics.median(clean_times) + statistics.median(rendition_times)
    print(f"upload total: {total:.2f} s")
    for rendition in renditions.all_renditions(image):
        size = storage.size(rendition.name)
        print(
            f"  {rendition.spec:<6} {rendition.width:>4}×{rendition.height:<4} "
            f"{rendition.format.key:<4} {size / 1024:7.1f} KB"
        )
    media.cleanup()


if __name__ == "__main__":
    main()
