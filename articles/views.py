"""The reader site: server-rendered pages, each in a fixed number of queries.

Each page records the delivery keys of what it shows (articles/delivery/keys.py),
from which the page cache and the validators work.
"""

import copy
import re
import sys

from django.conf import settings
from django.core.paginator import InvalidPage, Paginator
from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    Subquery,
    prefetch_related_objects,
)
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponseServerError
from django.shortcuts import get_object_or_404, redirect, render
from django.template import loader
from django.templatetags.static import static
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.views.decorators.cache import cache_control
from django.views.decorators.csrf import requires_csrf_token

from articles import frontpage, metadata
from articles.bylines import Author, bylines_prefetch
from articles.delivery import keys
from articles.delivery.memo import MISSING, keep, recall, remember
from articles.models import (
    Article,
    Correction,
    Person,
    RelatedLink,
    TaggedArticle,
    Topic,
)
from articles.search import MAX_QUERY_LENGTH, parse_query, search_articles
from articles.templatetags.story_body import BodyReferences, resolve_bodies
from articles.together import fetch_together
from newsroom.health import database_unavailable

PAGE_SIZE = 20
MORE_ON_THIS = 4
POSITIVE_NUMBER = re.compile(r"[1-9][0-9]{0,8}")
# What a card or link never shows: left in the database, not kept in memory.
UNSHOWN_ON_CARDS = ("body", "body_text")
# What a story page shows attached to the story, by the names it is fetched by
# (its bylines come with its cards': fetch_bylines).
ATTACHMENTS = ("tags", "people", "related_links", "corrections")


def home(request):
    """The front page: the stories editors put in its places (articles/frontpage.py),
    the newest stories in the places left, then the newest of the rest.

    Five queries whatever it holds: slots, count, page, topics, bylines.
    """
    curated = frontpage.curated_stories()
    # Curated stories are on the first page's front, so no page lists them again.
    page = paginate(
        request, frontpage.newest_besides(curated).select_related("lead_image")
    )
    stories = list(page.object_list)
    lead, top_stories = None, []
    if page.number == 1:
        lead, top_stories, stories = frontpage.arrange(curated, stories)
    shown = [story for story in (lead, *top_stories, *stories) if story is not None]
    prefetch_related_objects(shown, "tags", bylines_prefetch())
    keys.record(request, keys.HOME)
    keys.record_cards(request, shown)
    return render(
        request,
        "articles/home.html",
        {
            "page": page,
            "lead": lead,
            "top_stories": top_stories,
            "stories": stories,
            "meta": metadata.home(page),
        },
    )


@keys.first_query_reads_site
def article_detail(request, slug):
    article = published_story(request, slug)
    preview = article is None
    if preview:
        if not can_preview(request):
            raise Http404("No published article has that address.")
        article = article_with_everything(Article.objects.filter(slug=slug))
        if article is None:
            raise Http404("No article has that address.")
    return render_article(request, article, preview)


def render_article(request, article, preview=False, preview_label=""):
    """The story page; a preview (a draft for staff, or the admin's preview of
    unsaved changes) is marked as one, noindex, and never cached."""
    related = more_on_this(article, None if preview else request)
    fetch_bylines(article, related, None if preview else request)
    if getattr(article, "resolved_body", None) is None:
        resolve_bodies([article])  # before its keys are taken: they name its links
    # Everything the page shows; its parts drawn from content only are kept
    # while these keep their versions (None: a preview, drawn each time).
    page_keys = None
    if preview:
        meta = metadata.article(article)
    else:
        page_keys = keys.of_story(article).union(*map(keys.of_card, related))
        # Depends on the story and what it names only: kept while they stay.
        meta = remember(
            request,
            ("article_meta", article.pk),
            keys.of_story_itself(article),
            lambda: metadata.article(article),
        )
    response = render(
        request,
        "articles/article_detail.html",
        {
            "article": article,
            "topics": metadata.topics_of(article),
            "preview": preview,
            "preview_label": preview_label,
            "more_on_this": related,
            "meta": meta,
            "page_keys": page_keys,
        },
    )
    if preview:
        return never_cached(response)
    keys.record(request, *page_keys)
    return response


def topic_list(request):
    published = Article.objects.published()
    topics = (
        Topic.objects.annotate(
            story_count=Count(
                "tagged_articles",
                filter=Q(tagged_articles__content_object__in=published),
            )
        )
        .filter(story_count__gt=0)
        .order_by("name")
    )
    keys.record(request, keys.TOPICS)
    return render(
        request,
        "articles/topic_list.html",
        {"topics": topics, "meta": metadata.topic_index()},
    )


def topic_detail(request, slug):
    topic = get_object_or_404(Topic, slug=slug)
    articles = Article.objects.published().filter(
        pk__in=TaggedArticle.objects.filter(tag=topic).values("content_object")
    )
    keys.record(request, keys.topic(topic.pk), keys.topic_list(topic.pk))
    return _listing(request, "articles/topic_detail.html", topic, articles)


def person_list(request):
    published = Article.objects.published()
    people = (
        Person.objects.annotate(
            story_count=Count("articles", filter=Q(articles__in=published))
        )
        .filter(story_count__gt=0)
        .order_by("name")
    )
    keys.record(request, keys.PEOPLE)
    return render(
        request,
        "articles/person_list.html",
        {"people": people, "meta": metadata.person_index()},
    )


def person_detail(request, slug):
    person = get_object_or_404(Person, slug=slug)
    articles = Article.objects.published().filter(people=person)
    keys.record(request, keys.person(person.pk), keys.person_list(person.pk))
    return _listing(request, "articles/person_detail.html", person, articles)


def author_detail(request, slug):
    author = get_object_or_404(Author.objects.select_related("photo"), slug=slug)
    articles = Article.objects.published().filter(bylines__author=author)
    keys.record(request, keys.author(author.pk), keys.author_list(author.pk))
    if author.photo_id:
        keys.record(request, keys.image(author.photo_id))
    return _listing(request, "articles/author_detail.html", author, articles)


def correction_list(request):
    """Every correction and clarification with its story, newest first."""
    corrections = (
        Correction.objects.published()
        .select_related("article")
        .order_by("-published_at", "-id")
    )
    page = paginate(request, corrections)
    keys.record(request, keys.CORRECTIONS)
    return render(
        request,
        "articles/correction_list.html",
        {"page": page, "meta": metadata.corrections(page)},
    )


def _listing(request, template_name, subject, articles):
    """A topic's, person's or author's page: who or what it is, then the stories."""
    page = paginate(
        request,
        articles.select_related("lead_image").prefetch_related(bylines_prefetch()),
    )
    # Nothing published yet: the page would only tell readers about a draft.
    preview = page.paginator.count == 0
    if preview and not can_preview(request):
        raise Http404("Nothing has been published here yet.")
    response = render(
        request,
        template_name,
        {
            "subject": subject,
            "page": page,
            "preview": preview,
            "meta": metadata.listing(subject, page),
        },
    )
    if preview:
        return never_cached(response)
    keys.record_cards(request, page.object_list)
    return response


def favicon(request):
    """Browsers and crawlers ask for /favicon.ico whatever the page links."""
    response = redirect(static("favicon.ico"))
    patch_cache_control(response, public=True, max_age=86400)
    return response


@requires_csrf_token
def server_error(request, template_name="500.html"):
    """The 500 page from the template alone: no database, no context processors.

    Django calls this for whatever a view or a middleware failed with; when
    that is the database being away, readers get the 503 page instead.
    """
    if unavailable := database_unavailable(request, sys.exception()):
        return unavailable
    template = loader.get_template(template_name)
    return HttpResponseServerError(template.render({"SITE_NAME": settings.SITE_NAME}))


def paginate(request, queryset):
    """The requested page of 20; anything but a page number in range is a 404."""
    number = request.GET.get("page", "1")
    if not POSITIVE_NUMBER.fullmatch(number):
        raise Http404("Page numbers are whole numbers from 1.")
    try:
        return Paginator(queryset, PAGE_SIZE).page(int(number))
    except InvalidPage:
        raise Http404("There is no page with that number.") from None


def can_preview(request):
    """Staff who may read articles in the admin may read drafts on the site."""
    user = request.user
    return user.is_staff and user.has_perm("articles.view_article")


def never_cached(response):
    # A draft must never reach a shared cache, nor the browser's own.
    add_never_cache_headers(response)
    return response


def more_on_this(article, request=None):
    """Up to four other published stories sharing the most topics and people.

    For a request: remembered while the lists of its topics and people and the
    cards it found (with the bylines the page fetches into them) keep their
    versions.
    """
    if request is None:
        return _more_on_this(article)
    lists = {keys.topic_list(topic.pk) for topic in article.tags.all()}
    lists |= {keys.person_list(person.pk) for person in article.people.all()}
    return remember(
        request,
        ("more_on_this", article.pk),
        lists,
        lambda: _more_on_this(article),
        lambda stories: set().union(*map(keys.of_card, stories)),
    )


def _more_on_this(article):
    topic_ids = [topic.pk for topic in article.tags.all()]
    person_ids = [person.pk for person in article.people.all()]
    if not topic_ids and not person_ids:
        return []
    shares_a_topic = TaggedArticle.objects.filter(tag__in=topic_ids)
    shares_a_person = Article.people.through.objects.filter(person__in=person_ids)
    stories = (
        Article.objects.published()
        .select_related("lead_image")
        .defer(*UNSHOWN_ON_CARDS)
        .exclude(pk=article.pk)
        .filter(
            Q(pk__in=shares_a_topic.values("content_object"))
            | Q(pk__in=shares_a_person.values("article"))
        )
        .annotate(
            shared=_count_per_story(shares_a_topic, "content_object")
            + _count_per_story(shares_a_person, "article")
        )
        .order_by("-shared", "-published_at", "-pk")
    )
    return list(stories[:MORE_ON_THIS])


def _count_per_story(rows, story_field):
    """How many of rows belong to each story, as a subquery per story: no
    GROUP BY of whole stories (bodies and all) to sort them."""
    counted = (
        rows.filter(**{story_field: OuterRef("pk")})
        .values(story_field)
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(counted), 0)


def article_with_everything(articles):
    """The one article of `articles` with its topics, people, links and
    corrections, and its body resolved, or None: two queries."""
    article = _story_row(articles)
    if article is not None:
        article._prefetched_objects_cache = _attachments(
            article, ATTACHMENTS, BodyReferences([article])
        )
    return article


def published_story(request, slug):
    """The published story at slug, with its topics, people, links and
    corrections, or None; its byline comes with its cards' (fetch_bylines).

    Kept per process in parts, each while its keys keep their versions: the
    story itself (a new body fetches it again, and only it), and each of its
    attachments while it and what it names stay (a new correction or a
    renamed topic fetches the corrections or the topics again, and only them);
    those not kept come together, in one query.
    """
    row = remember(
        request,
        ("story", slug),
        (),
        lambda: _published_row(request, slug),
        keys.of_story_itself,
    )
    keys.versions_before_view(request, row)
    if row is None:
        return None
    attached = {name: {keys.attached(row.pk, name)} for name in ATTACHMENTS}
    kept = {
        name: recall(request, (name, row.pk), attached[name]) for name in ATTACHMENTS
    }
    missing = [name for name, rows in kept.items() if rows is MISSING]
    # A row just fetched has its body's links and photos to look up: in the
    # same query as its attachments.
    references = None
    if getattr(row, "resolved_body", None) is None:
        references = BodyReferences([row])
    fetched = _attachments(row, missing, references)
    for name, rows in fetched.items():
        keep(
            request,
            (name, row.pk),
            attached[name],
            rows,
            lambda rows, name=name: keys.of_attached(name, rows),
        )
    # The kept row is shared by every request: this one's attachments go on
    # a copy.
    story = copy.copy(row)
    story._prefetched_objects_cache = {**kept, **fetched}
    return story


def fetch_bylines(article, cards, request=None):
    """The story's byline and its cards' in one query, or none when all were
    kept (for a request, each story's is kept while its bylines stay: a new
    "More on this" finds the bylines of cards it showed before)."""
    stories = [article, *cards]
    missing = stories
    if request is not None:
        missing = []
        for story in stories:
            kept = recall(request, *_bylines_memo(story))
            if kept is MISSING:
                missing.append(story)
            else:
                story.__dict__.setdefault("_prefetched_objects_cache", {})
                story._prefetched_objects_cache["bylines"] = kept
    prefetch_related_objects(missing, bylines_prefetch())
    for story in missing:
        # Lists weigh far less than the QuerySets that fetched them, and kept
        # cards outlive the request (the related managers hand out either).
        fetched = list(story._prefetched_objects_cache["bylines"])
        story._prefetched_objects_cache["bylines"] = fetched
        if request is not None:
            keep(
                request,
                *_bylines_memo(story),
                fetched,
                lambda rows: keys.of_attached("bylines", rows),
            )


def _bylines_memo(story):
    """The name a story's bylines are kept by, and the keys they are kept
    while."""
    return ("bylines", story.pk), {keys.attached(story.pk, "bylines")}


def _story_row(articles):
    links = RelatedLink.objects.filter(article=OuterRef("pk"))
    corrections = Correction.objects.filter(article=OuterRef("pk"))
    return (
        articles.select_related("lead_image")
        .annotate(has_links=Exists(links), has_corrections=Exists(corrections))
        .first()
    )


def _published_row(request, slug):
    # The view's first query: with nothing stored for the page, it reads the
    # site row too, for the page cache (keys.with_site_row). Its body is
    # resolved with its attachments (published_story).
    published = keys.with_site_row(request, Article.objects.published())
    return _story_row(published.filter(slug=slug))


def _attachments(story, names, references=None):
    """The story's attachments of these names, as lists, in one query (none
    when it has none: most stories have no links or corrections, and their
    story row says so); with references (BodyReferences), what its body
    refers to is looked up in the same query."""
    if not names and references is None:
        return {}  # all kept: not even a QuerySet to build
    live_target = Article.objects.published().filter(pk=OuterRef("target"))
    querysets = {
        "tags": Topic.objects.filter(tagged_articles__content_object=story.pk),
        "people": Person.objects.filter(articles=story.pk),
        "related_links": RelatedLink.objects.filter(article=story.pk).annotate(
            target_is_live=Exists(live_target), target_slug=F("target__slug")
        ),
        "corrections": Correction.objects.filter(article=story.pk),
    }
    present = {"related_links": story.has_links, "corrections": story.has_corrections}
    asked = {name: querysets[name] for name in names if present.get(name, True)}
    if references is not None:
        asked |= references.querysets
    together = fetch_together(asked)
    if references is not None:
        references.resolve(together)
    found = {name: together.get(name, []) for name in names}
    for link in found.get("related_links", ()):
        if link.target_id:
            # Its address is all the page shows of the target.
            link.target = Article.from_db(
                story._state.db, ["id", "slug"], [link.target_id, link.target_slug]
            )
    return found


# Private: results depend on arbitrary input, so no shared cache keeps them.
@cache_control(private=True)
def search(request):
    """Full-text search; the mechanism is articles/search.py.

    Unlike the listings, any page number gives a page (the nearest one): every
    input to search, however odd, gets results or none, never an error.
    """
    query = parse_query(request.GET.get("q"))
    paginator = Paginator(search_articles(query), PAGE_SIZE)
    return render(
        request,
        "articles/search.html",
        {
            "search_query": query,
            "page_obj": paginator.get_page(request.GET.get("page")),
            "max_query_length": MAX_QUERY_LENGTH,
        },
    )
