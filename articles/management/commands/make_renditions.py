from django.core.management.base import BaseCommand

from articles import renditions
from articles.models import Image
from articles.tasks import record_renditions


class Command(BaseCommand):
    help = (
        "Make every image rendition not in storage yet: after renditions.SPECS "
        "changes, or when files were lost, without waiting for a worker. Existing "
        "renditions are left alone."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Count the missing renditions without making them.",
        )

    def handle(self, *args, dry_run=False, verbosity=1, **options):
        made = failed = images = 0
        for image in Image.objects.order_by("pk").iterator():
            images += 1
            storage = image.file.storage
            missing = [
                r.name
                for r in renditions.all_renditions(image)
                if not storage.exists(r.name)
            ]
            if dry_run or not (missing or renditions.missing(image)):
                made += len(missing)
                continue
            try:
                made += len(renditions.generate(image))
                # Pages show them from now on (also those a worker had made
                # but not recorded yet).
                record_renditions(
                    image, [r.name for r in renditions.all_renditions(image)]
                )
            except Exception as error:  # one bad file must not stop the rest
                failed += 1
                self.stderr.write(self.style.ERROR(f"{image.file.name}: {error}"))
                continue
            if verbosity >= 2:
                self.stdout.write(f"{image.file.name}: made {len(missing)}")
        summary = f"made {made}, images {images}, failed {failed}"
        if dry_run:
            summary = f"missing {made}, images {images} (dry run)"
        self.stdout.write(self.style.SUCCESS(summary) if not failed else summary)
