"""Import runs: every import (the command, the watched folder, an upload from the
admin) is an ImportRun, with one ImportRunFile per file and its outcome.

`run_import` is the one place that calls the importer for a list of files and
records what became of each; the command, the watcher and the background task of
uploads all go through it.
"""

import gc
import os
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from articles.models import Article
from newsroom.sqlite import write_burst

COMMAND = "command"
WATCH_PREFIX = "watch: "
# A running run that has not recorded a batch for this long has stopped: its
# process was killed (a batch of 200 files with photos takes minutes, not this).
STOPPED_AFTER = timedelta(minutes=30)


class ImportRun(models.Model):
    class State(models.TextChoices):
        DRY_RUN = "dry_run", "dry run, waiting for confirmation"
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        FINISHED = "finished", "finished"

    started_by = models.CharField(
        max_length=300,
        help_text='Who or what started the run: a user name, "command", or '
        '"watch: " and the watched folder.',
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The editor who uploaded the files; empty for the command.",
    )
    started_at = models.DateTimeField(
        default=timezone.now, help_text="When the run was started (or uploaded)."
    )
    finished_at = models.DateTimeField(
        null=True, blank=True, help_text="When its last file was done."
    )
    state = models.CharField(
        max_length=20, choices=State, default=State.RUNNING, db_index=True
    )
    options = models.JSONField(
        default=dict, blank=True, help_text="The importer's options for this run."
    )
    total = models.PositiveIntegerField(
        default=0, help_text="How many story files the run has."
    )
    counts = models.JSONField(
        default=dict,
        blank=True,
        help_text="Files per outcome; moves as each file is done.",
    )
    updated_at = models.DateTimeField(
        auto_now=True, help_text="When the run last recorded its progress."
    )

    class Meta:
        ordering = ["-started_at", "-id"]
        permissions = [("import_stories", "Can import stories from files")]

    def __str__(self):
        return f"Import run {self.pk} by {self.started_by}"

    def get_absolute_url(self):
        return reverse("admin:articles_importrun_change", args=[self.pk])

    @property
    def stopped(self):
        """Whether it was left running by a process that was killed."""
        return (
            self.state == self.State.RUNNING
            and timezone.now() - self.updated_at > STOPPED_AFTER
        )

    @property
    def state_shown(self):
        if self.stopped:
            since = timezone.localtime(self.updated_at).strftime("%Y-%m-%d %H:%M")
            return f"stopped (no progress since {since}): import its files again"
        return self.get_state_display()

    @property
    def done(self):
        return sum(self.counts.values())

    @property
    def failed(self):
        return self.counts.get(ImportRunFile.Outcome.FAILED, 0)


class ImportRunFile(models.Model):
    class Outcome(models.TextChoices):
        CREATED = "created", "created"
        UPDATED = "updated", "updated"
        UNCHANGED = "unchanged", "unchanged"
        PENDING = "pending", "held as a pending wire update"
        SKIPPED = "skipped", "skipped"
        FAILED = "failed", "refused"

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="files")
    name = models.CharField(max_length=255, help_text="The file's name.")
    outcome = models.CharField(max_length=20, choices=Outcome, db_index=True)
    note = models.CharField(
        max_length=500,
        blank=True,
        help_text="Why it was refused or skipped, or which fields wait for an editor.",
    )
    article = models.ForeignKey(
        Article,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="import_run_files",
        help_text="The story the file made or changed (or would have, in a dry run).",
    )

    class Meta:
        ordering = ["run", "id"]
        verbose_name = "imported file"

    def __str__(self):
        return self.name

    # What a dry run says it would do.
    WOULD = {
        Outcome.CREATED: "would create",
        Outcome.UPDATED: "would update",
        Outcome.UNCHANGED: "would leave unchanged",
        Outcome.PENDING: "would hold as a pending wire update",
        Outcome.SKIPPED: "would skip",
        Outcome.FAILED: "would refuse",
    }

    @property
    def planned(self):
        return self.WOULD[self.outcome]


# The outcomes of a file that made or changed its story (or its wire update).
TOUCHED = [
    ImportRunFile.Outcome.CREATED,
    ImportRunFile.Outcome.UPDATED,
    ImportRunFile.Outcome.PENDING,
]


@dataclass
class FileDone:
    """One file's outcome, as run_import hands it to its caller."""

    path: object
    row: ImportRunFile
    result: object  # the importer's FileOutcome


def run_import(
    paths,
    *,
    options,
    started_by,
    run=None,
    on_file=None,
    stop=None,
    batch_size=None,
    read_ahead=False,
):
    """Import these files with the importer's `options`, recording each outcome
    on `run` (a new ImportRun started by `started_by` when None); returns the run.

    `read_ahead`: many files may be read in a forked second process
    (reading.py). Only for a process of its own (the command, a task worker),
    never a web worker: forking a process whose other threads hold locks can
    leave the copy waiting for ever.

    Files are stored in batches (articles/ingest/store.py); each batch's file
    records commit with its stories. `on_file(FileDone)` is called for each file
    once its batch has committed; `stop()` is asked before each batch, so that a
    run asked to stop finishes the open batch and no more.
    """
    # Imported here: the importer needs the models, which import this module.
    from articles.ingest.store import BATCH_SIZE, ArticleImporter

    dry_run = options.get("dry_run", False)
    # A dry run of the command writes nothing, not even its record; an upload's
    # dry run is recorded on the upload's run, for the editor to confirm.
    record = run is not None or not dry_run
    if run is None:
        run = ImportRun(started_by=started_by, options=options, total=len(paths))
    run.state = ImportRun.State.DRY_RUN if dry_run else ImportRun.State.RUNNING
    if record:
        run.save()
    importer = ArticleImporter(**options)
    batch_size = batch_size or BATCH_SIZE
    rows = {}

    def record_batch(outcomes):
        batch = [_file_row(run, outcome, dry_run) for outcome in outcomes]
        for outcome, row in zip(outcomes, batch, strict=True):
            rows[id(outcome)] = row
            run.counts[row.outcome] = run.counts.get(row.outcome, 0) + 1
        if record:
            ImportRunFile.objects.bulk_create(batch)
            run.save(update_fields=["counts", "updated_at"])

    try:
        # The reading process is forked first, before write_burst's thread.
        with (
            _collecting_only_new_objects(),
            importer.reading_ahead(paths if read_ahead else []),
            write_burst(),
        ):
            for start in range(0, len(paths), batch_size):
                if stop is not None and stop():
                    break
                batch = paths[start : start + batch_size]
                # A dry run's batch rolls back: its records are written after.
                outcomes = importer.import_batch(
                    batch, on_stored=None if dry_run else record_batch
                )
                collect_batch()
                if dry_run:
                    record_batch(outcomes)
                for outcome in outcomes:
                    if on_file is not None:
                        on_file(FileDone(outcome.path, rows[id(outcome)], outcome))
    finally:
        if record and not dry_run:
            run.state = ImportRun.State.FINISHED
            run.finished_at = timezone.now()
            run.save(update_fields=["state", "finished_at", "updated_at"])
    return run


@contextmanager
def _collecting_only_new_objects():
    """Inside, the garbage collector leaves alone all that was loaded before
    (Django, and the importer's indexes of every stored story): its passes
    over them cost an import of new stories a third of its time (measured
    with benchmarks/import_bench.py). Nor does it run on its own: each batch
    leaves a generation of objects (models, outcomes, revisions' text) whose
    allocations would start a collection every few files, and older ones,
    that go over everything the run made so far; the caller collects the
    young ones once per batch (collect_batch). A long-lived worker collects
    as usual afterwards."""
    enabled = gc.isenabled()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        gc.unfreeze()


def collect_batch():
    """What the collector would have freed of a batch: its reference cycles."""
    gc.collect(1)


def _file_row(run, result, dry_run):
    outcome, note, article = _recorded(result)
    return ImportRunFile(
        run=run,
        name=os.path.basename(result.path),
        outcome=outcome,
        note=note[:500],
        # A dry run's new story was never stored.
        article=None if dry_run else article,
    )


def _recorded(result):
    outcome = result.outcome
    if result.held_for_editor:
        outcome = ImportRunFile.Outcome.PENDING
    return outcome, result.note, result.article


def last_import_of(article):
    """The latest recorded file that made or changed this story, or None."""
    return (
        ImportRunFile.objects.filter(article=article, outcome__in=TOUCHED)
        .select_related("run")
        .order_by("-run__started_at", "-id")
        .first()
    )
