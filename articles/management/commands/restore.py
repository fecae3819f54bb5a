from django.core.management.base import BaseCommand, CommandError

from articles.management.commands.backup import describe
from newsroom.backups import BackupError, restore_backup


class Command(BaseCommand):
    help = (
        "Restore an archive written by `manage.py backup` into an empty database "
        "and an empty media folder (or bucket). --force replaces what they hold. "
        "Pages cached from the database it replaces are not served again."
    )

    def add_arguments(self, parser):
        parser.add_argument("source", metavar="SRC", help="The archive to restore.")
        parser.add_argument(
            "--force",
            action="store_true",
            help="Replace a database and media that are not empty.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Check the archive and the targets; change nothing.",
        )
        parser.add_argument("--database", default="default")

    def handle(self, *args, **options):
        try:
            manifest, pending = restore_backup(
                options["source"],
                options["database"],
                force=options["force"],
                dry_run=options["dry_run"],
            )
        except BackupError as error:
            raise CommandError(str(error)) from None
        verb = "would restore" if options["dry_run"] else "restored"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} {options['source']} (made {manifest['created_at']}): "
                f"{describe(manifest)}"
            )
        )
        if pending:
            self.stdout.write(
                f"{pending} migrations to apply: run `manage.py migrate` next"
            )
