"""A revision belongs to one story: bulk work keeps a revision per article, and
restoring one changes that article alone, without muting anyone's signals.
Recovering deleted articles is for users who may delete them."""

import json
import threading

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.db import connection
from django.urls import reverse
from reversion.models import Revision, Version

from articles.history import article_history, revision_context
from articles.models import Article, PageGeneration, Person, Topic
from articles.redirects import SlugRedirect
from tests.conftest import make_article, make_person, make_related_link
from tests.html_forms import form_data
from tests.test_images import make_image
from tests.test_revisions import edit_in_admin, restore_in_admin

pytestmark = pytest.mark.django_db


def revision_url(article, version):
    return reverse("admin:articles_article_revision", args=[article.pk, version.pk])


def articles_in(revision):
    """The pks of the articles a revision holds a version of."""
    return {
        int(version.object_id)
        for version in revision.version_set.all()
        if version._model is Article
    }


def confirm_in_admin(client, changelist, action, objects, **choices):
    """Choose a bulk action on the change list, then fill in and send the
    confirmation form it shows."""
    asked = client.post(
        reverse(changelist),
        {"action": action, "_selected_action": [obj.pk for obj in objects]},
    )
    data = form_data(asked.content.decode(), "bulk-confirmation")
    data.update({name: [str(value)] for name, value in choices.items()})
    return client.post(reverse(changelist), data, follow=True)


def topic_choice(name):
    """The article form's value for a stored topic (made if missing)."""
    topic, _ = Topic.objects.get_or_create(name=name, defaults={"slug": name.lower()})
    return [str(topic.pk)]


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


# Bulk actions and topic merges: one revision per article.


def test_a_bulk_action_records_one_revision_per_article(editor_client, editor):
    first, second = make_article(), make_article()
    russia = Topic.objects.create(name="Russia", slug="russia")

    confirm_in_admin(
        editor_client,
        "admin:articles_article_changelist",
        "add_topic",
        [first, second],
        choice=russia.pk,
    )

    revisions = [
        Version.objects.get_for_object(article).get().revision
        for article in (first, second)
    ]
    assert revisions[0] != revisions[1]
    assert [articles_in(r) for r in revisions] == [{first.pk}, {second.pk}]
    for revision in revisions:
        assert revision.user == editor
        assert revision.comment == (
            'Bulk change: Added topic "Russia" to 2 of 2 selected article(s).'
        )
    assert article_history(first)[0].snapshot["Topics"] == "Russia"


def test_a_topic_merge_records_one_revision_per_article(editor_client, editor):
    survivor = Topic.objects.create(name="Russia", slug="russia")
    merged = Topic.objects.create(name="Kremlin", slug="kremlin")
    first, second = make_article(), make_article()
    first.tags.add(merged)
    second.tags.add(merged)

    confirm_in_admin(
        editor_client,
        "admin:articles_topic_changelist",
        "merge_selected_topics",
        [survivor, merged],
        survivor=survivor.pk,
    )

    revisions = [
        Version.objects.get_for_object(article).get().revision
        for article in (first, second)
    ]
    assert [articles_in(r) for r in revisions] == [{first.pk}, {second.pk}]
    assert {r.user for r in revisions} == {editor}
    assert article_history(second)[0].snapshot["Topics"] == "Russia"


# Restoring changes one article and nothing else.


def test_restoring_a_bulk_revision_leaves_the_other_articles_alone(editor_client):
    chosen, other = make_article(), make_article()
    russia = Topic.objects.create(name="Russia", slug="russia")
    confirm_in_admin(
        editor_client,
        "admin:articles_article_changelist",
        "add_topic",
        [chosen, other],
        choice=russia.pk,
    )
    bulk_version = Version.objects.get_for_object(chosen).get()
    # Later work on both stories.
    edit_in_admin(
        editor_client, chosen, headline="Chosen, later", tags=topic_choice("Ukraine")
    )
    make_related_link(other, title="Added later", url="https://example.com/")
    edit_in_admin(
        editor_client, other, headline="Other, later", tags=topic_choice("Belarus")
    )

    response = restore_in_admin(editor_client, chosen, bulk_version)

    assert response.status_code == 302
    chosen.refresh_from_db()
    assert sorted(chosen.tags.names()) == ["Russia"]
    assert chosen.headline != "Chosen, later"
    other.refresh_from_db()
    assert other.headline == "Other, later"
    assert sorted(other.tags.names()) == ["Belarus"]
    assert list(other.related_links.values_list("title", flat=True)) == ["Added later"]


def test_restoring_from_an_old_revision_of_several_articles_changes_one(
    editor_client, editor
):
    """Revisions recorded before bulk work kept one per article hold them all."""
    chosen, other = make_article(headline="Chosen"), make_article(headline="Other")
    with revision_context(user=editor, comment="Bulk change: an old one"):
        chosen.tags.add("Russia")
        other.tags.add("Russia")
    old_revision = Revision.objects.get(comment="Bulk change: an old one")
    assert articles_in(old_revision) == {chosen.pk, other.pk}
    later_article = make_article(headline="Linked later")
    make_related_link(other, title="Added later", target=later_article)
    edit_in_admin(
        editor_client, other, headline="Other, later", tags=topic_choice("Belarus")
    )
    edit_in_admin(editor_client, chosen, headline="Chosen, later")
    version = Version.objects.get_for_object(chosen).get(revision=old_revision)

    response = restore_in_admin(editor_client, chosen, version)

    assert response.status_code == 302
    chosen.refresh_from_db()
    assert chosen.headline == "Chosen"
    other.refresh_from_db()
    assert other.headline == "Other, later"
    assert sorted(other.tags.names()) == ["Belarus"]
    assert [link.target for link in other.related_links.all()] == [later_article]
    latest = Revision.objects.order_by("-pk").first()
    assert articles_in(latest) == {chosen.pk}
    assert latest.comment.startswith("Restored from the revision of")
    assert latest.user == editor


def test_restore_leaves_out_what_no_longer_exists_and_says_so(editor_client):
    photo, kept_person = make_image(), make_person(name="Kept Person")
    gone_person = make_person(name="Gone Person")
    target = make_article(headline="Gone target")
    article = make_article(headline="As it was", lead_image=photo)
    article.tags.add("Kept topic", "Gone topic")
    article.people.add(kept_person, gone_person)
    make_related_link(article, title="To the gone story", target=target)
    edit_in_admin(editor_client, article)
    version = article_history(article)[-1].version
    edit_in_admin(editor_client, article, headline="Changed since", lead_image="")
    gone_topic = Topic.objects.get(name="Gone topic")
    gone_ids = (gone_topic.pk, gone_person.pk, photo.pk)
    gone_topic.delete()
    gone_person.delete()
    photo.delete()
    target.delete()

    form_page = editor_client.get(revision_url(article, version))
    response = editor_client.post(
        revision_url(article, version),
        form_data(form_page.content.decode(), "article_form"),
        follow=True,
    )

    assert response.redirect_chain[0][1] == 302
    [message] = messages_of(response)
    assert message.startswith("“As it was” was restored from the revision of")
    assert message.endswith(
        "Left out, as they no longer exist: topic #{}, person #{}, lead image #{}, "
        "the article linked as “To the gone story”.".format(*gone_ids)
    )
    article.refresh_from_db()
    assert article.headline == "As it was"
    assert article.lead_image is None
    assert list(article.tags.names()) == ["Kept topic"]
    assert list(article.people.all()) == [kept_person]
    [link] = article.related_links.all()
    assert (link.title, link.target) == ("To the gone story", None)


def test_restore_form_shows_the_revision_and_changes_nothing(editor_client):
    person = make_person(name="Vladimir Putin")
    article = make_article(headline="Old headline")
    article.tags.add("Russia")
    article.people.add(person)
    make_related_link(article, title="Old link", url="https://example.com/old")
    edit_in_admin(editor_client, article)
    version = article_history(article)[-1].version
    edit_in_admin(
        editor_client, article, headline="New headline", tags=topic_choice("Ukraine")
    )
    article.people.clear()
    revisions = Revision.objects.count()

    html = editor_client.get(revision_url(article, version)).content.decode()

    data = form_data(html, "article_form")
    assert data["headline"] == ["Old headline"]
    assert data["tags"] == topic_choice("Russia")
    assert data["people"] == [str(person.pk)]
    assert "Old link — https://example.com/old" in html
    article.refresh_from_db()
    assert article.headline == "New headline"
    assert sorted(article.tags.names()) == ["Ukraine"]
    assert Revision.objects.count() == revisions


def test_another_articles_revision_cannot_be_restored_through_this_one(
    editor_client,
):
    article, other = make_article(), make_article()
    edit_in_admin(editor_client, other)
    others_version = Version.objects.get_for_object(other).get()

    response = editor_client.get(revision_url(article, others_version))

    assert response.status_code == 404


# No process-wide signal muting.


def open_restore_form(client):
    """An Editors member's restore form of an article's first revision."""
    editor = User.objects.create_user("threaded", password="pw-thread-1", is_staff=True)
    editor.groups.add(Group.objects.get(name="Editors"))
    client.force_login(editor)
    article = make_article(headline="Old")
    edit_in_admin(client, article)
    edit_in_admin(client, article, headline="New")
    return revision_url(article, article_history(article)[0].version)


def open_recover_form(client):
    """A superuser's form recovering a deleted article."""
    chief = User.objects.create_superuser("threaded-chief", password="pw-chief-2")
    client.force_login(chief)
    return recover_url(deleted_article_version(chief))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("open_form", [open_restore_form, open_recover_form])
def test_a_save_in_another_thread_while_a_revision_form_renders_keeps_its_effects(
    client, monkeypatch, open_form
):
    url = open_form(client)
    elsewhere = make_article(headline="Elsewhere", slug="elsewhere")
    changes_before = PageGeneration.objects.values_list("changes", flat=True).first()
    saved, failures = threading.Event(), []

    def save_elsewhere():
        try:
            elsewhere.slug = "moved-elsewhere"
            elsewhere.save()
        except Exception as error:  # reported by the test below
            failures.append(error)
        finally:
            connection.close()
            saved.set()

    model_admin = admin.site._registry[Article]
    render = model_admin.render_change_form

    def render_while_another_thread_saves(*args, **kwargs):
        threading.Thread(target=save_elsewhere).start()
        saved.wait(timeout=15)
        return render(*args, **kwargs)

    monkeypatch.setattr(
        model_admin, "render_change_form", render_while_another_thread_saves
    )

    response = client.get(url)

    assert response.status_code == 200
    assert saved.is_set() and not failures
    assert SlugRedirect.objects.filter(old_slug="elsewhere").exists()
    assert Version.objects.get_for_object(elsewhere).exists()
    assert PageGeneration.objects.values_list("changes", flat=True).first() not in (
        None,
        changes_before,
    )


# Recovering deleted articles.


def deleted_article_version(editor):
    article = make_article(headline="Deleted by the chief")
    article.tags.add("Russia")
    make_related_link(article, title="Background", url="https://example.com/")
    with revision_context(user=editor):
        article.save()
    version = Version.objects.get_for_object(article).order_by("pk").last()
    article.delete()
    return version


def recover_url(version):
    return reverse("admin:articles_article_recover", args=[version.pk])


def test_editors_see_no_recover_link_and_cannot_recover(editor_client, editor):
    version = deleted_article_version(editor)

    changelist = editor_client.get(reverse("admin:articles_article_changelist"))
    recover_list = editor_client.get(reverse("admin:articles_article_recoverlist"))
    recover = editor_client.get(recover_url(version))
    recover_post = editor_client.post(
        recover_url(version), {"headline": "Deleted by the chief"}
    )

    assert changelist.status_code == 200
    assert reverse("admin:articles_article_recoverlist") not in (
        changelist.content.decode()
    )
    assert [recover_list.status_code, recover.status_code] == [403, 403]
    assert recover_post.status_code == 403
    assert not Article.objects.exists()


def test_a_superuser_may_recover_a_deleted_article(superuser_client, editor):
    version = deleted_article_version(editor)

    changelist = superuser_client.get(reverse("admin:articles_article_changelist"))
    recover_list = superuser_client.get(reverse("admin:articles_article_recoverlist"))
    form_page = superuser_client.get(recover_url(version))
    assert not Article.objects.exists()
    response = superuser_client.post(
        recover_url(version), form_data(form_page.content.decode(), "article_form")
    )

    assert reverse("admin:articles_article_recoverlist") in changelist.content.decode()
    assert "Deleted by the chief" in recover_list.content.decode()
    assert response.status_code == 302
    article = Article.objects.get()
    assert str(article.pk) == version.object_id
    assert article.headline == "Deleted by the chief"
    assert list(article.tags.names()) == ["Russia"]
    assert list(article.related_links.values_list("title", flat=True)) == ["Background"]
    assert article_history(article)[-1].revision.comment.startswith(
        "Recovered from the revision of"
    )


def test_people_are_kept_when_the_revision_is_restored_twice(editor_client):
    """Restoring is repeatable: the second restore of the same revision finds
    nothing left to change but records the restore all the same."""
    person = make_person(name="Kept")
    article = make_article(headline="First")
    article.people.add(person)
    edit_in_admin(editor_client, article)
    version = article_history(article)[-1].version
    edit_in_admin(editor_client, article, headline="Second", people=[])

    restore_in_admin(editor_client, article, version)
    restore_in_admin(editor_client, article, version)

    article.refresh_from_db()
    assert (article.headline, list(article.people.all())) == ("First", [person])
    assert [e.revision.comment[:30] for e in article_history(article)][-2:] == [
        "Restored from the revision of ",
        "Restored from the revision of ",
    ]
    assert Person.objects.count() == 1


def test_a_restore_whose_slug_was_taken_since_says_so_and_changes_nothing(
    editor_client,
):
    article = make_article(headline="First", slug="the-slug")
    edit_in_admin(editor_client, article)
    version = article_history(article)[-1].version
    edit_in_admin(editor_client, article, headline="Second", slug="another-slug")
    make_article(slug="the-slug")
    revisions = Revision.objects.count()

    response = restore_in_admin(editor_client, article, version)

    assert response.status_code == 200
    assert "Article with this Slug already exists." in response.content.decode()
    article.refresh_from_db()
    assert (article.headline, article.slug) == ("Second", "another-slug")
    assert Revision.objects.count() == revisions


def test_a_field_an_old_revision_did_not_record_keeps_its_current_value(
    editor_client,
):
    """A revision recorded before a field existed says nothing about it."""
    article = make_article(headline="Old")
    edit_in_admin(editor_client, article)
    version = article_history(article)[-1].version
    recorded = json.loads(version.serialized_data)
    del recorded[0]["fields"]["image_credit"]
    Version.objects.filter(pk=version.pk).update(serialized_data=json.dumps(recorded))
    edit_in_admin(editor_client, article, headline="New", image_credit="Agency")

    restore_in_admin(editor_client, article, Version.objects.get(pk=version.pk))

    article.refresh_from_db()
    assert (article.headline, article.image_credit) == ("Old", "Agency")


def test_a_restore_opened_before_someone_elses_save_shows_the_conflict(
    editor_client,
):
    """The restore form carries the version it was opened at, as the change
    form does (articles/conflicts.py): a save in between is not overwritten."""
    article = make_article(headline="First")
    edit_in_admin(editor_client, article)
    version = article_history(article)[-1].version
    edit_in_admin(editor_client, article, headline="Second")
    opened = form_data(
        editor_client.get(revision_url(article, version)).content.decode(),
        "article_form",
    )
    edit_in_admin(editor_client, article, headline="Third, meanwhile")

    response = editor_client.post(revision_url(article, version), opened)

    assert response.status_code == 409
    assert 'id="article_conflict_form"' in response.content.decode()
    article.refresh_from_db()
    assert article.headline == "Third, meanwhile"
