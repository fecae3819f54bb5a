from django.core.management.base import BaseCommand, CommandError

from newsroom.backups import BackupError, write_backup


class Command(BaseCommand):
    help = (
        "Write one archive (tar.gz) holding a consistent copy of the database "
        "and every media file, with a manifest of what it holds. Safe while the "
        "site serves and imports run. Restore it with `manage.py restore`."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "destination",
            metavar="DEST",
            help="A new archive file, or a folder to write "
            "newsroom-YYYYMMDD-HHMMSS.tar.gz into.",
        )
        parser.add_argument(
            "--keep",
            type=int,
            metavar="N",
            help="With a folder: then delete all but its newest N archives.",
        )
        parser.add_argument("--database", default="default")

    def handle(self, *args, **options):
        if options["keep"] is not None and options["keep"] < 1:
            raise CommandError("--keep must be at least 1")
        try:
            archive, manifest = write_backup(
                options["destination"], options["database"], keep=options["keep"]
            )
        except BackupError as error:
            raise CommandError(str(error)) from None
        if options["verbosity"] >= 1:
            self.stdout.write(
                self.style.SUCCESS(f"wrote {archive}: {describe(manifest)}")
            )


def describe(manifest):
    """12 stories, 5 people, ... 9 media files: what an archive holds."""
    held = [f"{count} {name}" for name, count in manifest["counts"].items()]
    if "media" in manifest:
        held.append(f"{manifest['media']['files']} media files")
    return ", ".join(held)
