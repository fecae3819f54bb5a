"""Time to store a 12-megapixel photo and make all its renditions, and the
bytes the seed article page with that photo transfers at 375 and 1280 px.

    .venv/bin/python benchmarks/image_bench.py [--runs 3] [--no-page-weight]

Generates a 4000×3000 JPEG with photo-like content (smooth gradients, soft
shapes, fine detail and sensor grain, so encoders work as on a real photo),
then times, like an upload does: checking and cleaning the original
(articles.images.clean_upload) and making every rendition
(articles.renditions.generate) into a temporary folder. Prints the median of
the runs and the size of each rendition.

Then, in a child process with the site's own settings (test settings, a
throwaway SQLite database and media folder): times the admin's upload request
for the same photo as an Editors member makes it (it now stores the original
and enqueues the renditions), and the queued task a worker then runs. In
another: imports the seed article with
the photo beside it, serves the site on a free loopback port and loads the
article in headless Chromium (Playwright, /usr/bin/chromium) at each width,
summing the transfer sizes of the document, CSS and images, as
tests/browser/test_page_weight.py does.
"""

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
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
    parser.add_argument("--no-page-weight", action="store_true")
    parser.add_argument("--page-weight-only", action="store_true", help="internal")
    parser.add_argument("--upload-only", action="store_true", help="internal")
    args = parser.parse_args()
    if args.page_weight_only:
        return page_weights()
    if args.upload_only:
        return upload_request(args.runs)

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
    print(f"upload total with the renditions inside it (before #21): {total:.2f} s")
    for rendition in renditions.all_renditions(image):
        size = storage.size(rendition.name)
        print(
            f"  {rendition.spec:<6} {rendition.width:>4}×{rendition.height:<4} "
            f"{rendition.format.key:<4} {size / 1024:7.1f} KB"
        )
    media.cleanup()
    sys.stdout.flush()
    subprocess.run(
        [sys.executable, __file__, "--upload-only", "--runs", str(args.runs)],
        check=True,
    )
    if not args.no_page_weight:
        # Django is configured for the renditions alone here; the site runs
        # in a process of its own.
        sys.stdout.flush()
        subprocess.run([sys.executable, __file__, "--page-weight-only"], check=True)


def upload_request(runs):
    """The admin's add-photo request, timed end to end through Django (the
    test client: no network), then the task it enqueued, run as a worker does."""
    folder = Path(tempfile.mkdtemp(prefix="upload-request-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "newsroom.test_settings"
    os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'db.sqlite3'}"
    os.environ["MEDIA_ROOT"] = str(folder / "media")
    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse
    from django_tasks_db.models import DBTaskResult

    from articles.models import Image
    from articles.tasks import make_renditions

    try:
        call_command("migrate", verbosity=0)
        editor = User.objects.create_user("editor", is_staff=True)
        editor.groups.add(Group.objects.get(name="Editors"))
        client = Client(HTTP_HOST="127.0.0.1")  # one of the default ALLOWED_HOSTS
        client.force_login(editor)
        add_url = reverse("admin:articles_image_add")
        photo = realistic_photo()
        request_times, request_cpu, task_times = [], [], []
        for run in range(runs):
            # A different photo each run: the library keeps one copy of each.
            content = photo + bytes([run])
            started, cpu_started = time.perf_counter(), time.process_time()
            response = client.post(
                add_url,
                {
                    "file": SimpleUploadedFile("photo.jpg", content, "image/jpeg"),
                    "alt_text": "A benchmark photo",
                },
            )
            request_times.append(time.perf_counter() - started)
            request_cpu.append(time.process_time() - cpu_started)
            assert response.status_code == 302, response.content[:500]
            image = Image.objects.latest("pk")
            assert DBTaskResult.objects.ready().count() == 1
            DBTaskResult.objects.all().delete()
            started = time.perf_counter()
            make_renditions.call(image.pk)
            task_times.append(time.perf_counter() - started)
        print(
            f"admin upload request, renditions left to a worker: "
            f"{statistics.median(request_times):.2f} s (median of {runs}; runs "
            f"{', '.join(f'{t:.2f}' for t in request_times)}; CPU "
            f"{statistics.median(request_cpu):.2f} s)"
        )
        print(
            f"  then the worker's task (every rendition, recorded): "
            f"{statistics.median(task_times):.2f} s"
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


WIDTHS = [(375, 812), (1280, 900)]


def page_weights():
    """Serve the seed article with its photo and weigh it in Chromium."""
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    folder = Path(tempfile.mkdtemp(prefix="page-weight-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "newsroom.test_settings"
    os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'db.sqlite3'}"
    os.environ["MEDIA_ROOT"] = str(folder / "media")

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = make_server("127.0.0.1", 0, lambda e, s: app(e, s), handler_class=Quiet)
    site = f"http://127.0.0.1:{server.server_port}"
    os.environ["SITE_URL"] = site
    django.setup()
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM
    from tests.browser.test_page_weight import import_seed_with_photo, measure

    call_command("migrate", verbosity=0)
    article = import_seed_with_photo(folder)
    app = get_wsgi_application()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # As tests/browser/conftest.py: Debian's Chromium, no calls to Google.
    launch = {
        "executable_path": str(CHROMIUM),
        "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    }
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(**launch)
            for width, height in WIDTHS:
                # A fresh context each time: nothing comes from the cache.
                page = browser.new_context(base_url=site).new_page()
                result = measure(
                    page, article.get_absolute_url(), {"width": width, "height": height}
                )
                parts = {"document": result["document"]}
                for resource in result["resources"]:
                    kind = "image" if "/media/" in resource["url"] else "css"
                    if resource["url"].endswith((".css", ".avif", ".webp", ".jpg")):
                        parts[kind] = parts.get(kind, 0) + resource["bytes"]
                print(
                    f"seed article page at {width} px: {result['total'] / 1024:.1f} KB"
                    f" transferred ("
                    + ", ".join(f"{k} {v / 1024:.1f} KB" for k, v in parts.items())
                    + f"; lead image {result['lead']['currentSrc'].rsplit('/', 1)[-1]}"
                    f", layout shift {result['shift']})"
                )
                page.context.close()
            browser.close()
    finally:
        server.shutdown()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
