from django.core.management.base import BaseCommand, CommandError

from articles.ingest.formats import ImportRefused
from articles.ingest.vocabulary import load_vocabulary_fixture


class Command(BaseCommand):
    help = (
        "Add the people and topics of Django fixture files that the database "
        "does not hold yet (none with the same slug or name). Those already "
        "there are left as editors made them, so running it again is safe, "
        "unlike loaddata, which overwrites rows with the fixture's values."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "fixtures",
            nargs="+",
            metavar="FIXTURE",
            help="A JSON fixture of articles.person or articles.topic objects.",
        )

    def handle(self, *args, **options):
        for path in options["fixtures"]:
            try:
                added, kept = load_vocabulary_fixture(path)
            except ImportRefused as refusal:
                raise CommandError(f"{path}: {refusal}") from None
            if options["verbosity"] >= 1:
                self.stdout.write(f"{path}: added {added}, kept {kept}")
