"""The front-page screen: editors choose the lead and top stories, each optionally
until a date and time (articles/frontpage.py). It replaces the slots' change
list; saving replaces every slot in one transaction, so stories can swap places."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from articles.delivery.keys import invalidation_batch
from articles.frontpage import (
    FrontPageSlot,
    arrange,
    curated_stories,
    newest_besides,
)
from articles.models import Article


class StoryPicker(AutocompleteSelect):
    """The admin's story autocomplete, whose empty choice says what it means
    (HTML forbids an option with no text)."""

    EMPTY = "None: the newest story"

    def build_attrs(self, base_attrs, extra_attrs=None):
        # Select2 shows the placeholder in an empty box; blank, the box would
        # have no accessible name.
        return {
            **super().build_attrs(base_attrs, extra_attrs),
            "data-placeholder": self.EMPTY,
        }

    def create_option(self, name, value, label, *args, **kwargs):
        if value == "":
            label = self.EMPTY
        return super().create_option(name, value, label, *args, **kwargs)


class FrontPageForm(forms.Form):
    """An article and an optional end time for each place on the front page."""

    def __init__(self, *args, admin_site, **kwargs):
        super().__init__(*args, **kwargs)
        article_field = FrontPageSlot._meta.get_field("article")
        self.places = []
        for place, label in FrontPageSlot.Place.choices:
            self.fields[f"article_{place}"] = forms.ModelChoiceField(
                queryset=Article.objects.all(),
                required=False,
                label=f"{label}",
                widget=StoryPicker(article_field, admin_site),
            )
            self.fields[f"until_{place}"] = forms.DateTimeField(
                required=False,
                label=f"{label} until",
                # The browser's own date and time picker, one labelled input.
                widget=forms.DateTimeInput(
                    attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
                ),
                help_text="Empty: it stays until an editor changes it.",
            )
            self.places.append((place, label))

    def clean(self):
        cleaned = super().clean()
        seen = {}
        for place, label in self.places:
            article = cleaned.get(f"article_{place}")
            until = cleaned.get(f"until_{place}")
            if until and not article:
                self.add_error(f"until_{place}", "Choose a story for this end time.")
            if until and until <= timezone.now():
                self.add_error(
                    f"until_{place}",
                    "That time has passed: give a later one, or leave it empty.",
                )
            if article is None:
                continue
            if article.pk in seen:
                self.add_error(
                    f"article_{place}",
                    f"“{article}” is already the {seen[article.pk].lower()}.",
                )
            seen.setdefault(article.pk, label)
        return cleaned

    def rows(self):
        """(label, [(caption, field), ...]) for each place, for the template."""
        return [
            (
                label,
                [
                    ("Story", self[f"article_{place}"]),
                    ("Until", self[f"until_{place}"]),
                ],
            )
            for place, label in self.places
        ]

    def slots(self):
        return [
            FrontPageSlot(
                place=place,
                article=self.cleaned_data[f"article_{place}"],
                until=self.cleaned_data[f"until_{place}"],
            )
            for place, _ in self.places
            if self.cleaned_data[f"article_{place}"]
        ]


@admin.register(FrontPageSlot)
class FrontPageAdmin(admin.ModelAdmin):
    def get_urls(self):
        # The screen is the whole of it: no add, change or delete pages.
        return [
            path(
                "",
                self.admin_site.admin_view(self.changelist_view),
                name="articles_frontpageslot_changelist",
            )
        ]

    def has_add_permission(self, request):
        return False  # Places are filled on the screen, not added one by one.

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        can_change = self.has_change_permission(request)
        slots = list(FrontPageSlot.objects.select_related("article").order_by("place"))
        if request.method == "POST":
            if not can_change:
                raise PermissionDenied
            form = FrontPageForm(request.POST, admin_site=self.admin_site)
            if form.is_valid():
                with transaction.atomic(), invalidation_batch():
                    FrontPageSlot.objects.all().delete()
                    for slot in form.slots():
                        slot.save()
                messages.success(
                    request, "The front page is saved; readers see it now."
                )
                return redirect(request.path)
        else:
            initial = {}
            for slot in slots:
                initial[f"article_{slot.place}"] = slot.article
                initial[f"until_{slot.place}"] = (
                    timezone.localtime(slot.until) if slot.until else None
                )
            form = FrontPageForm(initial=initial, admin_site=self.admin_site)
        context = {
            **self.admin_site.each_context(request),
            "title": "Front page",
            "opts": self.model._meta,
            "form": form,
            "media": self.media + form.media,
            "can_change": can_change,
            "notices": [_notice(slot) for slot in slots if _notice(slot)],
            "showing": _showing(),
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(
            request, "admin/articles/frontpageslot/front_page.html", context
        )


def _showing():
    """(place, story, chosen by an editor?) as readers see the front page now."""
    curated = curated_stories()
    newest = list(newest_besides(curated)[: len(FrontPageSlot.Place)])
    lead, top, _ = arrange(curated, newest)
    front = [lead, *top] if lead else []
    chosen = set(curated.values())
    return [
        (label, story, story in chosen)
        for (_, label), story in zip(FrontPageSlot.Place.choices, front, strict=False)
    ]


def _notice(slot):
    """Why a stored slot does not show its story to readers now, or None."""
    if slot.until and slot.until <= timezone.now():
        return (
            f"{slot.get_place_display()}: its time has passed; "
            "the newest story shows instead."
        )
    if not slot.article.is_published:
        return (
            f"{slot.get_place_display()}: “{slot.article}” is not published; "
            "the newest story shows instead until it is."
        )
    return None
