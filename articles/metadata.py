"""What each reader page tells search engines and social networks.

Every address here is absolute and built from settings.SITE_URL, never from the
request's Host header. JSON-LD is plain Python data; the `json_ld` template
filter serialises it so that no text can close the <script> element.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator

from articles import renditions
from articles.bylines import Author, authors_of
from articles.models import Person


@dataclass
class PageMeta:
    title: str
    description: str
    path: str
    og_type: str = "website"
    breadcrumbs: list = field(default_factory=list)  # (name, path) pairs
    json_ld: list = field(default_factory=list)
    article_times: dict = field(default_factory=dict)
    article_tags: list = field(default_factory=list)
    image: renditions.Rendition | None = None  # the 1200×630 social rendition
    image_alt: str = ""

    @property
    def canonical_url(self):
        return absolute_url(self.path)


def absolute_url(path):
    return f"{settings.SITE_URL}{path}"


def home(page):
    path = _page_path(reverse("articles:home"), page)
    title = "Latest news" if page.number == 1 else f"Latest news, page {page.number}"
    website = {
        "@context": "https://schema.org",
        "@type": "WebSite",
        "name": settings.SITE_NAME,
        "url": absolute_url("/"),
    }
    return PageMeta(
        title=title,
        description=f"The latest news from {settings.SITE_NAME}.",
        path=path,
        json_ld=[website],
    )


def article(article):
    path = article.get_absolute_url()
    topics = topics_of(article)
    people = list(article.people.all())
    trail = [("Home", reverse("articles:home"))]
    if topics:
        # The first topic by name stands for the section the story is filed in.
        trail.append((topics[0].name, topics[0].get_absolute_url()))
    trail.append((article.headline, path))
    published, modified = article.published_at, article.modified_at
    news_article = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": article.headline,
        "description": describe(article),
        "articleBody": article.body_text,
        "url": absolute_url(path),
        "mainEntityOfPage": {"@type": "WebPage", "@id": absolute_url(path)},
        "datePublished": iso_datetime(published),
        "dateModified": iso_datetime(modified),
        "keywords": [topic.name for topic in topics],
        "about": [_person(person) for person in people],
        "mentions": [_person(person) for person in people],
        "author": credits(article),
        "publisher": _publisher(),
        "isAccessibleForFree": True,
        "inLanguage": language_tag(),
        "correction": [
            {
                "@type": "CorrectionComment",
                "text": correction.text,
                "datePublished": iso_datetime(correction.published_at),
            }
            for correction in article.corrections.all()
        ],
    }
    if topics:
        news_article["articleSection"] = topics[0].name
    social = social_image(article)
    if social:
        news_article["image"] = image_object(article)
    return PageMeta(
        image=social,
        image_alt=article.lead_image.alt_text if social else "",
        title=article.headline,
        description=describe(article),
        path=path,
        og_type="article",
        breadcrumbs=trail,
        json_ld=[_drop_empty(news_article), _breadcrumb_list(trail)],
        article_times={"published_time": published, "modified_time": modified},
        article_tags=[topic.name for topic in topics],
    )


def credits(article):
    """JSON-LD `author`: each author a Person, or the publication when the story
    has no byline (prefetch bylines with bylines.bylines_prefetch)."""
    authors = authors_of(article)
    if not authors:
        return [
            {
                "@type": "Organization",
                "name": settings.SITE_NAME,
                "url": absolute_url("/"),
            }
        ]
    return [_author(author) for author in authors]


def social_image(article):
    """The 1200×630 JPEG for social cards and feeds (the original until it is
    made), or None with no photo."""
    if not article.lead_image_id:
        return None
    return renditions.largest(article.lead_image, "social", "jpeg")


def image_object(article):
    """schema.org ImageObject for the story's photo, with its credit."""
    photo = renditions.largest(article.lead_image, "full", "jpeg")
    return _drop_empty(
        {
            "@type": "ImageObject",
            "url": photo.absolute_url,
            "contentUrl": photo.absolute_url,
            "width": photo.width,
            "height": photo.height,
            "caption": article.photo_caption,
            "creditText": article.photo_credit,
            "description": article.lead_image.alt_text,
        }
    )


def topic_index():
    return _index("Topics", "articles:topics", "Every topic we cover.")


def person_index():
    return _index("People", "articles:people", "Everyone in our stories.")


def corrections(page):
    """/corrections/: every correction and clarification, newest first."""
    title = "Corrections and clarifications"
    path = reverse("articles:corrections")
    trail = [("Home", reverse("articles:home")), (title, path)]
    return PageMeta(
        title=title if page.number == 1 else f"{title}, page {page.number}",
        description=f"Every correction and clarification to stories from "
        f"{settings.SITE_NAME}, newest first.",
        path=_page_path(path, page),
        breadcrumbs=trail,
        json_ld=[_breadcrumb_list(trail)],
    )


def listing(subject, page):
    """A topic's page (CollectionPage), a person's or an author's (ProfilePage)."""
    is_author = isinstance(subject, Author)
    is_person = is_author or isinstance(subject, Person)
    path = _page_path(subject.get_absolute_url(), page)
    trail = [("Home", reverse("articles:home"))]
    if not is_author:  # Authors have no index page.
        index = (
            ("People", "articles:people")
            if is_person
            else ("Topics", "articles:topics")
        )
        trail.append((index[0], reverse(index[1])))
    trail.append((subject.name, subject.get_absolute_url()))
    if is_author:
        description = subject.job_title or (
            f"Stories by {subject.name} for {settings.SITE_NAME}."
        )
    else:
        description = subject.description or (
            f"News about {subject.name} from {settings.SITE_NAME}."
        )
    title = subject.name if page.number == 1 else f"{subject.name}, page {page.number}"
    stories = {
        "@type": "ItemList",
        "itemListElement": [
            {
                "@type": "ListItem",
                "position": page.start_index() + offset,
                "url": absolute_url(story.get_absolute_url()),
                "name": story.headline,
            }
            for offset, story in enumerate(page.object_list)
        ],
    }
    if is_author:
        page_data = {
            "@type": "ProfilePage",
            "mainEntity": _author(subject, profile=True),
            "hasPart": stories,
        }
    elif is_person:
        page_data = {
            "@type": "ProfilePage",
            "mainEntity": _drop_empty(_person(subject) | {"description": subject.bio}),
            "hasPart": stories,
        }
    else:
        page_data = {
            "@type": "CollectionPage",
            "about": {"@type": "Thing", "name": subject.name},
            "mainEntity": stories,
        }
    page_data = {
        "@context": "https://schema.org",
        **page_data,
        "name": title,
        "description": description,
        "url": absolute_url(path),
        "isPartOf": {
            "@type": "WebSite",
            "name": settings.SITE_NAME,
            "url": absolute_url("/"),
        },
    }
    return PageMeta(
        title=title,
        description=description,
        path=path,
        og_type="profile" if is_person else "website",
        breadcrumbs=trail,
        json_ld=[_drop_empty(page_data), _breadcrumb_list(trail)],
    )


def topics_of(article):
    """The article's topics by name (taggit's prefetch leaves them unordered)."""
    return sorted(article.tags.all(), key=lambda topic: topic.name.casefold())


def iso_datetime(moment):
    """Whole seconds in the site's time zone: HTML allows at most milliseconds."""
    if moment is None:
        return None
    return timezone.localtime(moment).replace(microsecond=0).isoformat()


def language_tag():
    """settings.LANGUAGE_CODE ("en-gb") as written in HTML and JSON-LD ("en-GB")."""
    language, _, region = settings.LANGUAGE_CODE.partition("-")
    return f"{language}-{region.upper()}" if region else language


def describe(article):
    """The standfirst, or the start of the body when there is none."""
    if article.standfirst:
        return article.standfirst
    paragraphs = article.paragraphs()
    return Truncator(paragraphs[0]).chars(200) if paragraphs else article.headline


def _index(title, url_name, description):
    path = reverse(url_name)
    trail = [("Home", reverse("articles:home")), (title, path)]
    return PageMeta(
        title=title,
        description=description,
        path=path,
        breadcrumbs=trail,
        json_ld=[_breadcrumb_list(trail)],
    )


def _page_path(path, page):
    return path if page.number == 1 else f"{path}?page={page.number}"


def _person(person):
    return _drop_empty(
        {
            "@type": "Person",
            "name": person.name,
            "url": absolute_url(person.get_absolute_url()),
            "jobTitle": person.description,
        }
    )


def _author(author, profile=False):
    """schema.org Person for an author; with profile, all their page shows."""
    data = {
        "@type": "Person",
        "name": author.name,
        "url": absolute_url(author.get_absolute_url()),
        "jobTitle": author.job_title,
    }
    if profile:
        data["description"] = author.bio
        data["sameAs"] = author.profile_links()
        if author.photo_id:
            data["image"] = renditions.largest(
                author.photo, "full", "jpeg"
            ).absolute_url
    return _drop_empty(data)


def _publisher():
    return {
        "@type": "NewsMediaOrganization",
        "name": settings.SITE_NAME,
        "url": absolute_url("/"),
    }


def _breadcrumb_list(trail):
    return {
        "@context": "https://schema.org",
        "@type": "BreadcrumbList",
        "itemListElement": [
            {
                "@type": "ListItem",
                "position": position,
                "name": name,
                "item": absolute_url(path),
            }
            for position, (name, path) in enumerate(trail, start=1)
        ],
    }


def _drop_empty(data):
    return {key: value for key, value in data.items() if value not in (None, "", [])}
