"""The front page editors choose: a lead story and the top stories, in order.

Each `FrontPageSlot` puts one story in one place, optionally until a date and
time. The home page reads the slots whose story is published and whose time
has not passed (`FrontPageSlot.objects.live()`); a slot that is empty, expired
or holds a story readers cannot see falls back to the newest stories. Nothing
runs when a slot expires: the page cache's lifetimes end at the next expiry as
they end at the next scheduled publication (articles/scheduling.py).
"""

from django.db import models
from django.db.models import Min, Q
from django.utils import timezone

from articles.models import Article

TOP_STORIES = 3


class FrontPageSlotQuerySet(models.QuerySet):
    def unexpired(self):
        return self.filter(Q(until__isnull=True) | Q(until__gt=timezone.now()))

    def live(self):
        """Slots readers see now: unexpired, holding a published story."""
        return self.unexpired().filter(article__in=Article.objects.published())

    def next_expiry_at(self):
        """When the next slot ends, or None: the front page changes then."""
        return self.unexpired().aggregate(next=Min("until"))["next"]


class FrontPageSlot(models.Model):
    class Place(models.IntegerChoices):
        LEAD = 0, "Lead story"
        TOP_1 = 1, "Top story 1"
        TOP_2 = 2, "Top story 2"
        TOP_3 = 3, "Top story 3"

    place = models.PositiveSmallIntegerField(
        choices=Place.choices,
        unique=True,
        help_text="Where on the front page the story goes.",
    )
    article = models.ForeignKey(
        Article,
        on_delete=models.CASCADE,
        related_name="front_page_slots",
        help_text="The story; it shows only while it is published.",
    )
    until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the story leaves this place for the newest stories; "
        "empty keeps it there until an editor changes the front page.",
    )

    objects = FrontPageSlotQuerySet.as_manager()

    class Meta:
        ordering = ["place"]
        verbose_name = "front page"
        verbose_name_plural = "front page"

    def __str__(self):
        return f"{self.get_place_display()}: {self.article}"


def curated_stories():
    """{place: story} of the places readers see filled by editors now (one query)."""
    slots = FrontPageSlot.objects.live().select_related("article__lead_image")
    return {slot.place: slot.article for slot in slots}


def newest_besides(curated):
    """Published stories newest first, less those editors put in a place."""
    return Article.objects.published().exclude(
        pk__in=[story.pk for story in curated.values()]
    )


def arrange(curated, newest):
    """(lead, top stories, the rest) of the first page.

    curated maps a place to the story an editor put there; newest are the
    newest other stories, which fill every place left empty, in order.
    """
    fill = iter(newest)
    places = [
        curated.get(place) or next(fill, None) for place in FrontPageSlot.Place.values
    ]
    front = [story for story in places if story is not None]
    return (front[0] if front else None), front[1:], list(fill)
