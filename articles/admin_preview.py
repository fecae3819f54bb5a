"""Preview: the story as readers would see it, from the change form's unsaved values.

The change form's Preview button posts the whole form here (in a new tab, no
JavaScript needed). The form and its inlines are saved through the admin's own
hooks, exactly as Save would, inside a transaction that is always rolled back
once the page is rendered: the preview shows what Save would publish, with its
topics, people, links and corrections, and nothing of it is stored (no row, no
revision, no cache invalidation, no slug redirect).
"""

from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.forms.formsets import all_valid
from django.http import Http404, HttpResponseNotAllowed
from django.template.response import TemplateResponse
from django.urls import path

from articles.views import article_with_everything, render_article

LABEL = "Preview of unsaved changes."


def preview_urls(model_admin):
    wrap = model_admin.admin_site.admin_view
    name = f"{model_admin.opts.app_label}_{model_admin.opts.model_name}"
    return [
        # Before "<path:object_id>/preview/", which "add/preview/" would match.
        path(
            "add/preview/",
            wrap(lambda request: preview_view(model_admin, request)),
            name=f"{name}_add_preview",
        ),
        path(
            "<path:object_id>/preview/",
            wrap(
                lambda request, object_id: preview_view(model_admin, request, object_id)
            ),
            name=f"{name}_preview",
        ),
    ]


def preview_view(model_admin, request, object_id=None):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    article = None
    if object_id is not None:
        article = model_admin.get_object(request, unquote(object_id))
        if article is None:
            raise Http404("No such article.")
        if not model_admin.has_change_permission(request, article):
            raise PermissionDenied
    elif not model_admin.has_add_permission(request):
        raise PermissionDenied
    change = article is not None

    with transaction.atomic():
        form = model_admin.get_form(request, article, change=change)(
            request.POST, request.FILES, instance=article
        )
        formsets = inline_formsets(model_admin, request, form.instance, change)
        if not (form.is_valid() and all_valid(formsets)):
            return form_errors(model_admin, request, form, formsets)
        article = model_admin.save_form(request, form, change=change)
        model_admin.save_model(request, article, form, change)
        model_admin.save_related(request, form, formsets, change)
        saved = article_with_everything(type(article).objects.filter(pk=article.pk))
        response = render_article(request, saved, preview=True, preview_label=LABEL)
        transaction.set_rollback(True)
    response["X-Robots-Tag"] = "noindex"
    return response


def inline_formsets(model_admin, request, article, change):
    """The inlines' formsets bound to the post, prefixed as the change form does."""
    formsets = []
    prefixes = {}
    args = [request, article] if change else [request]
    for formset_class, inline in model_admin.get_formsets_with_inlines(*args):
        prefix = formset_class.get_default_prefix()
        prefixes[prefix] = prefixes.get(prefix, 0) + 1
        if prefixes[prefix] != 1 or not prefix:
            prefix = f"{prefix}-{prefixes[prefix]}"
        kwargs = model_admin.get_formset_kwargs(request, article, inline, prefix)
        formsets.append(formset_class(**kwargs))
    return formsets


def form_errors(model_admin, request, form, formsets):
    """Nothing to preview until the form is valid: say what to fix."""
    errors = [
        (form[name].label if name in form.fields else "", message)
        for name, messages in form.errors.items()
        for message in messages
    ]
    for formset in formsets:
        errors += [("", message) for message in formset.non_form_errors()]
        for inline_form in formset.forms:
            errors += [
                (inline_form[name].label if name in inline_form.fields else "", message)
                for name, messages in inline_form.errors.items()
                for message in messages
            ]
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Nothing to preview yet",
        "opts": model_admin.opts,
        "errors": errors,
    }
    request.current_app = model_admin.admin_site.name
    response = TemplateResponse(
        request, "admin/articles/article/preview_errors.html", context
    )
    response["X-Robots-Tag"] = "noindex"
    return response
