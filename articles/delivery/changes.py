"""Which keys a change affects, whichever way it arrives (admin, import, code).

Signal receivers for every model of the app (articles/signals.py connects
them): each saved or deleted row, and each many-to-many change, names the keys
of the pages that show it, and keys.changed() bumps them in the change's
transaction. Rows deleted by a cascade send their own signals, so deleting a
story also reaches its topics' and people's lists.

A model this module does not know bumps the site-wide token: a new model is
safe before anybody maps it.
"""

import logging
import operator
from functools import cache

from django.utils import timezone

from articles.delivery import keys

logger = logging.getLogger(__name__)

# What a story's card or link shows (and whether it shows at all).
CARD_FIELDS = ("status", "published_at", "slug", "headline", "standfirst")
CARD_RELATIONS = ("lead_image_id",)
# What decides which lists a story is in.
MEMBERSHIP_FIELDS = ("status", "published_at")
EVERY_LISTING = (keys.FEEDS, keys.SITEMAPS)


_card_state = operator.itemgetter(*CARD_FIELDS, *CARD_RELATIONS)


def _loaded_state(instance):
    """The card fields as loaded, without loading deferred ones."""
    try:
        return _card_state(instance.__dict__)
    except KeyError:  # One is deferred.
        return None


def remember_loaded_state(sender, instance, **kwargs):
    """post_init: what the story looked like, to tell what a save changes."""
    instance._delivery_state = _loaded_state(instance)


def _shows_at(article):
    """When the story last changed for readers: its save or its publication
    (0: now). Last-Modified then matches the story's own times."""
    times = [getattr(article, name, None) for name in ("updated_at", "published_at")]
    return max((moment.timestamp() for moment in times if moment), default=0.0)


def _visible(state):
    """Whether a story in this state shows to readers now (None: unknown)."""
    from articles.models import Article

    if state is None:
        return True
    status, published_at = state[0], state[1]
    return (
        status == Article.Status.PUBLISHED
        and published_at is not None
        and published_at <= timezone.now()
    )


def _article_keys(article, created=False, deleted=False):
    """The keys a story's save or deletion bumps, and whether its
    publication state moved (which may move the next scheduled change)."""
    pk = article.pk
    before = None if created else getattr(article, "_delivery_state", None)
    after = None if deleted else _loaded_state(article)
    article._delivery_state = after
    membership = [CARD_FIELDS.index(name) for name in MEMBERSHIP_FIELDS]
    state_moved = (
        before is None
        or after is None
        or any(before[i] != after[i] for i in membership)
    )
    if not (_visible(before) or _visible(after)) and not created and not deleted:
        # A draft, or a story scheduled for later, edited: readers see none of
        # it (its going live is the deadline's business).
        return {keys.article(pk)}, state_moved
    if not created and before is not None and before == after:
        # The body, a caption...: the story's own page and the feeds' full text.
        return {keys.article(pk), *EVERY_LISTING}, False
    bumped = {
        keys.article(pk),
        keys.card(pk),
        keys.CORRECTIONS,
        *EVERY_LISTING,
    }
    if state_moved:
        bumped |= {keys.HOME, keys.TOPICS, keys.PEOPLE}
        if not created and not deleted:
            # Rows of a deleted story send their own post_delete signals.
            bumped |= _lists_of(pk)
    return bumped, state_moved


def _lists_of(pk):
    """The topic, person and author lists a story is in (three small queries)."""
    from articles.bylines import Byline
    from articles.models import Article, TaggedArticle

    tagged = TaggedArticle.objects.filter(content_object_id=pk)
    named = Article.people.through.objects.filter(article_id=pk)
    credited = Byline.objects.filter(article_id=pk)
    return {
        *map(keys.topic_list, tagged.values_list("tag_id", flat=True)),
        *map(keys.person_list, named.values_list("person_id", flat=True)),
        *map(keys.author_list, credited.values_list("author_id", flat=True)),
    }


@cache
def _membership_models():
    from articles.models import Article, TaggedArticle

    return (TaggedArticle, Article.people.through)


def _story_of(row):
    """The story a relation row belongs to, if it is at hand (no query)."""
    cached = row._state.fields_cache
    return cached.get("content_object") or cached.get("article")


def _story_unseen(story):
    return story is not None and not _visible(_loaded_state(story))


def _relation_keys(model, instance):
    """Keys for one saved or deleted row of any model but Article."""
    from articles.bylines import Author, Byline
    from articles.frontpage import FrontPageSlot
    from articles.models import (
        Article,
        Correction,
        Image,
        Person,
        RelatedLink,
        TaggedArticle,
        Topic,
    )

    if model is TaggedArticle:
        return _tagging_keys(instance.content_object_id, instance.tag_id)
    if model is Article.people.through:
        return _naming_keys(instance.article_id, instance.person_id)
    if model is Byline:
        return {
            *_attachment_keys(instance.article_id, model),
            keys.card(instance.article_id),
            keys.author_list(instance.author_id),
            *EVERY_LISTING,
        }
    if model is Topic:
        return {keys.topic(instance.pk), keys.TOPICS, *EVERY_LISTING}
    if model is Person:
        return {keys.person(instance.pk), keys.PEOPLE, *EVERY_LISTING}
    if model is Author:
        return {keys.author(instance.pk), *EVERY_LISTING}
    if model is Image:
        return {keys.image(instance.pk), keys.FEEDS}
    if model is RelatedLink:
        return _attachment_keys(instance.article_id, model)
    if model is Correction:
        return {
            *_attachment_keys(instance.article_id, model),
            keys.CORRECTIONS,
            *EVERY_LISTING,
        }
    if model is FrontPageSlot:
        return {keys.HOME}
    return None


@cache
def _attachment_name(model):
    """The name a story's attachment of this model is fetched by, or None."""
    from articles.bylines import Byline
    from articles.models import Article, Correction, RelatedLink, TaggedArticle

    return {
        TaggedArticle: "tags",
        Article.people.through: "people",
        Byline: "bylines",
        RelatedLink: "related_links",
        Correction: "corrections",
    }.get(model)


def _attachment_keys(article_id, model):
    """A row of model attached to a story changed: the story's page, and what
    is kept of that attachment per process (articles/views.py)."""
    name = _attachment_name(model)
    shown = {keys.article(article_id)}
    return shown | {keys.attached(article_id, name)} if name else shown


def _tagging_keys(article_id, *topic_ids):
    """A story gained or lost these topics."""
    from articles.models import TaggedArticle

    return {
        *_attachment_keys(article_id, TaggedArticle),
        keys.card(article_id),  # a card's kicker is its first topic
        *map(keys.topic_list, topic_ids),
        keys.TOPICS,
        *EVERY_LISTING,
    }


def _naming_keys(article_id, *person_ids):
    """A story gained or lost these people."""
    from articles.models import Article

    return {
        *_attachment_keys(article_id, Article.people.through),
        *map(keys.person_list, person_ids),
        keys.PEOPLE,
        *EVERY_LISTING,
    }


@cache
def _ignored():
    from articles.ingest.duplicates import BodyBand
    from articles.models import ImportRun, ImportRunFile, PageGeneration, PageKey
    from articles.redirects import SlugRedirect
    from articles.wire import ImportedSource

    # Nothing a cached page shows: redirects answer before the page cache
    # stores anything (301s are not stored); sources, import runs and body
    # fingerprints only steer imports and the editors' desk.
    return (
        PageGeneration,
        PageKey,
        SlugRedirect,
        ImportedSource,
        ImportRun,
        ImportRunFile,
        BodyBand,
    )


def saved(sender, instance, using, created=False, **kwargs):
    _bump_for(sender, instance, using, created=created)


def deleted(sender, instance, using, **kwargs):
    _bump_for(sender, instance, using, deleted=True)


def _bump_for(model, instance, using, created=False, deleted=False):
    from articles.frontpage import FrontPageSlot
    from articles.models import Article

    if model in _ignored():
        return
    if model is Article:
        bumped, lists_changed = _article_keys(instance, created, deleted)
        moment = _shows_at(instance)
        keys.changed(
            {key: moment for key in bumped}, using, deadline_may_move=lists_changed
        )
        return
    story = _story_of(instance)
    if _story_unseen(story):
        # Topics, people, bylines of a draft: only its own (uncached) page.
        keys.changed(_attachment_keys(story.pk, model), using)
        return
    bumped = _relation_keys(model, instance)
    if bumped is None:
        logger.info("No delivery keys for %s: every page goes stale", model)
        keys.invalidate_pages(using)
        return
    # Like the old fingerprints: a membership (a topic or person added)
    # dates from its story, whose time readers see; anything else from now.
    membership = model in _membership_models()
    moment = _shows_at(story) if story is not None and membership else 0.0
    keys.changed(
        {key: moment for key in bumped},
        using,
        deadline_may_move=model is FrontPageSlot,
    )


def relations_changed(sender, instance, action, reverse, model, pk_set, using, **kw):
    """m2m_changed: topics and people added to or removed from stories.

    Removals and clears also delete through rows, which send post_delete;
    additions made with bulk_create send nothing else.
    """
    from articles.models import Article, TaggedArticle

    if action not in ("post_add", "post_remove") or not pk_set:
        return
    if sender is TaggedArticle:
        pair_keys = _tagging_keys
    elif sender is Article.people.through:
        pair_keys = _naming_keys
    else:
        logger.info("No delivery keys for %s: every page goes stale", sender)
        keys.invalidate_pages(using)
        return
    if not reverse and _story_unseen(instance):
        keys.changed(_attachment_keys(instance.pk, sender), using)
        return
    if reverse:  # A topic or person gained or lost stories.
        bumped = set().union(*(pair_keys(pk, instance.pk) for pk in pk_set))
    else:
        bumped = pair_keys(instance.pk, *pk_set)
    moment = _shows_at(instance) if isinstance(instance, Article) else 0.0
    keys.changed({key: moment for key in bumped}, using)
