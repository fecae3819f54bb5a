from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from articles.models import Article, RelatedLink
from tests.conftest import make_article, make_person, make_related_link

pytestmark = pytest.mark.django_db


def test_published_leaves_out_drafts_and_future_articles():
    live = make_article()
    make_article(status=Article.Status.DRAFT, published_at=None)
    make_article(status=Article.Status.DRAFT, published_at=timezone.now())
    make_article(published_at=timezone.now() + timedelta(minutes=5))

    assert list(Article.objects.published()) == [live]


def test_article_slugs_are_unique():
    make_article(slug="same-slug")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_article(slug="same-slug")


def test_person_slugs_are_unique():
    make_person(slug="vladimir-putin")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_person(slug="vladimir-putin")


def test_publishing_without_a_time_stamps_now():
    before = timezone.now()
    article = make_article(status=Article.Status.PUBLISHED, published_at=None)
    assert article.published_at >= before
    assert article.is_published


def test_absolute_urls_follow_the_public_routes():
    article = make_article(slug="a-story")
    person = make_person(slug="xi-jinping")
    article.tags.add("Russia")
    topic = article.tags.get()

    assert article.get_absolute_url() == "/articles/a-story/"
    assert person.get_absolute_url() == "/people/xi-jinping/"
    assert topic.get_absolute_url() == "/tags/russia/"


def test_related_links_come_back_in_position_order():
    article = make_article()
    make_related_link(article, title="Second", position=2)
    make_related_link(article, title="First", position=1)
    assert [link.title for link in article.related_links.all()] == ["First", "Second"]


@pytest.mark.parametrize(
    "address", ["javascript:alert(1)", "ftp://example.com/file", "data:text/html,x"]
)
def test_related_link_refuses_non_web_addresses(address):
    link = RelatedLink(article=make_article(), title="Bad", url=address)
    with pytest.raises(ValidationError) as raised:
        link.full_clean()
    assert raised.value.message_dict["url"] == [
        "Enter a web address that starts with http:// or https://."
    ]


def test_body_paragraphs_split_on_blank_lines():
    article = make_article(body="One.\n\nTwo\nstill two.\n\n\nThree.")
    assert article.paragraphs() == ["One.", "Two\nstill two.", "Three."]
