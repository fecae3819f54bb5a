import re

from django.db import models
from django.urls import reverse
from django.utils import timezone
from taggit.managers import TaggableManager
from taggit.models import TagBase, TaggedItemBase

from articles.forms import WebAddressFormField, validate_web_address


def split_terms(text):
    """Split an editor's comma-separated list into clean, non-empty terms."""
    return [term.strip() for term in text.split(",") if term.strip()]


class WebAddressField(models.URLField):
    """A URL limited to http and https, so no javascript: link reaches a page."""

    default_validators = [validate_web_address]

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": WebAddressFormField, **kwargs})


class Person(models.Model):
    name = models.CharField(max_length=200, help_text="Full name as readers know it.")
    slug = models.SlugField(
        max_length=220, unique=True, help_text="Used in the person's page address."
    )
    aliases = models.CharField(
        max_length=500,
        blank=True,
        help_text="Other names the importer recognises, separated by commas "
        "(for example a surname).",
    )
    description = models.CharField(
        max_length=200,
        blank=True,
        help_text='One line on who they are, e.g. "President of Russia".',
    )
    bio = models.TextField(blank=True, help_text="A short biography for their page.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "people"

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("articles:person", kwargs={"slug": self.slug})

    def alias_list(self):
        return split_terms(self.aliases)


class Topic(TagBase):
    """A tag with the extras a newsroom needs: a description and keywords."""

    description = models.TextField(
        blank=True, help_text="Shown at the top of the topic's page."
    )
    keywords = models.CharField(
        max_length=1000,
        blank=True,
        help_text="Words that make the importer tag an article with this topic, "
        "separated by commas (matched as whole words, case-sensitive).",
    )

    class Meta:
        ordering = ["name"]
        verbose_name = "topic"

    def get_absolute_url(self):
        return reverse("articles:topic", kwargs={"slug": self.slug})

    def keyword_list(self):
        return split_terms(self.keywords)


class TaggedArticle(TaggedItemBase):
    content_object = models.ForeignKey("Article", on_delete=models.CASCADE)
    tag = models.ForeignKey(
        Topic, on_delete=models.CASCADE, related_name="tagged_articles"
    )

    class Meta:
        unique_together = [("content_object", "tag")]
        verbose_name = "article topic"


class ArticleQuerySet(models.QuerySet):
    def published(self):
        """The one definition of what readers may see."""
        return self.filter(
            status=Article.Status.PUBLISHED, published_at__lte=timezone.now()
        )


class Article(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    headline = models.CharField(max_length=300, help_text="At most 300 characters.")
    slug = models.SlugField(
        max_length=300,
        unique=True,
        help_text="Used in the article's address; changing it moves the page.",
    )
    standfirst = models.TextField(
        blank=True,
        help_text="The summary under the headline; also the description "
        "search engines and social cards show.",
    )
    body = models.TextField(
        help_text="Plain text. Separate paragraphs with a blank line."
    )
    image_caption = models.CharField(
        max_length=500, blank=True, help_text="What the photo shows."
    )
    image_credit = models.CharField(
        max_length=200, blank=True, help_text="Who took or supplied the photo."
    )
    status = models.CharField(
        max_length=20,
        choices=Status.choices,
        default=Status.DRAFT,
        help_text="Only published articles whose time has come are shown to readers.",
    )
    published_at = models.DateTimeField(
        null=True,
        blank=True,
        db_index=True,
        help_text="When the article goes live. Set automatically on publishing "
        "if left empty; a future time schedules it.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    tags = TaggableManager(
        through=TaggedArticle,
        blank=True,
        verbose_name="topics",
        help_text="Topics, separated by commas.",
    )
    people = models.ManyToManyField(
        Person,
        blank=True,
        related_name="articles",
        help_text="People who appear in the story.",
    )
    source = models.CharField(
        max_length=255,
        blank=True,
        help_text="The file the article was imported from; blank when written here.",
    )

    objects = ArticleQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-id"]
        indexes = [models.Index(fields=["status", "-published_at"])]

    def __str__(self):
        return self.headline

    def save(self, *args, **kwargs):
        if self.status == self.Status.PUBLISHED and self.published_at is None:
            self.published_at = timezone.now()
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("articles:detail", kwargs={"slug": self.slug})

    @property
    def is_published(self):
        return (
            self.status == self.Status.PUBLISHED
            and self.published_at is not None
            and self.published_at <= timezone.now()
        )

    def paragraphs(self):
        return [p.strip() for p in re.split(r"\n\s*\n", self.body) if p.strip()]


class RelatedLink(models.Model):
    article = models.ForeignKey(
        Article, on_delete=models.CASCADE, related_name="related_links"
    )
    position = models.PositiveIntegerField(
        default=0, help_text="Order on the page, smallest first."
    )
    title = models.CharField(max_length=300, help_text="The related story's title.")
    summary = models.TextField(
        blank=True, help_text="One or two lines under the title."
    )
    url = WebAddressField(
        max_length=500,
        blank=True,
        help_text="An outside address (http or https). Leave blank for a story on "
        "this site and choose it as the target.",
    )
    target = models.ForeignKey(
        Article,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="inbound_links",
        help_text="The article on this site the link points to.",
    )

    class Meta:
        ordering = ["position", "id"]
        verbose_name = "related link"

    def __str__(self):
        return self.title


class PageGeneration(models.Model):
    """The token that cached reader pages are valid for (one row, see cache.py).

    It lives in the database so that it changes in the same transaction as the
    content, and so that a flushed, new or restored database never matches
    pages made from other data.
    """

    token = models.CharField(max_length=32)
    valid_until = models.FloatField(
        null=True,
        help_text="Unix time when a scheduled article goes live and the token "
        "must roll over; empty when nothing is scheduled.",
    )

    def __str__(self):
        return self.token
