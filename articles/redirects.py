"""Slug history: old addresses of articles, topics, people and authors answer 301,
forever.

Every slug change is caught by a signal, so it holds however the change arrives
(the admin, the importer, a save() in code, a revision restore). A row maps an old
slug to the object itself, not to its next slug, so a chain of renames always
answers in one hop to wherever the object lives now. An object that takes an old
slug wins: its row is deleted, and the middleware only ever acts on a 404.

Everything under the old prefix follows: /tags/old/feed/rss/ answers 301 to
/tags/new/feed/rss/.
"""

import operator
from collections import defaultdict
from functools import cache, reduce

from django.db import connections, models, transaction
from django.db.models.signals import post_save, pre_save
from django.dispatch import Signal
from django.http import HttpResponsePermanentRedirect
from django.urls import reverse

from articles.bulk_writes import Deferred, chunks

# Sent after the commit that makes an old address redirect, with old_prefix (such
# as "/tags/old/") and new_prefix. The page cache connects here to drop every
# page it holds under old_prefix.
path_moved = Signal()


# Each kind names the field that holds the redirect's target.
KINDS = ["article", "topic", "person", "author"]


class SlugRedirect(models.Model):
    class Kind(models.TextChoices):
        ARTICLE = "article", "Article"
        TOPIC = "topic", "Topic"
        PERSON = "person", "Person"
        AUTHOR = "author", "Author"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    old_slug = models.CharField(max_length=300)
    article = models.ForeignKey(
        "articles.Article",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="slug_redirects",
    )
    topic = models.ForeignKey(
        "articles.Topic",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="slug_redirects",
    )
    person = models.ForeignKey(
        "articles.Person",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="slug_redirects",
    )
    author = models.ForeignKey(
        "articles.Author",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="slug_redirects",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "old address"
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "old_slug"], name="one_redirect_per_old_slug"
            ),
            models.CheckConstraint(
                name="redirect_points_at_one_object_of_its_kind",
                condition=reduce(
                    operator.or_,
                    (
                        models.Q(
                            kind=kind,
                            **{f"{other}__isnull": other != kind for other in KINDS},
                        )
                        for kind in KINDS
                    ),
                ),
            ),
        ]

    def __str__(self):
        return f"{self.kind} {self.old_slug} → {self.target}"

    @property
    def target(self):
        return getattr(self, self.kind)


# Model label -> kind; the field holding the target has the kind's name.
KIND_OF_MODEL = {
    "articles.article": SlugRedirect.Kind.ARTICLE,
    "articles.topic": SlugRedirect.Kind.TOPIC,
    "articles.person": SlugRedirect.Kind.PERSON,
    "articles.author": SlugRedirect.Kind.AUTHOR,
}
URL_NAME_OF_KIND = {
    SlugRedirect.Kind.ARTICLE: "articles:detail",
    SlugRedirect.Kind.TOPIC: "articles:topic",
    SlugRedirect.Kind.PERSON: "articles:person",
    SlugRedirect.Kind.AUTHOR: "articles:author",
}


def kind_of(model):
    return KIND_OF_MODEL[model._meta.label_lower]


@cache
def url_prefixes():
    """Kind -> the URL before the slug ("/tags/"), read from the URLconf."""
    prefixes = {}
    for kind, url_name in URL_NAME_OF_KIND.items():
        url = reverse(url_name, kwargs={"slug": "slug"})
        prefixes[kind] = url[: url.rindex("/slug/") + 1]
    return prefixes


def old_prefix(kind, slug):
    return f"{url_prefixes()[kind]}{slug}/"


# Signal receivers (connected in ArticlesConfig.ready for each model with a slug).


def remember_old_slug(sender, instance, **kwargs):
    instance._slug_before_save = None
    if instance.pk is None:
        return
    old_slug = (
        sender._base_manager.filter(pk=instance.pk)
        .values_list("slug", flat=True)
        .first()
    )
    if old_slug is not None and old_slug != instance.slug:
        instance._slug_before_save = old_slug


def record_slug_change(sender, instance, created, using, **kwargs):
    old_slug = getattr(instance, "_slug_before_save", None)
    if not (created or old_slug):
        return
    kind = kind_of(sender)
    # An object that takes a slug wins over any redirect from it.
    if created and CLAIMED_SLUGS.add((using, kind, instance.slug)):
        return
    if _redirect_exists(using, kind, instance.slug):
        SlugRedirect.objects.using(using).filter(
            kind=kind, old_slug=instance.slug
        ).delete()
    if old_slug:
        instance._slug_before_save = None
        SlugRedirect.objects.update_or_create(
            kind=kind, old_slug=old_slug, defaults={kind: instance}
        )
        announce_move(kind, old_slug, instance.slug)


def _redirect_exists(using, kind, slug):
    """Whether a redirect leaves from `slug`: almost never for a new object, so
    this plain lookup spares the ORM's delete its collector and query building
    for every story an import creates."""
    connection = connections[using]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {quote(SlugRedirect._meta.db_table)} "
            f"WHERE kind = %s AND old_slug = %s",
            [kind, slug],
        )
        return cursor.fetchone() is not None


def _release_claimed_slugs(claims):
    """Delete the redirects leaving from the slugs that new objects took."""
    slugs = defaultdict(set)
    for using, kind, slug in claims:
        slugs[using, kind].add(slug)
    for (using, kind), taken in slugs.items():
        for chunk in chunks(sorted(taken), connections[using], columns=1):
            SlugRedirect.objects.using(using).filter(
                kind=kind, old_slug__in=chunk
            ).delete()


# The slugs new objects take in a bulk writer's batch, released together.
CLAIMED_SLUGS = Deferred(_release_claimed_slugs)


def connect_signals(*models_with_slug_history):
    for model in models_with_slug_history:
        uid = f"slug-history-{model._meta.label_lower}"
        pre_save.connect(remember_old_slug, sender=model, dispatch_uid=uid)
        post_save.connect(record_slug_change, sender=model, dispatch_uid=uid)


def announce_move(kind, old_slug, new_slug):
    old, new = old_prefix(kind, old_slug), old_prefix(kind, new_slug)
    transaction.on_commit(
        lambda: path_moved.send(
            sender=SlugRedirect, kind=kind, old_prefix=old, new_prefix=new
        )
    )


# Called by code that retires objects in favour of another (topic merge).


def redirect_to_survivor(survivor, retired):
    """Send the addresses of `retired` objects, old ones included, to `survivor`.

    Call before deleting them: their own rows would go with them.
    """
    kind = kind_of(type(survivor))
    for obj in retired:
        SlugRedirect.objects.filter(**{kind: obj}).update(**{kind: survivor})
        SlugRedirect.objects.update_or_create(
            kind=kind, old_slug=obj.slug, defaults={kind: survivor}
        )
        announce_move(kind, obj.slug, survivor.slug)


def find_by_slug(model, slug):
    """The object that has `slug` now, or that had it before a rename or merge.

    For the importer: a story renamed in the admin is still the same story.
    """
    found = model._default_manager.filter(slug=slug).first()
    if found is not None:
        return found
    redirect = (
        SlugRedirect.objects.filter(kind=kind_of(model), old_slug=slug)
        .select_related(kind_of(model))
        .first()
    )
    return redirect.target if redirect else None


def redirect_for_path(path):
    """The current address for an old one, or None."""
    for kind, prefix in url_prefixes().items():
        if not path.startswith(prefix):
            continue
        slug, slash, rest = path[len(prefix) :].partition("/")
        if not slug or not slash:
            return None
        redirect = (
            SlugRedirect.objects.filter(kind=kind, old_slug=slug)
            .select_related(kind)
            .first()
        )
        if redirect is None:
            return None
        target = redirect.target
        # A story taken back to draft is not announced under its new slug.
        if kind == SlugRedirect.Kind.ARTICLE and not target.is_published:
            return None
        return target.get_absolute_url() + rest
    return None


class SlugRedirectMiddleware:
    """Answers 301 for an old address, but only where nothing lives any more."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code != 404:
            return response
        target = redirect_for_path(request.path)
        if target is None:
            return response
        query = request.META.get("QUERY_STRING", "")
        return HttpResponsePermanentRedirect(f"{target}?{query}" if query else target)
