import json
import re
from datetime import UTC, datetime, timedelta

import feedparser
import pytest
import time_machine
from django.urls import reverse
from reversion.models import Version

from articles.history import revision_context
from articles.metadata import iso_datetime
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

    # A form opened afresh: the one posted above is out of date once it is saved.
    data = form_data(editor_client.get(url).content.decode(), "article_form")
    data.pop("minor_edit", None)
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


# One rule for the page's "Updated" time, dateModified, feeds and sitemaps


def day(number, hour=9):
    return datetime(2024, 5, number, hour, 0, tzinfo=UTC)


def modified_times(client, article):
    """What each place tells readers and crawlers about when the story changed."""
    page = client.get(article.get_absolute_url()).content.decode()
    json_ld = json.loads(
        re.search(r'<script type="application/ld\+json">(.*?)</script>', page)[1]
    )
    og = re.search(r'<meta property="article:modified_time" content="([^"]+)">', page)
    updated = re.search(r'<span>Updated <time datetime="([^"]+)">', page)
    feed = feedparser.parse(client.get("/feeds/atom/").content)
    (entry,) = feed.entries
    sitemap = client.get("/sitemap-articles.xml").content.decode()
    return {
        "dateModified": json_ld["dateModified"],
        "article:modified_time": og[1],
        "feed updated": datetime(*entry.updated_parsed[:6], tzinfo=UTC),
        "sitemap lastmod": re.search(r"<lastmod>([^<]+)</lastmod>", sitemap)[1],
        "Updated notice": updated and updated[1],
    }


def expected(modified, notice=None):
    return {
        "dateModified": iso_datetime(modified),
        "article:modified_time": iso_datetime(modified),
        "feed updated": modified,
        "sitemap lastmod": modified.date().isoformat(),
        "Updated notice": notice and iso_datetime(notice),
    }


def test_page_json_ld_feeds_and_sitemaps_follow_one_rule(client):
    with time_machine.travel(day(1), tick=False):
        article = make_article(published_at=day(1))
    assert modified_times(client, article) == expected(day(1))

    # Address, topics, people and photo caption: not an update.
    with time_machine.travel(day(2), tick=False):
        article.slug, article.image_caption = "moved-story", "New caption"
        article.save()
        article.tags.add("Russia")
        article.people.add(make_person())
    assert modified_times(client, article) == expected(day(1))

    # A typo fixed as a minor edit: not an update either.
    with time_machine.travel(day(3), tick=False):
        article.body, article.minor_edit = "Typo fixed.", True
        article.save()
    assert modified_times(client, article) == expected(day(1))

    # New text: "Updated", and everything else moves with it.
    with time_machine.travel(day(4), tick=False):
        article.body = "New facts."
        article.save()
    assert modified_times(client, article) == expected(day(4), notice=day(4))

    # A correction moves dateModified and the rest, but not the notice.
    with time_machine.travel(day(5, hour=12), tick=False):
        article.corrections.create(text="A fix.", published_at=day(5))
    assert modified_times(client, article) == expected(day(5), notice=day(4))


def test_modified_at_of_many_articles_in_one_query(django_assert_num_queries):
    with time_machine.travel(day(1), tick=False):
        plain = make_article(published_at=day(1))
        edited = make_article(published_at=day(1))
        corrected = make_article(published_at=day(1))
    with time_machine.travel(day(3), tick=False):
        edited.body = "New facts."
        edited.save()
    corrected.corrections.create(text="A fix.", published_at=day(2))
    articles = Article.objects.filter(pk__in=[plain.pk, edited.pk, corrected.pk])

    with django_assert_num_queries(1):
        assert articles.last_modified_at() == day(3)
    assert articles.exclude(pk=edited.pk).last_modified_at() == day(2)
    assert articles.filter(pk=plain.pk).last_modified_at() == day(1)
    assert [a.modified_at for a in articles.order_by("pk")] == [day(1), day(3), day(2)]


def test_browser_line_breaks_in_an_untouched_body_are_not_an_update():
    article = make_article(body="One.\n\nTwo.", standfirst="Short.\nStill short.")
    article.body = "One.\r\n\r\nTwo."  # as a browser's textarea sends it
    article.standfirst = "Short.\r\nStill short."
    article.save()
    article.refresh_from_db()
    assert article.body == "One.\n\nTwo."
    assert article.standfirst == "Short.\nStill short."
    assert article.content_updated_at is None
