"""What pages tell search engines and social networks."""

import json
import re

import pytest
from pytest_django.asserts import assertContains

from tests.conftest import make_article, make_person

pytestmark = pytest.mark.django_db

SITE = "https://news.example.com"


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = SITE
    settings.SITE_NAME = "The Example Times"


def json_ld(response):
    blocks = re.findall(
        r'<script type="application/ld\+json">(.*?)</script>',
        response.content.decode(),
        re.DOTALL,
    )
    return {data["@type"]: data for data in map(json.loads, blocks)}


def meta(response, name):
    html = response.content.decode()
    found = re.search(rf'<meta (?:name|property)="{name}" content="([^"]*)">', html)
    return found and found.group(1)


@pytest.fixture
def article():
    article = make_article(
        slug="putin-backs-plan",
        headline="Putin backs plan",
        standfirst="A decree was published on Tuesday.",
    )
    article.tags.add("Russia", "Belarus")
    article.people.add(
        make_person(name="Vladimir Putin", slug="vladimir-putin", description="Pres")
    )
    return article


def test_article_head_has_title_description_canonical_and_social_cards(client, article):
    response = client.get("/articles/putin-backs-plan/")
    url = f"{SITE}/articles/putin-backs-plan/"
    assertContains(response, "<title>Putin backs plan | The Example Times</title>")
    assertContains(
        response,
        '<meta name="description" content="A decree was published on Tuesday.">',
    )
    assertContains(response, f'<link rel="canonical" href="{url}">')
    assert meta(response, "og:type") == "article"
    assert meta(response, "og:title") == "Putin backs plan"
    assert meta(response, "og:description") == "A decree was published on Tuesday."
    assert meta(response, "og:url") == url
    assert meta(response, "og:site_name") == "The Example Times"
    assert meta(response, "twitter:card") == "summary"
    assert meta(response, "article:published_time").startswith(
        article.published_at.date().isoformat()
    )
    assertContains(response, '<meta property="article:tag" content="Russia">')


def test_article_json_ld_is_a_news_article_with_people_and_keywords(client, article):
    data = json_ld(client.get("/articles/putin-backs-plan/"))
    news = data["NewsArticle"]
    url = f"{SITE}/articles/putin-backs-plan/"
    assert news["@context"] == "https://schema.org"
    assert news["headline"] == "Putin backs plan"
    assert news["description"] == "A decree was published on Tuesday."
    assert news["mainEntityOfPage"] == {"@type": "WebPage", "@id": url}
    assert news["datePublished"].startswith(article.published_at.date().isoformat())
    assert news["dateModified"] >= news["datePublished"]
    assert sorted(news["keywords"]) == ["Belarus", "Russia"]
    putin = {
        "@type": "Person",
        "name": "Vladimir Putin",
        "url": f"{SITE}/people/vladimir-putin/",
        "jobTitle": "Pres",
    }
    assert news["mentions"] == [putin]
    assert news["about"] == [putin]
    assert news["publisher"]["name"] == "The Example Times"
    trail = data["BreadcrumbList"]["itemListElement"]
    assert [item["item"] for item in trail] == [
        f"{SITE}/",
        f"{SITE}/tags/belarus/",  # the first topic by name
        url,
    ]


def test_topic_page_is_a_collection_page_with_a_breadcrumb_trail(client, article):
    response = client.get("/tags/russia/")
    data = json_ld(response)
    collection = data["CollectionPage"]
    assert collection["url"] == f"{SITE}/tags/russia/"
    assert collection["mainEntity"]["itemListElement"] == [
        {
            "@type": "ListItem",
            "position": 1,
            "url": f"{SITE}/articles/putin-backs-plan/",
            "name": "Putin backs plan",
        }
    ]
    assert [item["name"] for item in data["BreadcrumbList"]["itemListElement"]] == [
        "Home",
        "Topics",
        "Russia",
    ]
    assertContains(response, f'<link rel="canonical" href="{SITE}/tags/russia/">')


def test_person_page_is_a_profile_page(client, article):
    response = client.get("/people/vladimir-putin/")
    profile = json_ld(response)["ProfilePage"]
    assert profile["mainEntity"]["@type"] == "Person"
    assert profile["mainEntity"]["name"] == "Vladimir Putin"
    assert profile["url"] == f"{SITE}/people/vladimir-putin/"
    assert meta(response, "og:type") == "profile"


def test_later_pages_are_their_own_canonical_address(client):
    person = make_person(slug="busy")
    for _ in range(21):
        make_article().people.add(person)
    response = client.get("/people/busy/?page=2")
    assertContains(
        response, f'<link rel="canonical" href="{SITE}/people/busy/?page=2">'
    )
    assertContains(response, "<title>Person")


def test_absolute_urls_ignore_the_host_header(client, article, settings):
    settings.ALLOWED_HOSTS = ["*"]
    response = client.get("/articles/putin-backs-plan/", HTTP_HOST="evil.example")
    html = response.content.decode()
    assert "evil.example" not in html
    assert f"{SITE}/articles/putin-backs-plan/" in html


def test_hostile_text_cannot_break_out_of_json_ld(client):
    hostile = '</script><script>alert("x")</script><!-- & "quoted"'
    make_article(slug="hostile", headline=hostile, standfirst=hostile)
    response = client.get("/articles/hostile/")
    html = response.content.decode()
    assert "<script>alert" not in html
    assert "<!--" not in html.split("<body>")[0]
    news = json_ld(response)["NewsArticle"]
    assert news["headline"] == hostile
    assert news["description"] == hostile


def test_description_falls_back_to_the_start_of_the_body(client):
    make_article(slug="no-standfirst", standfirst="", body="First words.\n\nMore.")
    response = client.get("/articles/no-standfirst/")
    assertContains(response, '<meta name="description" content="First words.">')
