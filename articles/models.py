from functools import partial

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, router, transaction
from django.db.models import Max, Min, ProtectedError
from django.db.models.functions import Now
from django.db.models.signals import post_delete, pre_delete, pre_save
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone
from taggit.managers import TaggableManager
from taggit.models import TagBase, TaggedItemBase

from articles import renditions, richtext
from articles.delivery.querysets import ChangeAwareQuerySet
from articles.forms import WebAddressFormField, validate_web_address
from articles.images import ACCEPTED_NAMES, check_upload, clean_upload


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
    # The database's own defaults serve raw saves (loaddata), which skip auto_now.
    created_at = models.DateTimeField(auto_now_add=True, db_default=Now())
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    objects = ChangeAwareQuerySet.as_manager()

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

    objects = ChangeAwareQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = "topic"

    def get_absolute_url(self):
        return reverse("articles:topic", kwargs={"slug": self.slug})

    def keyword_list(self):
        return split_terms(self.keywords)


class TaggedArticle(TaggedItemBase):
    # No index of its own: the unique (content_object, tag) index starts with it.
    content_object = models.ForeignKey(
        "Article", on_delete=models.CASCADE, db_index=False
    )
    tag = models.ForeignKey(
        Topic, on_delete=models.CASCADE, related_name="tagged_articles"
    )

    class Meta:
        unique_together = [("content_object", "tag")]
        verbose_name = "article topic"

    def __str__(self):
        return self.describe(self.content_object_id, self.tag_id)

    @staticmethod
    def describe(article_id, topic_id):
        # By key: taggit's own text loads the article and the topic, a query each
        # for every tag of every article a revision records.
        return f"article {article_id} tagged with topic {topic_id}"


LEAD_IMAGE_NEEDS_ALT_TEXT = (
    "The lead image has no alt text: add it on the image (describe what the photo "
    "shows) before publishing."
)


INLINE_IMAGE_NEEDS_ALT_TEXT = (
    "A photo in the story has no alt text: add it on the image (describe what the "
    "photo shows) before publishing."
)


class ArticleQuerySet(ChangeAwareQuerySet):
    def published(self):
        """The one definition of what readers may see."""
        return self.filter(
            status=Article.Status.PUBLISHED, published_at__lte=timezone.now()
        )

    def scheduled(self):
        """Published with a future time: published() takes it up when the time comes."""
        return self.filter(
            status=Article.Status.PUBLISHED, published_at__gt=timezone.now()
        )

    def next_publication_at(self):
        """When the next scheduled article goes live, or None: no cache may keep
        a page past it, since nothing runs at that minute (articles/scheduling.py)."""
        return self.scheduled().aggregate(next=Min("published_at"))["next"]

    def using_inline_image(self, image_id):
        """Articles whose body shows the image (read from the body: no table of
        uses to keep in step, and deleting or editing a photo is rare)."""
        candidates = self.filter(body__contains=richtext.image_marker(image_id))
        return [
            article
            for article in candidates
            if image_id in richtext.parse(article.body).image_ids
        ]

    def last_modified_at(self):
        """The newest Article.modified_at among these articles, in one query."""
        latest = self.aggregate(
            published=Max("published_at"),
            updated=Max("content_updated_at"),
            corrected=Max("corrections__published_at"),
        )
        return max(filter(None, latest.values()), default=None)


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
        help_text="The story: paragraphs, subheadings, quotes, lists, links and "
        "photos. Anything else (scripts, styles, other tags) is removed on saving.",
    )
    body_text = models.TextField(
        blank=True,
        default="",
        editable=False,
        help_text="The body's words without markup, paragraphs separated by blank "
        "lines (search, reading time, descriptions); set from the body on every save.",
    )
    lead_image = models.ForeignKey(
        "Image",
        # An image in use cannot be deleted: a story never silently loses its
        # photo (and with it the credit the agency was promised).
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="lead_articles",
        help_text="The photo at the top of the story; it needs alt text before "
        "the story can be published.",
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
    content_updated_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When the headline, standfirst or body last changed after "
        'publication (the page\'s "Updated" notice); minor edits leave it alone.',
    )
    version = models.PositiveIntegerField(
        default=1,
        editable=False,
        help_text="Moves on every change to the story, its topics, people, related "
        "links or corrections, however made; the admin compares it to catch "
        "edit conflicts (articles/conflicts.py).",
    )

    objects = ArticleQuerySet.as_manager()

    # Set to True before save() for a typo fix: the "Updated" notice stays as it was.
    minor_edit = False

    class Meta:
        ordering = ["-published_at", "-id"]
        indexes = [models.Index(fields=["status", "-published_at"])]

    def __str__(self):
        return self.headline

    def save(self, *args, **kwargs):
        self.prepare_to_save()
        if self._state.adding:
            super().save(*args, **kwargs)
            return
        using = kwargs.get("using") or router.db_for_write(Article, instance=self)
        with transaction.atomic(using=using, savepoint=False):
            # Every form opened before this save is now out of date. Counted on
            # from the stored version under the row lock, so that a save from
            # an older copy still moves it past every change made since.
            stored = (
                Article._base_manager.using(using)
                .select_for_update()
                .filter(pk=self.pk)
                .values_list("version", flat=True)
                .first()
            )
            self.version = (self.version if stored is None else stored) + 1
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "version"}
            super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("articles:detail", kwargs={"slug": self.slug})

    def prepare_to_save(self, clean_body_text=None):
        """What every save does first; the importer's own INSERT calls it too.

        `clean_body_text`: the body is clean already and this is its text (the
        importer builds bodies from text: richtext.from_paragraphs).
        """
        if self.status == self.Status.PUBLISHED and self.published_at is None:
            self.published_at = timezone.now()
        # Browsers send textarea line breaks as CRLF; stored text uses LF, so an
        # untouched body saved from the admin is not a change (nor "Updated").
        self.standfirst = self.standfirst.replace("\r\n", "\n")
        if clean_body_text is None:
            self.clean_body()
        else:
            self.body_text = clean_body_text

    def clean_body(self):
        """Sanitise the body (articles/richtext.py) and derive its text."""
        self.body, self.body_text = richtext.clean_with_text(self.body)

    def clean(self):
        super().clean()
        if (
            self.status == self.Status.PUBLISHED
            and self.lead_image_id
            and not self.lead_image.alt_text.strip()
        ):
            raise ValidationError({"lead_image": LEAD_IMAGE_NEEDS_ALT_TEXT})
        if (
            self.status == self.Status.PUBLISHED
            and self.inline_images_without_alt_text()
        ):
            raise ValidationError({"body": INLINE_IMAGE_NEEDS_ALT_TEXT})

    @property
    def is_published(self):
        return (
            self.status == self.Status.PUBLISHED
            and self.published_at is not None
            and self.published_at <= timezone.now()
        )

    @property
    def photo_caption(self):
        """The caption shown: the story's own, else its lead image's."""
        if self.image_caption or not self.lead_image_id:
            return self.image_caption
        return self.lead_image.caption

    @property
    def photo_credit(self):
        """The credit shown: the story's own, else its lead image's."""
        if self.image_credit or not self.lead_image_id:
            return self.image_credit
        return self.lead_image.credit

    @property
    def text_updated_at(self):
        """The time of the page's "Updated" notice, or None: when the headline,
        standfirst or body last changed after publication (minor edits aside).
        Slug, topic, people and photo changes and corrections never move it."""
        updated, published = self.content_updated_at, self.published_at
        if updated is None or published is None or updated <= published:
            return None
        return updated

    @property
    def modified_at(self):
        """When readers last saw the story change: its publication, its "Updated"
        time or its newest correction (dateModified, feeds' updated, sitemaps'
        lastmod). Prefetch "corrections" when reading it for many articles."""
        times = [self.published_at, self.text_updated_at]
        times += [correction.published_at for correction in self.corrections.all()]
        return max(filter(None, times), default=None)

    def paragraphs(self):
        """The body's text, one string per paragraph, heading or list item."""
        return richtext.paragraphs(self.body)

    def inline_image_ids(self):
        return richtext.parse(richtext.clean(self.body)).image_ids

    def inline_images_without_alt_text(self):
        """The photos in the body that would keep it from being published."""
        ids = self.inline_image_ids()
        images = Image.objects.filter(pk__in=ids) if ids else []
        return [image for image in images if not image.alt_text.strip()]


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

    objects = ChangeAwareQuerySet.as_manager()

    class Meta:
        ordering = ["position", "id"]
        verbose_name = "related link"

    def __str__(self):
        return self.title


class PhotoFormField(forms.FileField):
    """A plain file field: the model field's validator does every image check,
    with one clear message each, instead of Django's generic "invalid image"."""

    def widget_attrs(self, widget):
        attrs = super().widget_attrs(widget)
        if isinstance(widget, forms.FileInput) and "accept" not in widget.attrs:
            attrs["accept"] = "image/jpeg,image/png,image/webp,image/avif"
        return attrs


class PhotoField(models.ImageField):
    """An ImageField checked by articles.images (size, pixels, format, bombs)."""

    default_validators = [check_upload]

    def formfield(self, **kwargs):
        return super().formfield(**{**kwargs, "form_class": PhotoFormField})


class Image(models.Model):
    file = PhotoField(
        upload_to="images/originals/",
        max_length=255,
        help_text=f"A {ACCEPTED_NAMES} photo of at most 20 MB and 40 megapixels. "
        "Location data is removed when it is stored.",
    )
    alt_text = models.CharField(
        max_length=500,
        blank=True,
        help_text="What the photo shows, for readers who cannot see it (not the "
        'caption, no "photo of"). Needed before a story using it is published.',
    )
    caption = models.CharField(
        max_length=500,
        blank=True,
        help_text="What the photo shows; a story may give its own caption instead.",
    )
    credit = models.CharField(
        max_length=200,
        blank=True,
        help_text="Who took or supplied the photo, as it must be printed.",
    )
    focal_x = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text="The point crops keep in view, across: 0 is the left edge, 1 the "
        "right. Leave both blank for the centre.",
    )
    focal_y = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text="The point crops keep in view, down: 0 is the top, 1 the bottom.",
    )
    width = models.PositiveIntegerField(editable=False)
    height = models.PositiveIntegerField(editable=False)
    checksum = models.CharField(
        max_length=64, editable=False, db_index=True, help_text="SHA-256 of the upload."
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)
    renditions_made = models.JSONField(
        default=list,
        blank=True,
        editable=False,
        help_text="Storage names of the renditions made so far (articles/tasks.py "
        "makes them after the upload); pages use only these.",
    )
    updated_at = models.DateTimeField(
        auto_now=True,
        db_default=Now(),
        db_index=True,
        help_text="When the photo, its details or its stored renditions last changed.",
    )

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(focal_x__isnull=True, focal_y__isnull=True)
                | models.Q(
                    focal_x__gte=0, focal_x__lte=1, focal_y__gte=0, focal_y__lte=1
                ),
                name="image_focal_point_in_frame",
            )
        ]

    def __str__(self):
        return self.caption or self.alt_text or self.file.name.rsplit("/", 1)[-1]

    def save(self, *args, renditions_by_caller=False, **kwargs):
        """`renditions_by_caller`: the caller makes the renditions itself, at
        once (the importer): none are queued for a worker, which would make
        them a second time."""
        before = self._stored_names()
        made = []
        if self.file and not self.file._committed:
            cleaned = clean_upload(self.file)
            self.width, self.height = cleaned.width, cleaned.height
            self.checksum = cleaned.checksum
            self.file.save(cleaned.name, ContentFile(cleaned.content), save=False)
            made.append(self.file.name)
        # Renditions of a replaced photo or an old crop are no longer its own.
        planned = renditions.stored_names(self)
        self.renditions_made = [n for n in self.renditions_made if n in planned]
        try:
            super().save(*args, **kwargs)
        except BaseException:
            renditions.delete(self.file.storage, made)
            raise
        superseded = before - planned
        if superseded:
            # Files of the replaced photo or crop go once the change is committed.
            transaction.on_commit(
                partial(renditions.delete, self.file.storage, sorted(superseded))
            )
        if not renditions_by_caller and renditions.missing(self):
            # The request returns now; a worker makes them once this commits.
            transaction.on_commit(
                self._make_renditions_later, using=self._state.db, robust=True
            )

    def delete(self, *args, **kwargs):
        # Checked before the deletion's transaction starts, as Django checks a
        # PROTECT foreign key, so a caller's transaction survives the refusal.
        refuse_deleting_inline_image(Image, self)
        return super().delete(*args, **kwargs)

    def clean(self):
        super().clean()
        if (self.focal_x is None) != (self.focal_y is None):
            raise ValidationError(
                "Give both focal point values (across and down), or neither."
            )
        if (
            self.pk
            and not self.alt_text.strip()
            and (
                self.lead_articles.filter(status=Article.Status.PUBLISHED).exists()
                or Article.objects.filter(
                    status=Article.Status.PUBLISHED
                ).using_inline_image(self.pk)
            )
        ):
            raise ValidationError(
                {"alt_text": "Published stories use this image: it needs alt text."}
            )

    def _make_renditions_later(self):
        # The task module imports this one, so it is imported only now.
        from articles.tasks import make_renditions

        if renditions.missing(self):  # unless made meanwhile
            make_renditions.enqueue(self.pk)

    def _stored_names(self):
        """The files this image had in storage before this save."""
        if self.pk is None:
            return set()
        stored = Image.objects.filter(pk=self.pk).first()
        return renditions.stored_names(stored) if stored else set()


class ImageInUse(ProtectedError):
    """An image that stories show inline cannot be deleted (as a lead image
    cannot: its foreign key protects it)."""

    def __init__(self, image, articles):
        headlines = "; ".join(article.headline for article in articles)
        super().__init__(
            f"Cannot delete the photo: these stories show it: {headlines}.",
            set(articles),
        )


@receiver(pre_delete, sender=Image, dispatch_uid="refuse-deleting-inline-image")
def refuse_deleting_inline_image(sender, instance, **kwargs):
    """Also for QuerySet.delete(), which refuses inside its own transaction."""
    if articles := Article.objects.using_inline_image(instance.pk):
        raise ImageInUse(instance, articles)


@receiver(pre_save, sender=Article, dispatch_uid="clean-raw-article-body")
def clean_raw_article_body(sender, instance, raw, **kwargs):
    # A restored revision or loaded fixture is saved raw, past save(): its body
    # is cleaned all the same.
    if raw:
        instance.clean_body()


@receiver(post_delete, sender=Image)
def delete_image_files(sender, instance, **kwargs):
    # Whether deleted one by one or in bulk; only once the deletion is committed.
    transaction.on_commit(
        partial(
            renditions.delete,
            instance.file.storage,
            sorted(renditions.stored_names(instance)),
        )
    )


class CorrectionQuerySet(ChangeAwareQuerySet):
    def published(self):
        """Corrections readers may see: those of published articles."""
        return self.filter(article__in=Article.objects.published())


class Correction(models.Model):
    class Kind(models.TextChoices):
        CORRECTION = "correction", "Correction"
        CLARIFICATION = "clarification", "Clarification"

    article = models.ForeignKey(
        Article, on_delete=models.CASCADE, related_name="corrections"
    )
    published_at = models.DateTimeField(
        default=timezone.now,
        db_index=True,
        help_text="When the correction was made public.",
    )
    kind = models.CharField(
        max_length=20,
        choices=Kind.choices,
        default=Kind.CORRECTION,
        help_text="A correction fixes an error of fact; a clarification adds "
        "context to something that was not wrong.",
    )
    text = models.TextField(
        help_text="What the article got wrong or left unclear, and what is right."
    )

    objects = CorrectionQuerySet.as_manager()

    class Meta:
        ordering = ["published_at", "id"]

    def __str__(self):
        when = timezone.localtime(self.published_at)
        return f"{self.get_kind_display()} of {when:%Y-%m-%d %H:%M}"

    def get_absolute_url(self):
        return f"{self.article.get_absolute_url()}#{self.anchor}"

    def clean(self):
        super().clean()
        # A correction is public as soon as it is saved: a future time would
        # show readers a date that has not come yet.
        if self.published_at and self.published_at > timezone.now():
            raise ValidationError(
                {"published_at": "A correction cannot be dated in the future."}
            )

    @property
    def anchor(self):
        """The id of its box on the article page."""
        return f"correction-{self.pk}"


class PageGeneration(models.Model):
    """The token that cached reader pages are valid for (one row, see cache.py).

    It lives in the database so that it changes in the same transaction as the
    content, and so that a flushed, new or restored database never matches
    pages made from other data.
    """

    token = models.CharField(max_length=32)
    valid_until = models.FloatField(
        null=True,
        help_text="Unix time when a scheduled article goes live or a front-page "
        "slot expires, and the token must roll over; empty when nothing is due.",
    )

    last_deadline = models.FloatField(
        null=True,
        help_text="Unix time of the last scheduled change that has come: pages "
        "count as modified then, though nobody saved anything.",
    )
    changes = models.BigIntegerField(
        default=0,
        help_text="Counts every content change; a page rendered while it moved "
        "is not stored (articles/delivery/keys.py).",
    )

    def __str__(self):
        return self.token


class PageKey(models.Model):
    """The version of one thing pages show (article:12, topic-list:3, home...).

    A change writes new versions for exactly the keys it affects, in its own
    transaction; a cached page is served while its keys keep the versions it
    was made with (articles/delivery/).
    """

    key = models.CharField(max_length=100, primary_key=True)
    version = models.CharField(max_length=32)
    changed_at = models.FloatField(
        help_text="Unix time of the change that wrote this version."
    )

    def __str__(self):
        return f"{self.key}={self.version}"


# Models that live beside the mechanism they serve; imported here so Django finds them.
from articles.bylines import Author, Byline  # noqa: E402, F401
from articles.frontpage import FrontPageSlot  # noqa: E402, F401
from articles.ingest.duplicates import BodyBand  # noqa: E402, F401
from articles.ingest.runs import ImportRun, ImportRunFile  # noqa: E402, F401
from articles.redirects import SlugRedirect  # noqa: E402, F401
from articles.wire import ImportedSource  # noqa: E402, F401
