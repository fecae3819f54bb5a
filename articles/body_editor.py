"""The rich-text editor of a story's body in the admin.

A textarea that a ProseMirror editor (the build that django-prose-editor ships
as a static file) takes over: static/admin/articles/body-editor.js. Without
JavaScript the textarea posts the HTML as it is; the model cleans it either way
(articles/richtext.py). The editor keeps to the site's Content-Security-Policy:
one module script and stylesheets from our own static files, no inline style.

Stories and photos are chosen through the admin's own autocomplete views, so
the choices and permissions are the admin's.
"""

import json

from django import forms
from django.urls import reverse

from articles import richtext


def _photo_labels(value):
    from articles.models import Image  # models imports this app's modules

    ids = richtext.parse(richtext.clean(value or "")).image_ids
    images = Image.objects.in_bulk(ids) if ids else {}
    return {pk: str(image) for pk, image in images.items()}


def _autocomplete_url(model_name, field_name):
    query = f"app_label=articles&model_name={model_name}&field_name={field_name}"
    return f"{reverse('admin:autocomplete')}?{query}"


class BodyEditorWidget(forms.Textarea):
    class Media:
        css = {"all": ["admin/articles/body-editor.css"]}
        js = [forms.Script("admin/articles/body-editor.js", type="module")]

    def __init__(self, attrs=None):
        super().__init__(
            attrs={"rows": 20, "class": "body-editor-source", **(attrs or {})}
        )

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["attrs"].update(
            {
                "data-body-editor": "",
                # A related link's target is a story: the same autocomplete.
                "data-story-search": _autocomplete_url("relatedlink", "target"),
                "data-photo-search": _autocomplete_url("article", "lead_image"),
                # What the editor shows for each photo already in the body.
                "data-photo-labels": json.dumps(_photo_labels(value)),
            }
        )
        return context

    def format_value(self, value):
        # A body written before bodies were HTML (an old revision being
        # restored) is opened as the paragraphs it stands for.
        if value and not richtext.is_html(value):
            value = richtext.from_text(value)
        return super().format_value(value)
