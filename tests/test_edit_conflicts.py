"""A change form saved after someone else saved the story shows the conflict
instead of overwriting it (issue 17, point 6)."""

import sqlite3
import threading
import time
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.management import call_command
from django.db import connection
from django.db.models.signals import pre_save
from django.test import Client
from django.urls import reverse
from reversion.models import Version

from articles.conflicts import bump_versions
from articles.delivery.keys import read as read_versions
from articles.history import revision_context
from articles.models import Article, Correction, Topic
from tests.conftest import (
    credit,
    make_article,
    make_author,
    make_person,
    make_related_link,
)
from tests.html_forms import form_data

CONFLICT_FORM = "article_conflict_form"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def change_url(article):
    return reverse("admin:articles_article_change", args=[article.pk])


def open_form(client, article):
    """The change form as a browser would post it back."""
    response = client.get(change_url(article))
    assert response.status_code == 200
    return form_data(response.content.decode(), "article_form")


def post(client, article, data, **changes):
    for name, value in changes.items():
        data[name] = value if isinstance(value, list) else [value]
    return client.post(change_url(article), data)


def shown_fields(response):
    """The conflict page's form data, and the names of the fields it asks about."""
    assert response.status_code == 409, response.content.decode()[:3000]
    page = form_data(response.content.decode(), CONFLICT_FORM)
    return page, page["conflict-fields"][0].split()


def choose(page, **choices):
    for name, choice in choices.items():
        page[f"conflict-choice-{name}"] = [choice]
    return page


def editor_named(username):
    user = User.objects.create_user(username, password="pw-editor-2", is_staff=True)
    user.groups.add(Group.objects.get(name="Editors"))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def other_editor_client(db):
    return editor_named("other-editor")


# Two editors ------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_form_opened_before_anothers_save_shows_the_conflict_and_loses_nothing(
    editor_client, other_editor_client
):
    article = make_article(headline="Original headline", body="Original body.")
    mine = open_form(editor_client, article)
    theirs = open_form(other_editor_client, article)
    assert post(other_editor_client, article, theirs, headline="Their headline")[
        "Location"
    ]

    response = post(editor_client, article, mine, body="My body, rewritten.")

    page, fields = shown_fields(response)
    assert fields == ["headline", "body"]
    article.refresh_from_db()
    assert article.headline == "Their headline"
    assert article.body == "<p>Original body.</p>"
    html = response.content.decode()
    assert "<del>Original</del>" in html  # The stored body, marked...
    assert "<ins>My</ins>" in html  # ...against mine, nothing of it lost.
    assert "other-editor" in html  # Who saved it meanwhile.
    assert page["body"] == ["My body, rewritten."]

    saved = editor_client.post(
        change_url(article), choose(page, headline="theirs", body="mine")
    )

    assert saved.status_code == 302
    article.refresh_from_db()
    assert article.headline == "Their headline"
    assert article.body == "<p>My body, rewritten.</p>"


@pytest.mark.django_db
def test_taking_mine_for_a_field_overwrites_only_that_field(
    editor_client, other_editor_client
):
    article = make_article(headline="Original", standfirst="Original standfirst.")
    mine = open_form(editor_client, article)
    post(
        other_editor_client,
        article,
        open_form(other_editor_client, article),
        headline="Theirs",
        standfirst="Their standfirst.",
    )
    response = post(editor_client, article, mine, headline="Mine")
    page, fields = shown_fields(response)
    assert fields == ["headline", "standfirst"]

    editor_client.post(
        change_url(article), choose(page, headline="mine", standfirst="theirs")
    )

    article.refresh_from_db()
    assert (article.headline, article.standfirst) == ("Mine", "Their standfirst.")


@pytest.mark.django_db
def test_the_choice_is_checked_against_the_version_again(
    editor_client, other_editor_client
):
    article = make_article(headline="Original")
    mine = open_form(editor_client, article)
    post(
        other_editor_client,
        article,
        open_form(other_editor_client, article),
        headline="Second",
    )
    page, _ = shown_fields(post(editor_client, article, mine, headline="Mine"))
    post(
        other_editor_client,
        article,
        open_form(other_editor_client, article),
        headline="Third",
    )

    again = editor_client.post(change_url(article), choose(page, headline="mine"))

    _, fields = shown_fields(again)
    assert fields == ["headline"]
    article.refresh_from_db()
    assert article.headline == "Third"


@pytest.mark.django_db
def test_the_conflict_page_needs_a_choice_for_every_field(
    editor_client, other_editor_client
):
    article = make_article(headline="Original")
    mine = open_form(editor_client, article)
    post(
        other_editor_client,
        article,
        open_form(other_editor_client, article),
        headline="Theirs",
    )
    page, _ = shown_fields(post(editor_client, article, mine, body="Mine."))
    # Radios are required in the browser; the server asks again without one.
    choose(page, body="mine")

    response = editor_client.post(change_url(article), page)

    assert response.status_code == 200
    assert "Choose which to keep for: Headline." in response.content.decode()
    article.refresh_from_db()
    assert (article.headline, article.body) == (
        "Theirs",
        "<p>First paragraph.</p>\n<p>Second paragraph.</p>",
    )


@pytest.mark.django_db
def test_a_stale_form_with_errors_shows_them_first_then_the_conflict(
    editor_client, other_editor_client
):
    article = make_article(headline="Original")
    mine = open_form(editor_client, article)
    post(
        other_editor_client,
        article,
        open_form(other_editor_client, article),
        headline="Theirs",
    )

    response = post(editor_client, article, mine, headline="")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Someone else saved this story after you opened it" in html
    assert "This field is required." in html
    # Corrected, the same (stale) form now gets the conflict page.
    _, fields = shown_fields(post(editor_client, article, mine, headline="Mine"))
    assert fields == ["headline"]


@pytest.mark.django_db
def test_the_conflict_page_labels_every_choice(editor_client, other_editor_client):
    article = make_article()
    mine = open_form(editor_client, article)
    post(
        other_editor_client,
        article,
        open_form(other_editor_client, article),
        headline="Theirs",
    )

    html = post(editor_client, article, mine).content.decode()

    for choice in ("theirs", "mine"):
        control = f"conflict-choice-headline-{choice}"
        assert f'id="{control}"' in html
        assert f'<label for="{control}">' in html
    assert "<legend>Headline</legend>" in html
    assert '<th scope="col">Stored now</th>' in html


@pytest.mark.django_db
def test_a_form_saved_with_no_save_in_between_goes_through(editor_client):
    article = make_article(headline="Before")
    version = Article.objects.get(pk=article.pk).version

    response = post(
        editor_client, article, open_form(editor_client, article), headline="After"
    )

    assert response.status_code == 302
    article.refresh_from_db()
    assert article.headline == "After"
    assert article.version > version


@pytest.mark.django_db
def test_two_editors_making_the_same_fix_is_no_conflict(
    editor_client, other_editor_client
):
    article = make_article(headline="Tpyo in the headline")
    mine = open_form(editor_client, article)
    theirs = open_form(other_editor_client, article)
    post(other_editor_client, article, theirs, headline="Typo in the headline")

    # The version moved, but my form would overwrite nothing of theirs.
    response = post(editor_client, article, mine, headline="Typo in the headline")

    assert response.status_code == 302
    article.refresh_from_db()
    assert article.headline == "Typo in the headline"


# Other routes: an import, a bulk action, a topic merge, code ------------------------


STORY = """{headline}
A standfirst of the imported story.

{body}
"""


@pytest.mark.django_db
def test_an_import_between_opening_and_saving_is_not_overwritten(
    editor_client, tmp_path
):
    path = Path(tmp_path) / "story.txt"
    path.write_text(STORY.format(headline="Wire story", body="The wire's first text."))
    call_command("import_articles", str(path), stdout=StringIO())
    article = Article.objects.get(source="story.txt")
    mine = open_form(editor_client, article)
    path.write_text(STORY.format(headline="Wire story", body="The wire's new text."))
    call_command("import_articles", str(path), stdout=StringIO())

    response = post(editor_client, article, mine, headline="Wire story, edited")

    page, fields = shown_fields(response)
    assert fields == ["headline", "body"]
    assert "import: story.txt" in response.content.decode()
    article.refresh_from_db()
    assert article.body == "<p>The wire's new text.</p>"
    editor_client.post(
        change_url(article), choose(page, headline="mine", body="theirs")
    )
    article.refresh_from_db()
    assert article.headline == "Wire story, edited"
    assert article.body == "<p>The wire's new text.</p>"


@pytest.mark.django_db
def test_an_imported_story_is_stored_with_a_version(tmp_path):
    path = Path(tmp_path) / "story.txt"
    path.write_text(STORY.format(headline="Wire story", body="Text."))

    call_command("import_articles", str(path), stdout=StringIO())

    assert Article.objects.get(source="story.txt").version == 1


@pytest.mark.django_db
def test_a_topic_added_by_a_bulk_action_is_not_removed_by_an_older_form(
    editor_client, other_editor_client
):
    article = make_article(standfirst="Before.")
    topic = Topic.objects.create(name="Weather", slug="weather")
    mine = open_form(editor_client, article)
    other_editor_client.post(
        reverse("admin:articles_article_changelist"),
        {
            "action": "add_topic",
            "_selected_action": [article.pk],
            "choice": topic.pk,
            "confirm": "yes",
        },
    )
    assert list(article.tags.names()) == ["Weather"]

    response = post(editor_client, article, mine, standfirst="After.")

    page, fields = shown_fields(response)
    assert fields == ["standfirst", "tags"]
    assert list(article.tags.names()) == ["Weather"]
    editor_client.post(
        change_url(article), choose(page, standfirst="mine", tags="theirs")
    )
    article.refresh_from_db()
    assert article.standfirst == "After."
    assert list(article.tags.names()) == ["Weather"]


@pytest.mark.django_db
def test_a_topic_merge_between_opening_and_saving_is_not_undone(
    editor_client, superuser_client
):
    article = make_article()
    article.tags.add("Weather", "Climate")
    mine = open_form(editor_client, article)
    topics = Topic.objects.filter(name__in=["Weather", "Climate"])
    superuser_client.post(
        reverse("admin:articles_topic_changelist"),
        {
            "action": "merge_selected_topics",
            "_selected_action": [t.pk for t in topics],
            "survivor": Topic.objects.get(name="Climate").pk,
            "confirm": "yes",
        },
    )
    assert list(article.tags.names()) == ["Climate"]

    response = post(editor_client, article, mine, headline="Mine")

    # The form still names the merged topic, which no longer exists: the form
    # comes back with that error and the conflict note, and saves nothing.
    assert response.status_code == 200
    html = response.content.decode()
    assert "is not a stored topic" in html
    assert "Someone else saved this story after you opened it" in html
    assert not Topic.objects.filter(name="Weather").exists()
    article.refresh_from_db()
    assert article.headline != "Mine"
    assert list(article.tags.names()) == ["Climate"]


@pytest.mark.django_db
def test_people_added_in_code_from_the_persons_side_are_not_removed(editor_client):
    article = make_article()
    mine = open_form(editor_client, article)
    make_person(name="Ana Example").articles.add(article)

    _, fields = shown_fields(post(editor_client, article, mine, headline="Mine"))

    assert fields == ["headline", "people"]
    assert article.people.count() == 1


@pytest.mark.django_db
def test_related_links_changed_meanwhile_are_kept_as_stored(
    editor_client, other_editor_client
):
    article = make_article()
    kept = make_related_link(article, title="A link someone keeps")
    mine = open_form(editor_client, article)
    # Someone adds a link and edits the other one while my form is open.
    make_related_link(article, title="A link someone added")
    kept.title = "A link someone renamed"
    kept.save()

    response = post(editor_client, article, mine, headline="Mine")

    page, fields = shown_fields(response)
    assert fields == ["headline"]
    html = response.content.decode()
    assert "Related links and corrections" in html
    assert "someone added" in html
    assert page["conflict-rows"] == ["stored"]
    saved = editor_client.post(change_url(article), choose(page, headline="mine"))
    assert saved.status_code == 302
    article.refresh_from_db()
    assert article.headline == "Mine"
    assert sorted(article.related_links.values_list("title", flat=True)) == [
        "A link someone added",
        "A link someone renamed",
    ]


@pytest.mark.django_db
def test_a_byline_added_meanwhile_is_kept(editor_client):
    article = make_article()
    mine = open_form(editor_client, article)
    # Someone credits the story while my form (with no byline) is open.
    credit(article, make_author(name="Ada Lovelace"))

    response = post(editor_client, article, mine, headline="Mine")

    page, fields = shown_fields(response)
    assert fields == ["headline"]
    assert "By Ada Lovelace" in response.content.decode()
    saved = editor_client.post(change_url(article), choose(page, headline="mine"))
    assert saved.status_code == 302
    article.refresh_from_db()
    assert article.headline == "Mine"
    assert [b.author.name for b in article.bylines.all()] == ["Ada Lovelace"]


@pytest.mark.django_db
def test_a_link_pointed_without_any_signal_still_counts_as_changed(editor_client):
    # The importer points waiting links at a new story with one UPDATE.
    article = make_article()
    link = make_related_link(article, title="Waiting for its story")
    mine = open_form(editor_client, article)
    target = make_article()
    type(link).objects.filter(pk=link.pk).update(target=target)

    response = post(editor_client, article, mine)

    page, _ = shown_fields(response)
    editor_client.post(change_url(article), page)
    link.refresh_from_db()
    assert link.target == target


@pytest.mark.django_db
def test_my_own_inline_changes_go_through_when_nobody_touched_the_rows(
    editor_client, other_editor_client
):
    article = make_article()
    make_related_link(article, title="Old title")
    mine = open_form(editor_client, article)
    post(
        other_editor_client,
        article,
        open_form(other_editor_client, article),
        headline="Theirs",
    )
    mine["related_links-0-title"] = ["My title"]

    page, fields = shown_fields(post(editor_client, article, mine))
    assert fields == ["headline"]
    assert "conflict-rows" not in page
    editor_client.post(change_url(article), choose(page, headline="theirs"))

    assert list(article.related_links.values_list("title", flat=True)) == ["My title"]


# The version itself -------------------------------------------------------------


def stored_version(article):
    return Article.objects.values_list("version", flat=True).get(pk=article.pk)


@pytest.mark.parametrize(
    "change",
    [
        lambda article: article.save(),
        lambda article: article.tags.add("Weather"),
        lambda article: article.tags.clear(),
        lambda article: Topic.objects.get(name="Politics").delete(),
        lambda article: article.people.add(make_person()),
        lambda article: make_person().articles.add(article),
        lambda article: make_related_link(article),
        lambda article: article.related_links.all().delete(),
        lambda article: Correction.objects.create(article=article, text="Fixed."),
    ],
    ids=[
        "save",
        "tag",
        "untag",
        "topic-deleted",
        "person",
        "person-side",
        "link",
        "unlink",
        "correction",
    ],
)
@pytest.mark.django_db
def test_every_change_by_any_route_moves_the_version(
    change, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):  # As if committed.
        article = make_article()
        article.tags.add("Politics")
        make_related_link(article)
    before = stored_version(article)

    change(article)

    assert stored_version(article) > before


@pytest.mark.django_db
def test_a_save_from_an_older_copy_still_moves_the_version_past_every_change():
    article = make_article()
    older_copy = Article.objects.get(pk=article.pk)
    Article.objects.get(pk=article.pk).tags.add("Weather")
    after_the_topic = stored_version(article)

    older_copy.save()

    # A form opened after the topic was added must not match any more.
    assert stored_version(article) == after_the_topic + 1
    assert older_copy.version == after_the_topic + 1


@pytest.mark.django_db
def test_relations_added_with_a_new_story_leave_its_first_version(tmp_path):
    # Nobody can have opened the story before its transaction commits: no
    # UPDATE of the version per topic and person the importer adds.
    call_command(
        "load_vocabulary",
        str(FIXTURES / "people.json"),
        str(FIXTURES / "topics.json"),
        verbosity=0,
    )
    path = Path(tmp_path) / "story.txt"
    path.write_text(STORY.format(headline="Putin visits Minsk", body="In Belarus."))

    call_command("import_articles", str(path), stdout=StringIO())

    article = Article.objects.get(source="story.txt")
    assert article.people.exists()
    assert article.tags.exists()
    assert article.version == 1


@pytest.mark.django_db
def test_a_version_bump_touches_neither_the_updated_notice_nor_the_page_cache():
    article = make_article()
    stored = Article.objects.get(pk=article.pk)
    changes = read_versions(()).changes

    bump_versions([article.pk])

    bumped = Article.objects.get(pk=article.pk)
    assert bumped.version == stored.version + 1
    assert bumped.updated_at == stored.updated_at
    assert bumped.content_updated_at == stored.content_updated_at
    assert read_versions(()).changes == changes


# Two connections racing ---------------------------------------------------------


@pytest.fixture
def connection_per_thread(transactional_db, tmp_path):
    """Each thread opens its own connection to one database, as app servers do.

    On PostgreSQL the test database is that already. SQLite's in-memory test
    database shares one cache between connections, where a writer that finds
    another's lock fails at once ("database table is locked") instead of waiting
    as it does on the production database file; so the test runs on a copy of
    it in a file, and the in-memory one is put back afterwards.
    """
    if connection.vendor != "sqlite":
        yield
        return
    connection.ensure_connection()
    in_memory, settings_dict = connection.connection, connection.settings_dict
    name = settings_dict["NAME"]
    path = tmp_path / "race.sqlite3"
    with sqlite3.connect(path) as copy:
        in_memory.backup(copy)
    copy.close()
    settings_dict["NAME"] = str(path)
    # Closing the in-memory connection would destroy it: set it aside instead.
    connection.connection = None
    try:
        yield
    finally:
        connection.close()
        settings_dict["NAME"] = name
        connection.connection = in_memory


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_saves_racing_from_one_version_let_exactly_one_through(
    connection_per_thread,
):
    article = make_article(headline="Original", body="Original body.")
    clients = [editor_named("first-editor"), editor_named("second-editor")]
    forms = [open_form(client, article) for client in clients]
    forms[0]["headline"] = ["First editor's headline"]
    forms[1]["body"] = ["Second editor's body."]
    first_in_save = threading.Event()
    responses = {}

    def hold_the_first_save(sender, instance, **kwargs):
        # The first save waits with its lock held, so the second arrives meanwhile.
        if not first_in_save.is_set():
            first_in_save.set()
            time.sleep(0.5)

    def save(index):
        try:
            responses[index] = clients[index].post(change_url(article), forms[index])
        finally:
            connection.close()

    pre_save.connect(hold_the_first_save, sender=Article)
    try:
        first = threading.Thread(target=save, args=(0,))
        second = threading.Thread(target=save, args=(1,))
        first.start()
        assert first_in_save.wait(10)
        second.start()
        first.join(20)
        second.join(20)
    finally:
        pre_save.disconnect(hold_the_first_save, sender=Article)

    assert sorted(r.status_code for r in responses.values()) == [302, 409]
    article.refresh_from_db()
    winner = 0 if responses[0].status_code == 302 else 1
    assert winner == 0  # The second waited for the first's lock.
    assert article.headline == "First editor's headline"
    assert article.body == "<p>Original body.</p>"
    assert "Second editor&#x27;s body." in responses[1].content.decode()


@pytest.mark.django_db
def test_restoring_a_revision_moves_the_version_past_the_current_one():
    article = make_article(headline="First")
    with revision_context():
        Article.objects.get(pk=article.pk).save()
    old = Version.objects.get_for_object(article).get()
    for headline in ("Second", "Third"):
        with revision_context():
            edited = Article.objects.get(pk=article.pk)
            edited.headline = headline
            edited.save()
    current = stored_version(article)

    old.revert()

    assert Article.objects.get(pk=article.pk).headline == "First"
    assert stored_version(article) > current


@pytest.mark.django_db
def test_a_view_only_user_still_sees_the_story(client):
    viewer = User.objects.create_user("viewer", password="pw-viewer-1", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_article"))
    client.force_login(viewer)
    article = make_article(headline="Readable")

    response = client.get(change_url(article))

    assert response.status_code == 200
    assert "Readable" in response.content.decode()
