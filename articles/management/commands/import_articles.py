import signal
import threading
from collections import Counter
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from articles.bylines import byline_slug
from articles.ingest.formats import expand_paths
from articles.ingest.runs import COMMAND, run_import
from articles.ingest.store import BATCH_SIZE, OUTCOMES
from articles.ingest.watch import FolderWatcher

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
        "refused, never followed. Each run is recorded (Import runs in the "
        "admin). With --watch, a folder is watched instead: files are imported "
        "as they arrive, until SIGTERM."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "paths",
            nargs="*",
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
            "--watch",
            metavar="DIR",
            help="Keep running, importing the *.txt files (with their photos) "
            "that arrive in DIR once they stop changing; each moves to "
            "DIR/imported/ or, refused, to DIR/failed/ beside <name>.error. "
            "SIGTERM or Ctrl-C stops after the open batch (at most 10 files).",
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=2.0,
            metavar="SECONDS",
            help="With --watch: how often to look in the folder (default 2). A "
            "file is imported once it is the same in two looks in a row.",
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
        if options["watch"]:
            return self.watch(options)
        if not options["paths"]:
            raise CommandError("Give the files or folders to import, or --watch DIR.")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size: give a number of files, at least 1.")
        paths = expand_paths(options["paths"])
        if not paths:
            raise CommandError(
                "Nothing to import: no *.txt files in " + ", ".join(options["paths"])
            )

        counts = Counter(dict.fromkeys(OUTCOMES, 0))
        names = Counter()
        progress_every = (
            max(1, len(paths) // 10) if len(paths) >= PROGRESS_FROM_FILES else 0
        )

        def report(done):
            self._report(done, counts, names, verbosity, dry_run)
            number = sum(counts.values())
            if verbosity == 1 and progress_every and number % progress_every == 0:
                self.stdout.write(f"{number}/{len(paths)} files: {_summary(counts)}")

        run_import(
            paths,
            options=self._importer_options(options),
            started_by=COMMAND,
            on_file=report,
            batch_size=options["batch_size"],
            # A process of its own: many files are read in a second one.
            read_ahead=True,
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

    def _importer_options(self, options):
        byline = options["byline"]
        if byline is not None:
            byline = byline.strip()
            if not byline_slug(byline):
                raise CommandError(
                    f"--byline {options['byline']!r}: give an author's name "
                    "(with letters or digits)."
                )
        return {
            "byline": byline,
            "draft": options["draft"],
            "dry_run": options["dry_run"],
            "new_only": options["new_only"],
            "undelete": options["undelete"],
            "find_unknown_names": options["verbosity"] >= 2,
        }

    def _report(self, done, counts, names, verbosity, dry_run):
        """One file's outcome on stdout, or its refusal on stderr."""
        path, result = done.path, done.result
        counts[result.outcome] += 1
        if result.outcome == "failed":
            self.stderr.write(f"{path}: {result.note}")
            return
        names.update(result.unknown_names)
        if verbosity >= 2 and result.article is not None:
            prefix = "would be " if dry_run else ""
            self.stdout.write(
                f"{prefix}{result.outcome}: {path} ({result.article.slug})"
            )
        if verbosity >= 1 and result.note:
            # Not a failure: stdout, and the exit status stays 0.
            self.stdout.write(f"{path}: {result.note}")

    def watch(self, options):
        """--watch DIR: import what arrives until SIGTERM or SIGINT."""
        folder = Path(options["watch"])
        if options["paths"]:
            raise CommandError("--watch DIR takes no other paths.")
        if options["dry_run"]:
            raise CommandError("--watch cannot be a dry run: it moves the files.")
        if not folder.is_dir():
            raise CommandError(f"--watch {folder}: not a folder.")
        if options["interval"] <= 0:
            raise CommandError("--interval: give a number of seconds above 0.")
        stop = threading.Event()

        def stop_after_the_open_file(signum, frame):
            stop.set()

        previous = {
            signum: signal.signal(signum, stop_after_the_open_file)
            for signum in (signal.SIGTERM, signal.SIGINT)
        }
        counts, names = Counter(dict.fromkeys(OUTCOMES, 0)), Counter()
        verbosity = options["verbosity"]
        if verbosity >= 1:
            self.stdout.write(f"Watching {folder} (SIGTERM or Ctrl-C stops).")
        try:
            FolderWatcher(
                folder,
                options=self._importer_options(options),
                stop=stop,
                on_file=lambda done: self._report(
                    done, counts, names, verbosity, False
                ),
            ).watch(options["interval"])
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        if verbosity >= 1:
            self.stdout.write(f"Stopped watching {folder}: {_summary(counts)}")


def _summary(counts):
    return ", ".join(f"{outcome} {counts[outcome]}" for outcome in OUTCOMES)
