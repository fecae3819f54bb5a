from collections import Counter

from django.core.management.base import BaseCommand, CommandError

from articles.bylines import byline_slug
from articles.ingest.formats import expand_paths
from articles.ingest.store import BATCH_SIZE, OUTCOMES, ArticleImporter
from newsroom.sqlite import write_burst

# Runs of at least this many files report progress about ten times.
PROGRESS_FROM_FILES = 100


class Command(BaseCommand):
    help = (
        "Import scraped article text files: headline, standfirst, image caption "
        "and credit, body and related stories, linked to the people and topics "
        "they mention. An article is known by the name of the file it came "
        "from: importing the file again updates it in place, keeping what "
        "editors changed, and skips it if it was deleted. Files are committed "
        "in batches, each file in a savepoint of its own: a file that cannot be "
        "imported leaves nothing behind, is reported on stderr as "
        "'<path>: <reason>', and the exit status is then 1. Symbolic links are "
        "refused, never followed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "paths",
            nargs="+",
            metavar="PATH",
            help="An article file, or a folder whose *.txt files are imported "
            "in name order.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Read every file and report what would be created or updated, "
            "but write nothing.",
        )
        parser.add_argument(
            "--draft",
            action="store_true",
            help="Create new articles as drafts instead of publishing them. "
            "Articles already stored keep their status.",
        )
        parser.add_argument(
            "--new-only",
            action="store_true",
            help="Leave articles that are already stored exactly as they are "
            "(count them unchanged); only add new ones.",
        )
        parser.add_argument(
            "--undelete",
            action="store_true",
            help="Import again the files whose stories were deleted (otherwise "
            "they are skipped), as new stories.",
        )
        parser.add_argument(
            "--byline",
            metavar="NAME",
            help="Credit the stories to this author (created if missing, with a "
            "slug from the name). A stored story is credited only while it has "
            "no author: bylines editors set are left alone.",
        )

        parser.add_argument(
            "--batch-size",
            type=int,
            default=BATCH_SIZE,
            metavar="N",
            help=f"Files per transaction (default {BATCH_SIZE}). Readers see a "
            "batch at a time; an interrupted import loses at most the open "
            "batch, which running it again brings in.",
        )

    def handle(self, *args, **options):
        verbosity = options["verbosity"]
        dry_run = options["dry_run"]
        if options["batch_size"] < 1:
            raise CommandError("--batch-size: give a number of files, at least 1.")
        paths = expand_paths(options["paths"])
        if not paths:
            raise CommandError(
                "Nothing to import: no *.txt files in " + ", ".join(options["paths"])
            )

        byline = options["byline"]
        if byline is not None:
            byline = byline.strip()
            if not byline_slug(byline):
                raise CommandError(
                    f"--byline {options['byline']!r}: give an author's name "
                    "(with letters or digits)."
                )
        importer = ArticleImporter(
            byline=byline,
            draft=options["draft"],
            dry_run=dry_run,
            new_only=options["new_only"],
            undelete=options["undelete"],
            find_unknown_names=verbosity >= 2,
        )
        counts = Counter(dict.fromkeys(OUTCOMES, 0))
        names = Counter()
        progress_every = (
            max(1, len(paths) // 10) if len(paths) >= PROGRESS_FROM_FILES else 0
        )
        with write_burst():
            outcomes = importer.import_paths(paths, batch_size=options["batch_size"])
            for number, result in enumerate(outcomes, start=1):
                path = result.path
                counts[result.outcome] += 1
                if result.outcome == "failed":
                    self.stderr.write(f"{path}: {result.note}")
                else:
                    names.update(result.unknown_names)
                    if verbosity >= 2 and result.article is not None:
                        prefix = "would be " if dry_run else ""
                        self.stdout.write(
                            f"{prefix}{result.outcome}: {path} ({result.article.slug})"
                        )
                    if verbosity >= 1 and result.note:
                        # Not a failure: stdout, and the exit status stays 0.
                        self.stdout.write(f"{path}: {result.note}")
                if verbosity == 1 and progress_every and number % progress_every == 0:
                    self.stdout.write(
                        f"{number}/{len(paths)} files: {_summary(counts)}"
                    )

        if verbosity >= 2 and names:
            self.stdout.write("Capitalised names that match no person:")
            for name, count in sorted(
                names.items(), key=lambda item: (-item[1], item[0])
            ):
                self.stdout.write(f"  {name} ({count})")
        if verbosity >= 1:
            summary = _summary(counts)
            if dry_run:
                summary += " (dry run: nothing was written)"
            style = self.style.ERROR if counts["failed"] else self.style.SUCCESS
            self.stdout.write(summary, style_func=style)
        if counts["failed"]:
            # The summary is already out; a CommandError would add a second
            # message to stderr, where each failed file has exactly one line.
            raise SystemExit(1)


def _summary(counts):
    return ", ".join(f"{outcome} {counts[outcome]}" for outcome in OUTCOMES)
