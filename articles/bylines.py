"""Authors and bylines: who wrote a story, in the order they are credited.

An `Author` is a writer readers can follow at /authors/<slug>/; a `Byline`
credits one author on one article at a position. Everything that shows a
byline (pages, cards, feeds, JSON-LD) reads `article.bylines.all()` prefetched
with `bylines_prefetch()`, so a list of stories costs one query for all of
their authors.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef, Prefetch
from django.urls import reverse
from django.utils.text import slugify

from articles.forms import validate_web_address

# models.py imports this module at its end, once WebAddressField exists.
from articles.models import Article, WebAddressField


def validate_web_addresses(text):
    """One http(s) address a line, each checked as WebAddressField checks one."""
    for line in web_addresses(text):
        try:
            validate_web_address(line)
        except ValidationError:
            raise ValidationError(
                f"{line!r} is not a web address that starts with http:// or https://."
            ) from None


def web_addresses(text):
    return [line.strip() for line in text.splitlines() if line.strip()]


class AuthorQuerySet(models.QuerySet):
    def with_published_stories(self):
        """Authors readers may see: those credited on a published story."""
        credited = Byline.objects.filter(
            author=OuterRef("pk"), article__in=Article.objects.published()
        )
        return self.filter(Exists(credited))


class Author(models.Model):
    name = models.CharField(
        max_length=200, help_text="The name the byline shows, e.g. “Ada Lovelace”."
    )
    slug = models.SlugField(
        max_length=220, unique=True, help_text="Used in the author's page address."
    )
    job_title = models.CharField(
        max_length=200,
        blank=True,
        help_text='What they do here, e.g. "Science correspondent".',
    )
    bio = models.TextField(
        blank=True, help_text="A short biography for their page, a paragraph or two."
    )
    photo = models.ForeignKey(
        "articles.Image",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="authors",
        help_text="A portrait from the image library (it needs alt text).",
    )
    website = WebAddressField(
        max_length=500,
        blank=True,
        help_text="Their own site (http or https), if they have one.",
    )
    social_profiles = models.TextField(
        blank=True,
        validators=[validate_web_addresses],
        help_text="Addresses of their social media profiles (http or https), "
        "one a line.",
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="author",
        help_text="The staff account of this author, if they have one: their "
        'stories then show under "My stories" in the admin.',
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AuthorQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("articles:author", kwargs={"slug": self.slug})

    def profile_links(self):
        """The website first, then the social profiles (schema.org sameAs)."""
        return web_addresses(f"{self.website}\n{self.social_profiles}")


class Byline(models.Model):
    article = models.ForeignKey(
        "articles.Article", on_delete=models.CASCADE, related_name="bylines"
    )
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="bylines")
    position = models.PositiveIntegerField(
        default=0, help_text="Order in the byline, smallest first."
    )

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["article", "author"], name="one_byline_per_author"
            )
        ]

    def __str__(self):
        return f"{self.author} on article {self.article_id}"


def bylines_prefetch():
    """Prefetch for Article: its bylines in order, each with its author."""
    return Prefetch(
        "bylines",
        queryset=Byline.objects.select_related("author").order_by("position", "id"),
    )


def authors_of(article):
    """The article's authors in byline order (prefetch with bylines_prefetch)."""
    return [byline.author for byline in article.bylines.all()]


def join_names(names):
    """ "A", "A and B", "A, B and C": how a byline reads."""
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def byline_slug(name):
    """The slug an author named so gets: their name, or "" if it has no letters
    or digits to make one from."""
    return slugify(name)[:200]


def credit_if_uncredited(article, name):
    """Credit the article to the author of that name (created if missing, with a
    slug from the name) unless it has authors already; True if it was credited.

    The importer's --byline rule: a re-import never touches a byline an editor
    set, only fills an empty one.
    """
    if article.bylines.exists():
        return False
    author = Author.objects.filter(name=name).first()
    if author is None:
        slug = base = byline_slug(name)
        taken = set(
            Author.objects.filter(slug__startswith=base).values_list("slug", flat=True)
        )
        number = 1
        while slug in taken:
            number += 1
            slug = f"{base}-{number}"
        author = Author.objects.create(name=name, slug=slug)
    Byline.objects.create(article=article, author=author, position=1)
    return True
