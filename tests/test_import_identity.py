"""Imports never undo editors' work: identity by source file, deleted stays
deleted, editors' changes win over the wire (articles/wire.py).

Editors work through the admin as members of the Editors group; operators run
the import_articles command.
"""

import importlib
import json
import re
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from reversion.models import Revision, Version

from articles import richtext
from articles.history import article_history
from articles.models import Article, Image, RelatedLink
from articles.wire import ImportedSource
from tests.conftest import make_article
from tests.html_forms import form_data
from tests.test_importer import SEED, content_writes, run_import, story, write
from tests.test_importer_images import photo_bytes
from tests.test_revisions import change_url, edit_in_admin

pytestmark = pytest.mark.django_db

HEADLINE = "Minsk hosts talks on grain exports"


def summary(created=0, updated=0, unchanged=0, skipped=0, failed=0):
    return (
        f"created {created}, updated {updated}, unchanged {unchanged}, "
        f"skipped {skipped}, failed {failed}"
    )


@pytest.fixture
def imported(tmp_path):
    """A story imported from story.txt; returns the file's path."""
    path = write(tmp_path, "story.txt", story())
    run = run_import(path)
    assert run.summary == summary(created=1)
    return path


def the_story():
    return Article.objects.get(source="story.txt")


def start_page(client):
    return client.get(reverse("admin:index")).content.decode()


# 1. Identity is the source -------------------------------------------------------


def test_retitled_story_is_still_its_files_story(imported, editor_client):
    article = the_story()
    edit_in_admin(editor_client, article, headline="Grain talks open in Minsk")

    run = run_import(imported)

    assert run.summary == summary(unchanged=1)
    assert Article.objects.count() == 1
    assert the_story().headline == "Grain talks open in Minsk"

    # An edited file updates that same story, its headline still the editor's.
    imported.write_text(story(standfirst="Seven countries met on Monday."))
    run = run_import(imported)

    assert run.summary == summary(updated=1)
    retitled = Article.objects.get()
    assert (retitled.pk, retitled.slug) == (article.pk, article.slug)
    assert retitled.headline == "Grain talks open in Minsk"
    assert retitled.standfirst == "Seven countries met on Monday."


def test_file_retitled_on_the_wire_retitles_its_story_in_place(imported, client):
    article = the_story()

    imported.write_text(story(headline="Minsk grain talks end without a deal"))
    run = run_import(imported)

    assert run.summary == summary(updated=1)
    retitled = Article.objects.get()
    assert retitled.headline == "Minsk grain talks end without a deal"
    assert retitled.slug == article.slug  # the address stays
    assert client.get(article.get_absolute_url()).status_code == 200


def test_new_file_with_a_stored_headline_is_a_new_story_and_a_possible_duplicate(
    imported, tmp_path, editor_client
):
    first = the_story()

    run = run_import(write(tmp_path, "other-agency.txt", story(body=("Other.",))))

    assert run.summary == summary(created=1)
    second = Article.objects.get(source="other-agency.txt")
    assert second.slug == f"{first.slug}-2"
    assert the_story().body == first.body
    page = start_page(editor_client)
    assert "Possible duplicates (1)" in page
    assert reverse("admin:articles_article_change", args=[first.pk]) in page
    response = editor_client.get(
        reverse("admin:articles_article_changelist") + "?wire=duplicate"
    )
    assert list(response.context["cl"].result_list) == [second]

    # Retitled, it is no longer listed.
    edit_in_admin(editor_client, second, headline="Grain talks, as another saw it")
    assert "Possible duplicates" not in start_page(editor_client)


def test_story_written_in_the_admin_is_never_matched_by_an_import(tmp_path):
    written = make_article(headline=HEADLINE, slug="minsk-hosts-talks-on-grain-exports")

    run = run_import(write(tmp_path, "story.txt", story()))

    assert run.summary == summary(created=1)
    written.refresh_from_db()
    assert written.source == ""
    assert written.body == "<p>First paragraph.</p>\n<p>Second paragraph.</p>"
    assert the_story().slug == "minsk-hosts-talks-on-grain-exports-2"


# 2. Deleted stays deleted -------------------------------------------------------------


def test_story_deleted_in_the_admin_stays_deleted(imported, superuser_client, client):
    article = the_story()
    delete_url = reverse("admin:articles_article_delete", args=[article.pk])
    assert superuser_client.get(delete_url).status_code == 200
    assert superuser_client.post(delete_url, {"post": "yes"}).status_code == 302

    run = run_import(imported)

    assert run.exit_code == 0
    assert run.stderr == ""
    [line] = [line for line in run.stdout.splitlines() if "skipped," in line]
    assert line.startswith(f"{imported}: skipped, deleted by chief on 20")
    assert run.summary == summary(skipped=1)
    assert not Article.objects.exists()
    assert client.get(article.get_absolute_url()).status_code == 404


def test_stories_deleted_with_the_bulk_action_stay_deleted(tmp_path, superuser_client):
    for name in ("a.txt", "b.txt"):
        write(tmp_path, name, story(headline=f"Story {name}"))
    run_import(tmp_path)
    changelist = reverse("admin:articles_article_changelist")

    response = superuser_client.post(
        changelist,
        {
            "action": "delete_selected",
            "_selected_action": list(Article.objects.values_list("pk", flat=True)),
            "post": "yes",
        },
    )

    assert response.status_code == 302
    run = run_import(tmp_path)
    assert run.summary == summary(skipped=2)
    assert not Article.objects.exists()
    assert set(ImportedSource.objects.values_list("deleted_by", flat=True)) == {"chief"}


def test_story_deleted_in_code_stays_deleted_by_an_unknown_user(imported):
    the_story().delete()

    run = run_import(imported, new_only=True)

    assert f"{imported}: skipped, deleted by unknown on " in run.stdout
    assert run.summary == summary(skipped=1)
    assert not Article.objects.exists()


def test_undelete_brings_a_deleted_story_back(imported, superuser_client):
    old = the_story()
    superuser_client.post(
        reverse("admin:articles_article_delete", args=[old.pk]), {"post": "yes"}
    )

    run = run_import(imported, undelete=True)

    assert run.summary == summary(created=1)
    back = the_story()
    assert back.headline == HEADLINE
    source = ImportedSource.objects.get()
    assert (source.article, source.deleted_by, source.deleted_at) == (back, "", None)
    # From then on it is the file's story again.
    assert run_import(imported).summary == summary(unchanged=1)


def test_a_recovered_story_is_its_files_story_again(imported, superuser_client):
    article = the_story()
    superuser_client.post(
        reverse("admin:articles_article_delete", args=[article.pk]), {"post": "yes"}
    )
    [version] = Version.objects.get_deleted(Article)
    url = reverse("admin:articles_article_recover", args=[version.pk])
    form = form_data(superuser_client.get(url).content.decode(), "article_form")
    assert superuser_client.post(url, form).status_code == 302

    run = run_import(imported)

    assert run.summary == summary(unchanged=1)
    assert the_story().pk == article.pk


def test_a_story_imported_before_sources_were_remembered_stays_deleted(tmp_path):
    # As the migration left it: no source remembered for this story.
    make_article(headline=HEADLINE, source="story.txt").delete()

    run = run_import(write(tmp_path, "story.txt", story()))

    assert run.summary == summary(skipped=1)


# 3. Editors' changes win over the wire -----------------------------------------------


def test_file_changes_only_what_editors_left_alone(imported, editor_client):
    edit_in_admin(editor_client, the_story(), standfirst="The editor's standfirst.")
    imported.write_text(
        story(
            standfirst="Delegations from six countries met on Monday.",
            body=("The talks lasted five hours.", "A second round is planned."),
        )
    )

    run = run_import(imported)

    assert run.summary == summary(updated=1)
    article = the_story()
    assert article.standfirst == "The editor's standfirst."
    assert article.paragraphs()[0] == "The talks lasted five hours."
    assert ImportedSource.objects.get().pending == {}


def change_headline_on_both_sides(imported, editor_client):
    edit_in_admin(editor_client, the_story(), headline="Grain talks open in Minsk")
    imported.write_text(story(headline="Minsk grain talks end without a deal"))
    return run_import(imported)


def test_a_field_both_changed_keeps_the_editors_and_waits(imported, editor_client):
    run = change_headline_on_both_sides(imported, editor_client)

    assert run.exit_code == 0
    assert f"{imported}: wire update waits for an editor (Headline)" in run.stdout
    assert run.summary == summary(unchanged=1)
    article = the_story()
    assert article.headline == "Grain talks open in Minsk"
    source = ImportedSource.objects.get()
    assert source.pending == {"headline": "Minsk grain talks end without a deal"}
    assert source.pending_since is not None

    page = start_page(editor_client)
    assert "Wire updates waiting (1)" in page
    assert "Grain talks open in Minsk" in page
    html = editor_client.get(change_url(article)).content.decode()
    assert "Wire update waiting" in html
    # The words the update would remove and add, marked.
    assert re.search(r"<del>[^<]*open[^<]*</del>", html)
    assert re.search(r"<ins>[^<]*without[^<]*</ins>", html)


def test_importing_the_same_file_again_leaves_the_waiting_update(
    imported, editor_client
):
    change_headline_on_both_sides(imported, editor_client)
    source = ImportedSource.objects.values().get()

    with CaptureQueriesContext(connection) as queries:
        run = run_import(imported)

    assert run.summary == summary(unchanged=1)
    assert "wire update" not in run.stdout
    assert content_writes(queries) == []
    assert ImportedSource.objects.values().get() == source


def test_start_page_queries_do_not_grow_with_waiting_updates(editor_client):
    def add_stories_needing_an_editor(count):
        for _ in range(count):
            waiting = make_article(source=f"{make_article().pk}.txt")
            ImportedSource.objects.create(
                name=waiting.source,
                article=waiting,
                pending={"headline": "From the wire"},
                pending_since=timezone.now(),
            )
            twin = make_article(headline=waiting.headline, source=f"{waiting.pk}b.txt")
            ImportedSource.objects.create(
                name=twin.source, article=twin, duplicate_of=waiting
            )

    def count_queries():
        with CaptureQueriesContext(connection) as queries:
            page = start_page(editor_client)
        return len(queries), page

    add_stories_needing_an_editor(1)
    few, page = count_queries()
    assert "Wire updates waiting (1)" in page
    assert "Possible duplicates (1)" in page
    add_stories_needing_an_editor(8)
    many, page = count_queries()
    assert "Wire updates waiting (9)" in page
    assert many == few


def post_wire_button(client, article, name, value):
    """Press one of the wire update's buttons on the change form: the browser
    posts the form to the button's formaction, with the button's value."""
    html = client.get(change_url(article)).content.decode()
    url = reverse("admin:articles_article_wire_update", args=[article.pk])
    assert f'formaction="{url}" name="{name}" value="{value}"' in html
    return client.post(url, {**form_data(html, "article_form"), name: value})


def test_editor_applies_the_waiting_update(imported, editor_client, editor):
    change_headline_on_both_sides(imported, editor_client)
    article = the_story()

    response = post_wire_button(editor_client, article, "wire_apply", "headline")

    assert response.status_code == 302
    assert the_story().headline == "Minsk grain talks end without a deal"
    assert the_story().slug == article.slug
    assert ImportedSource.objects.get().pending == {}
    latest = Revision.objects.order_by("-pk").first()
    assert (latest.user, latest.comment) == (
        editor,
        "Applied the wire update: Headline",
    )
    assert article_history(article)[-1].snapshot["Headline"] == (
        "Minsk grain talks end without a deal"
    )
    assert "Wire updates waiting" not in start_page(editor_client)
    assert run_import(imported).summary == summary(unchanged=1)


def test_editor_dismisses_the_waiting_update_for_good(imported, editor_client):
    change_headline_on_both_sides(imported, editor_client)

    response = post_wire_button(editor_client, the_story(), "wire_dismiss", "all")

    assert response.status_code == 302
    assert the_story().headline == "Grain talks open in Minsk"
    assert ImportedSource.objects.get().pending == {}
    run = run_import(imported)
    assert run.summary == summary(unchanged=1)
    assert ImportedSource.objects.get().pending == {}


def test_editor_applies_every_waiting_field_at_once(imported, editor_client):
    edit_in_admin(
        editor_client,
        the_story(),
        headline="Grain talks open in Minsk",
        body="The editor's body.",
    )
    imported.write_text(
        story(headline="Minsk talks end", body=("The wire's new body.",))
    )
    run_import(imported)
    assert set(ImportedSource.objects.get().pending) == {"headline", "body"}

    post_wire_button(editor_client, the_story(), "wire_apply", "all")

    article = the_story()
    assert (article.headline, article.body) == (
        "Minsk talks end",
        "<p>The wire's new body.</p>",
    )


def test_wire_update_view_takes_only_posts_from_those_who_may_change(
    imported, editor_client, client
):
    change_headline_on_both_sides(imported, editor_client)
    article = the_story()
    url = reverse("admin:articles_article_wire_update", args=[article.pk])
    assert editor_client.get(url).status_code == 405
    viewer = User.objects.create_user("viewer", password="pw-viewer-1", is_staff=True)
    client.force_login(viewer)

    assert client.post(url, {"wire_apply": "all"}).status_code == 403
    assert the_story().headline == "Grain talks open in Minsk"


def test_a_new_photo_for_a_story_whose_photo_an_editor_changed_waits(
    tmp_path, editor_client
):
    path = write(tmp_path, "story.txt", story())
    write(tmp_path, "story.jpg", photo_bytes())
    run_import(path)
    wire_photo = the_story().lead_image
    editors_photo = Image(
        file=ContentFile(photo_bytes(colour=(9, 9, 9)), name="own.jpg"),
        alt_text="The editor's own photo",
    )
    editors_photo.save()
    edit_in_admin(editor_client, the_story(), lead_image=str(editors_photo.pk))
    write(tmp_path, "story.jpg", photo_bytes(colour=(200, 30, 30)))

    run = run_import(path)

    assert "wire update waits for an editor (Lead image)" in run.stdout
    assert the_story().lead_image == editors_photo
    new_photo = Image.objects.exclude(pk__in=[wire_photo.pk, editors_photo.pk]).get()
    assert ImportedSource.objects.get().pending == {"lead_image": new_photo.pk}

    post_wire_button(editor_client, the_story(), "wire_apply", "lead_image")

    assert the_story().lead_image == new_photo
    assert run_import(path).summary == summary(unchanged=1)


def test_a_story_written_here_has_no_wire_update_to_apply(editor_client):
    article = make_article(headline="Written here")
    url = reverse("admin:articles_article_wire_update", args=[article.pk])

    response = editor_client.post(url, {"wire_apply": "all"}, follow=True)

    assert response.status_code == 200
    assert "That wire update was no longer waiting." in response.content.decode()
    article.refresh_from_db()
    assert article.headline == "Written here"


# Related links ---------------------------------------------------------------------


def related_link_rows(article):
    return list(article.related_links.values_list("title", "url", "target"))


def add_link_in_admin(client, article, title, url):
    data = form_data(client.get(change_url(article)).content.decode(), "article_form")
    number = int(data["related_links-TOTAL_FORMS"][0])
    data["related_links-TOTAL_FORMS"] = [str(number + 1)]
    data.update(
        {
            f"related_links-{number}-title": [title],
            f"related_links-{number}-url": [url],
            f"related_links-{number}-position": ["9"],
            f"related_links-{number}-article": [str(article.pk)],
        }
    )
    response = client.post(change_url(article), data)
    assert response.status_code == 302, response.context["errors"]


def test_unchanged_reimport_keeps_a_link_an_editor_added(imported, editor_client):
    add_link_in_admin(
        editor_client, the_story(), "Background", "https://example.com/background"
    )
    before = related_link_rows(the_story())

    run = run_import(imported)

    assert run.summary == summary(unchanged=1)
    assert related_link_rows(the_story()) == before
    assert ("Background", "https://example.com/background", None) in before


def test_reimport_keeps_a_link_an_editor_pointed_elsewhere(imported, tmp_path):
    link = the_story().related_links.get()
    link.url = "https://example.com/prices"
    link.save()
    imported.write_text(story(related=(("Grain prices fall in Europe", "New."),)))

    run = run_import(imported)

    assert run.summary == summary(unchanged=1)
    [kept] = the_story().related_links.all()
    assert (kept.pk, kept.url, kept.summary) == (
        link.pk,
        "https://example.com/prices",
        "Wheat futures dropped again.",
    )


def test_a_link_an_editor_deleted_is_not_brought_back(imported, editor_client):
    the_story().related_links.get().delete()

    run = run_import(imported)

    assert run.summary == summary(unchanged=1)
    assert not RelatedLink.objects.exists()


def test_links_the_file_drops_or_adds_follow_it(imported, editor_client):
    add_link_in_admin(editor_client, the_story(), "Background", "https://example.com")
    imported.write_text(story(related=(("Harvest forecast", None),)))

    run = run_import(imported)

    assert run.summary == summary(updated=1)
    assert sorted(title for title, _, _ in related_link_rows(the_story())) == [
        "Background",
        "Harvest forecast",
    ]


# Stories imported before this change -----------------------------------------------


def run_the_migrations_backfill():
    backfill = importlib.import_module(
        "articles.migrations.0014_imported_sources"
    ).remember_imported_stories
    # What RunPython passes: the app registry and a schema editor on a connection.
    backfill(apps, SimpleNamespace(connection=connection))


def test_migration_takes_what_the_last_import_wrote_from_its_revision(
    imported, editor_client
):
    edit_in_admin(editor_client, the_story(), headline="Retitled before the upgrade")
    add_link_in_admin(editor_client, the_story(), "Background", "https://example.com")
    ImportedSource.objects.all().delete()  # As before the migration.

    run_the_migrations_backfill()

    source = ImportedSource.objects.get()
    assert source.article == the_story()
    assert source.imported["headline"] == HEADLINE
    assert source.imported["links"] == [
        ["Grain prices fall in Europe", "Wheat futures dropped again."]
    ]
    run = run_import(imported)
    assert run.summary == summary(unchanged=1)
    assert the_story().headline == "Retitled before the upgrade"
    assert the_story().related_links.count() == 2


def test_migration_reads_a_plain_text_body_of_an_older_import_as_html(imported):
    # Import revisions written before bodies became HTML (0013) hold plain text.
    version = Version.objects.get_for_object(the_story()).get(
        revision__comment="import: story.txt"
    )
    data = json.loads(version.serialized_data)
    plain = richtext.to_text(data[0]["fields"]["body"])
    data[0]["fields"]["body"] = plain
    version.serialized_data = json.dumps(data)
    version.save()
    ImportedSource.objects.all().delete()  # As before the migration.

    run_the_migrations_backfill()

    assert ImportedSource.objects.get().imported["body"] == the_story().body
    assert run_import(imported).summary == summary(unchanged=1)


def test_migration_remembers_a_story_without_import_revision_as_it_stands():
    older = make_article(source=SEED.name, headline="An older import of the seed")
    article = make_article(source=SEED.name, headline="Retitled by an editor")
    make_article(headline="Written here")

    run_the_migrations_backfill()

    source = ImportedSource.objects.get()
    assert (source.name, source.article) == (SEED.name, article)
    assert source.imported["headline"] == "Retitled by an editor"
    assert source.imported["links"] is None
    older.refresh_from_db()
    assert older.headline == "An older import of the seed"
