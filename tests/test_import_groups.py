"""New stories of a batch are stored together (a few statements for all of
them), and the files are read ahead in a second process: both must store
exactly what importing the files one at a time stores."""

import multiprocessing
import os
import re
import signal

import pytest
from django.core.management import call_command
from reversion.models import Revision

from articles.bulk_writes import Deferred
from articles.ingest import reading
from articles.ingest.duplicates import BodyBand
from articles.ingest.matching import TermMatcher, ids_by_term
from articles.ingest.runs import ImportRunFile
from articles.ingest.store import ArticleImporter
from articles.models import Article, Person, RelatedLink, TaggedArticle
from articles.redirects import SlugRedirect
from articles.wire import ImportedSource
from tests.conftest import make_article, make_related_link
from tests.test_import_duplicates import LONG, one_sentence_changed, sentences
from tests.test_importer import PEOPLE, TOPICS, run_import, story, write

pytestmark = pytest.mark.django_db


def stories(folder):
    """Files whose stories depend on each other as an import meets them: links
    forwards and backwards, a headline twice, a near-copy of an earlier file,
    a link a stored story waits with, a slug a redirect leaves from."""
    files = [
        ("a.txt", "Minsk hosts grain talks", LONG, ["Riga ports reopen"]),
        ("b.txt", "Riga ports reopen", sentences("b"), ["MINSK HOSTS GRAIN TALKS"]),
        ("c.txt", "Minsk hosts grain talks", sentences("c"), ["Vilnius votes"]),
        ("d.txt", "Copy of a", one_sentence_changed(LONG), ["Riga ports reopen"]),
        ("e.txt", "Vilnius votes", sentences("e"), ["Stored story"]),
        ("f.txt", "Awaited story", sentences("f"), []),
    ]
    for name, headline, body, related in files:
        text = story(
            headline=headline,
            body=body,
            related=[(title, f"About {title}.") for title in related],
        )
        write(folder, name, text)
    return folder


def stored_state():
    """Everything an import wrote, with ids replaced by file names."""
    name = dict(Article.objects.values_list("pk", "source"))
    sources = ImportedSource.objects.values_list(
        "name", "article", "duplicate_of", "duplicate_similarity"
    )
    name[None] = None
    return {
        "articles": sorted(
            Article.objects.values_list("source", "slug", "headline", "status", "body")
        ),
        "links": sorted(
            (name[article], position, title, name[target])
            for article, position, title, target in RelatedLink.objects.values_list(
                "article", "position", "title", "target"
            )
        ),
        "sources": sorted(
            (source, name[article], name[duplicate], similarity)
            for source, article, duplicate, similarity in sources
        ),
        "people": sorted(
            (name[article], person)
            for article, person in Article.people.through.objects.values_list(
                "article", "person"
            )
        ),
        "topics": sorted(
            (name[article], topic)
            for article, topic in TaggedArticle.objects.values_list(
                "content_object", "tag"
            )
        ),
        "bands": sorted(
            (name[article], key)
            for article, key in BodyBand.objects.values_list("article", "key")
        ),
        "revisions": sorted(
            (
                revision.comment,
                sorted(
                    re.sub(r"article (\d+)", lambda m: name[int(m[1])], v.object_repr)
                    for v in revision.version_set.all()
                ),
            )
            for revision in Revision.objects.prefetch_related("version_set")
        ),
        "redirects": sorted(SlugRedirect.objects.values_list("old_slug", flat=True)),
    }


def import_all(folder, batch_size):
    """Import the folder into a database holding one stored story that waits
    for "Awaited story" and a redirect from the slug b.txt's story takes;
    (state, each file's outcome)."""
    stored = make_article(headline="Stored story", slug="stored-story", source="")
    make_related_link(stored, title="Awaited story", position=1)
    elsewhere = make_article(headline="Elsewhere", slug="elsewhere", source="")
    SlugRedirect.objects.create(
        kind="article", old_slug="riga-ports-reopen", article=elsewhere
    )
    importer = ArticleImporter()
    paths = sorted(folder.iterdir())
    outcomes = [
        (
            o.path.name,
            o.outcome,
            o.note.split(" story ")[0],
            len(o.relinked_article_ids),
        )
        for o in importer.import_paths(paths, batch_size=batch_size)
    ]
    return stored_state(), outcomes


def wipe():
    for model in (ImportedSource, Revision, SlugRedirect, Article):
        model.objects.all().delete()
    ImportedSource.objects.all().delete()  # Deleting stories remembered them.


def test_a_batch_stores_what_one_file_at_a_time_stores(tmp_path):
    call_command("load_vocabulary", str(PEOPLE), str(TOPICS), verbosity=0)
    folder = stories(tmp_path)

    one_at_a_time = import_all(folder, batch_size=1)
    wipe()
    together = import_all(folder, batch_size=50)

    for part in one_at_a_time[0]:
        assert together[0][part] == one_at_a_time[0][part], part
    assert together == one_at_a_time
    state, outcomes = together
    # What the files were chosen to show, so the comparison means something.
    assert [outcome for _, outcome, _, _ in outcomes] == ["created"] * 6
    assert ("c.txt", "minsk-hosts-grain-talks-2") in {
        (source, slug) for source, slug, *_ in state["articles"]
    }
    assert ("d.txt", "a.txt", 94) in {
        (source, duplicate, similarity)
        for source, _, duplicate, similarity in state["sources"]
    }
    assert ("a.txt", 1, "Riga ports reopen", "b.txt") in state["links"]
    assert ("", 1, "Awaited story", "f.txt") in state["links"]
    assert state["redirects"] == []  # b.txt's story took the slug.


def test_a_story_the_database_refuses_fails_alone_in_its_group(tmp_path):
    folder = stories(tmp_path)
    # A slug taken behind the importer's back: its INSERT fails, in the group.
    importer = ArticleImporter()
    make_article(headline="Vilnius votes", slug="vilnius-votes", source="")

    outcomes = list(importer.import_paths(sorted(folder.iterdir()), batch_size=50))

    assert [(o.path.name, o.outcome) for o in outcomes] == [
        ("a.txt", "created"),
        ("b.txt", "created"),
        ("c.txt", "created"),
        ("d.txt", "created"),
        ("e.txt", "failed"),
        ("f.txt", "created"),
    ]
    assert outcomes[4].note.startswith("database error: ")
    assert not ImportedSource.objects.filter(name="e.txt").exists()
    assert Article.objects.filter(source__in=["a.txt", "f.txt"]).count() == 2


def test_deferred_rows_are_written_once_at_the_end_and_never_after_an_error():
    written = []
    deferred = Deferred(written.append)

    assert not deferred.add("outside a batch")
    with deferred.batch():
        assert deferred.add(1)
        with deferred.batch():  # Nested: the outer one writes.
            assert deferred.add(2)
        assert written == []
    assert written == [[1, 2]]

    with pytest.raises(RuntimeError), deferred.batch():
        deferred.add(3)
        raise RuntimeError
    assert written == [[1, 2]]
    assert not deferred.add("after")


@pytest.mark.processes
def test_files_read_ahead_are_read_as_here_even_if_the_reader_dies(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(reading, "MIN_FILES", 1)
    monkeypatch.setattr(reading, "CHUNK", 2)
    monkeypatch.setattr(reading, "AHEAD", 1)
    make_person_rows = [("Anna Petrova", "A. Petrova")]
    Person.objects.bulk_create(
        Person(name=name, slug=f"p{n}", aliases=alias)
        for n, (name, alias) in enumerate(make_person_rows)
    )
    mentions = TermMatcher(
        {
            term: {("person", pk) for pk in ids}
            for term, ids in ids_by_term(
                Person.objects.values_list("pk", "name", "aliases")
            ).items()
        }
    )
    paths = [
        write(tmp_path, f"{n}.txt", story(headline=f"Story {n} with Anna Petrova"))
        for n in range(8)
    ]
    paths.insert(3, write(tmp_path, "empty.txt", ""))
    here = [reading.read_story(path, mentions) for path in paths]

    with reading.ReadAhead(paths, mentions) as reader:
        first = [reader.take(path) for path in paths[:3]]
        (process,) = multiprocessing.active_children()
        os.kill(process.pid, signal.SIGKILL)
        rest = [reader.take(path) for path in paths[3:]]

    assert first + rest == here
    assert here[3].refusal and here[0].mentioned and here[0].band_keys == ()


@pytest.mark.processes
def test_the_command_reads_files_ahead_and_stores_them_as_read_here(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(reading, "MIN_FILES", 1)
    monkeypatch.setattr(reading, "CHUNK", 2)
    call_command("load_vocabulary", str(PEOPLE), str(TOPICS), verbosity=0)
    folder = stories(tmp_path)
    write(folder, "empty.txt", "")

    ahead = run_import(folder)

    assert ahead.exit_code == 1
    assert ahead.summary == "created 6, updated 0, unchanged 0, skipped 0, failed 1"
    assert ImportRunFile.objects.filter(outcome="failed").get().name == "empty.txt"
    read_ahead = stored_state()
    wipe()
    monkeypatch.setattr(reading, "MIN_FILES", 10_000)
    assert run_import(folder).summary == ahead.summary
    assert stored_state() == read_ahead
