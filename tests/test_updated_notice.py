from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from reversion.models import Version

from articles.history import revision_context
from articles.models import Article
from tests.conftest import make_article, make_person
from tests.html_forms import form_data

pytestmark = pytest.mark.django_db

PUBLISHED = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
EDITED = datetime(2024, 5, 1, 11, 30, tzinfo=UTC)


def published_article(**fields):
    with time_machine.travel(PUBLISHED, tick=False):
        return make_article(published_at=PUBLISHED, **fields)


def saved_at(moment, article, **changes):
    for name, value in changes.items():
        setattr(article, name, value)
    with time_machine.travel(moment, tick=False):
        article.save()
    article.refresh_from_db()
    return article


@pytest.mark.parametrize(
    "field", ["headline", "standfirst", "body"], ids=lambda name: name
)
def test_changing_the_text_of_a_published_article_stamps_the_notice(field):
    article = saved_at(EDITED, published_article(), **{field: "Rewritten."})
    assert article.content_updated_at == EDITED


def test_slug_topic_person_and_photo_changes_leave_the_notice_alone():
    article = published_article()
    article.tags.add("Russia")
    article.people.add(make_person())
    article = saved_at(EDITED, article, slug="moved", image_caption="New caption")
    assert article.content_updated_at is None


def test_a_minor_edit_leaves_the_notice_alone_and_applies_once():
    article = published_article()
    article.minor_edit = True
    article = saved_at(EDITED, article, body="Typo fixed.")
    assert article.content_updated_at is None

    later = EDITED + timedelta(hours=1)
    article = saved_at(later, article, body="A real update.")
    assert article.content_updated_at == later


def test_drafts_and_scheduled_articles_have_no_notice():
    draft = make_article(status=Article.Status.DRAFT, published_at=None)
    scheduled = make_article(published_at=EDITED + timedelta(days=1))
    for article in [draft, scheduled]:
        assert (
            saved_at(EDITED, article, body="Still being written.").content_updated_at
            is None
        )


def test_editor_update_in_admin_stamps_unless_minor_edit_is_ticked(editor_client):
    article = published_article()
    url = reverse("admin:articles_article_change", args=[article.pk])
    data = form_data(editor_client.get(url).content.decode(), "article_form")

    data.update(body=["Typo fixed."], minor_edit=["on"])
    with time_machine.travel(EDITED, tick=False):
        assert editor_client.post(url, data).status_code == 302
    article.refresh_from_db()
    assert article.content_updated_at is None

    data.pop("minor_edit")
    data.update(body=["New facts."])
    with time_machine.travel(EDITED, tick=False):
        assert editor_client.post(url, data).status_code == 302
    article.refresh_from_db()
    assert article.content_updated_at == EDITED


def test_restoring_an_older_text_counts_as_an_update():
    article = published_article(headline="Original")
    with revision_context():
        article.save()
    saved_at(EDITED, article, headline="Changed")
    first = Version.objects.get_for_object(article).order_by("pk").first()
    restored_at = EDITED + timedelta(hours=2)
    with time_machine.travel(restored_at, tick=False):
        first.revision.revert(delete=True)

    article.refresh_from_db()
    assert article.headline == "Original"
    assert article.content_updated_at == restored_at
