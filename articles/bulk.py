"""Bulk editorial work: admin actions that change many articles or topics at once.

Every action first shows a confirmation page with the count (and, where needed, a
choice of topic, person or surviving topic); the change then runs in one
transaction through save() and the relation managers, so the signals that keep
slug history and the page cache right see every row. Each changed article gets a
revision of its own: restoring it later changes that article alone.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import transaction
from django.template.response import TemplateResponse

from articles import history, redirects
from articles.models import Article, Person, Topic

CONFIRM = "confirm"
LISTED_ON_CONFIRMATION = 20


def confirmation_page(modeladmin, request, queryset, *, title, question, form):
    selected = list(queryset)
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "question": question,
        "opts": modeladmin.model._meta,
        "count": len(selected),
        "listed": selected[:LISTED_ON_CONFIRMATION],
        "unlisted": max(0, len(selected) - LISTED_ON_CONFIRMATION),
        "form": form,
        "action": request.POST.get("action", ""),
        "selected_pks": [obj.pk for obj in selected],
        "checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "confirm": CONFIRM,
        "media": modeladmin.media + form.media,
    }
    request.current_app = modeladmin.admin_site.name
    return TemplateResponse(request, "admin/bulk_confirmation.html", context)


def is_confirmed(request):
    return request.POST.get(CONFIRM) == "yes"


# Article actions.


def choice_form(label, choices):
    """A form with one required choice, or none when the change needs no choice."""

    class ChoiceForm(forms.Form):
        pass

    if choices is not None:
        ChoiceForm.base_fields["choice"] = forms.ModelChoiceField(
            queryset=choices, label=label
        )
    return ChoiceForm


@dataclass(frozen=True)
class ArticleChange:
    name: str
    description: str
    # Changes one article, returns whether anything changed.
    apply: Callable
    # (label, queryset of choices for the selected articles) or None.
    choice: Callable | None
    # Message with {changed}, {count} and {choice}.
    report: str


def add_related(relation):
    """Adds the chosen topic or person through `relation` ("tags" or "people")."""

    def apply(article, chosen):
        manager = getattr(article, relation)
        if chosen in manager.all():
            return False
        manager.add(chosen)
        return True

    return apply


def remove_related(relation):
    def apply(article, chosen):
        manager = getattr(article, relation)
        if chosen not in manager.all():
            return False
        manager.remove(chosen)
        return True

    return apply


class Refused(Exception):
    """One article the change cannot be made to; the others go ahead."""


def set_status(status):
    def apply(article, _choice):
        if article.status == status:
            return False
        # save(): a scheduled story keeps its future time, and signals see it.
        article.status = status
        if (
            status == Article.Status.PUBLISHED
            and article.lead_image_id
            and not article.lead_image.alt_text.strip()
        ):
            raise Refused("Not published, the lead image has no alt text")
        if (
            status == Article.Status.PUBLISHED
            and article.inline_images_without_alt_text()
        ):
            raise Refused("Not published, a photo in the story has no alt text")
        article.save()
        return True

    return apply


ARTICLE_CHANGES = [
    ArticleChange(
        "add_topic",
        "Add a topic to selected articles",
        add_related("tags"),
        lambda articles: ("Topic to add", Topic.objects.all()),
        'Added topic "{choice}" to {changed} of {count} selected article(s).',
    ),
    ArticleChange(
        "remove_topic",
        "Remove a topic from selected articles",
        remove_related("tags"),
        lambda articles: (
            "Topic to remove",
            Topic.objects.filter(tagged_articles__content_object__in=articles)
            .distinct()
            .order_by("name"),
        ),
        'Removed topic "{choice}" from {changed} of {count} selected article(s).',
    ),
    ArticleChange(
        "add_person",
        "Add a person to selected articles",
        add_related("people"),
        lambda articles: ("Person to add", Person.objects.all()),
        'Added "{choice}" to {changed} of {count} selected article(s).',
    ),
    ArticleChange(
        "remove_person",
        "Remove a person from selected articles",
        remove_related("people"),
        lambda articles: (
            "Person to remove",
            Person.objects.filter(articles__in=articles).distinct().order_by("name"),
        ),
        'Removed "{choice}" from {changed} of {count} selected article(s).',
    ),
    ArticleChange(
        "publish",
        "Publish selected articles",
        set_status(Article.Status.PUBLISHED),
        None,
        "Published {changed} of {count} selected article(s).",
    ),
    ArticleChange(
        "unpublish",
        "Unpublish selected articles (back to draft)",
        set_status(Article.Status.DRAFT),
        None,
        "Moved {changed} of {count} selected article(s) back to draft.",
    ),
]


def article_action(change):
    def action(modeladmin, request, queryset):
        # Re-select by key: the change list's query may be DISTINCT, which
        # cannot be locked.
        articles = Article.objects.filter(
            pk__in=list(queryset.values_list("pk", flat=True))
        )
        label, choices = change.choice(articles) if change.choice else (None, None)
        form_class = choice_form(label, choices)
        form = form_class(request.POST if is_confirmed(request) else None)
        if not form.is_valid():
            return confirmation_page(
                modeladmin,
                request,
                articles.order_by("headline"),
                title=change.description,
                question=change.description,
                form=form,
            )
        choice = form.cleaned_data.get("choice")
        count = 0
        changed, refused = [], {}
        with transaction.atomic(), history.revision_written_by_caller():
            for article in articles.select_for_update().prefetch_related(
                "tags", "people"
            ):
                count += 1
                try:
                    if change.apply(article, choice):
                        changed.append(article)
                except Refused as reason:
                    refused.setdefault(str(reason), []).append(article.headline)
            message = change.report.format(
                changed=len(changed), count=count, choice=choice
            )
            history.record_each(
                changed, user=request.user, comment=f"Bulk change: {message}"
            )
        modeladmin.message_user(request, message, messages.SUCCESS)
        for reason, headlines in refused.items():
            modeladmin.message_user(
                request, f"{reason}: {', '.join(headlines)}", messages.ERROR
            )
        return None

    action.__name__ = change.name
    return admin.action(description=change.description, permissions=["change"])(action)


ARTICLE_ACTIONS = [article_action(change) for change in ARTICLE_CHANGES]


# Topic merge.


class MergeTopicsForm(forms.Form):
    survivor = forms.ModelChoiceField(
        queryset=Topic.objects.none(),
        widget=forms.RadioSelect,
        label="Keep this topic",
        help_text="The others are merged into it and deleted; their addresses "
        "answer with a permanent redirect to it.",
    )

    def __init__(self, *args, topics, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["survivor"].queryset = topics


class MergeError(Exception):
    pass


def combined_terms(*term_lists):
    """Every term once, in first-seen order (keywords match case-sensitively)."""
    return list(dict.fromkeys(term for terms in term_lists for term in terms))


def merge_topics(survivor, topics, user=None):
    """Merge `topics` into `survivor`; returns how many articles were retagged.

    Their articles get the survivor, their keywords and descriptions join the
    survivor's, their addresses redirect to it, and they are deleted: all in one
    transaction, each retagged article with a revision credited to `user`.
    """
    retired = [topic for topic in topics if topic.pk != survivor.pk]
    keywords = ", ".join(
        combined_terms(*(t.keyword_list() for t in [survivor, *retired]))
    )
    limit = Topic._meta.get_field("keywords").max_length
    if len(keywords) > limit:
        raise MergeError(
            f"The merged keywords would be {len(keywords)} characters, more than "
            f"the {limit} a topic holds: shorten them first."
        )
    descriptions = combined_terms(
        *([t.description.strip()] for t in [survivor, *retired] if t.description)
    )
    names = ", ".join(topic.name for topic in retired)
    comment = f'Merged topic(s) {names} into "{survivor}"'
    with transaction.atomic(), history.revision_written_by_caller():
        articles = list(
            Article.objects.filter(
                pk__in=list(
                    Article.objects.filter(tags__in=retired).values_list(
                        "pk", flat=True
                    )
                )
            )
        )
        for article in articles:
            article.tags.add(survivor)
            article.tags.remove(*retired)
        history.record_each(articles, user=user, comment=comment)
        survivor.keywords = keywords
        survivor.description = "\n\n".join(descriptions)
        survivor.save()
        redirects.redirect_to_survivor(survivor, retired)
        for topic in retired:
            topic.delete()
    retagged = len(articles)
    return retagged


@admin.action(
    description="Merge selected topics into one", permissions=["change", "delete"]
)
def merge_selected_topics(modeladmin, request, queryset):
    topics = Topic.objects.filter(pk__in=list(queryset.values_list("pk", flat=True)))
    if topics.count() < 2:
        modeladmin.message_user(
            request, "Select at least two topics to merge.", messages.ERROR
        )
        return None
    form = MergeTopicsForm(
        request.POST if is_confirmed(request) else None, topics=topics
    )
    if not form.is_valid():
        return confirmation_page(
            modeladmin,
            request,
            topics,
            title="Merge topics",
            question="Merge the selected topics into the one you keep",
            form=form,
        )
    survivor = form.cleaned_data["survivor"]
    merged = [topic for topic in topics if topic.pk != survivor.pk]
    try:
        retagged = merge_topics(survivor, merged, user=request.user)
    except MergeError as error:
        modeladmin.message_user(request, str(error), messages.ERROR)
        return None
    modeladmin.message_user(
        request,
        f'Merged {len(merged)} topic(s) into "{survivor}"; '
        f"{retagged} article(s) retagged.",
        messages.SUCCESS,
    )
    return None
