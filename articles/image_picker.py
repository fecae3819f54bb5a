"""Photos in the admin: the lead-image field's thumbnail and picker, and uploads
of several photos at once.

- The article form's lead-image field (`LeadImageWidget`) keeps the autocomplete
  and shows the chosen photo's thumbnail, with a link to the picker: a page of
  thumbnails with search (`picker_view`) that, opened from the field as a popup,
  sets it (static/js/admin-photos.js).
- `upload_view` stores several photos at once, each through ImageAdmin's own
  form and checks, so one refused file never stops the others.
- `thumbnail_view` answers with the thumbnail of any photo by id, for the
  field's thumbnail after the autocomplete changed it.

No inline script or style anywhere: the site's Content-Security-Policy forbids
them, so the behaviour lives in static/js/admin-photos.js and the look in
static/css/admin-photos.css.
"""

import re

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import IS_POPUP_VAR
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.text import get_text_list

from articles import renditions
from articles.images import ACCEPTED_NAMES, MAX_PIXELS, MAX_UPLOAD_BYTES
from articles.models import Image, PhotoFormField

PICKER_PAGE_SIZE = 24
# The id of the form field the picker fills in: only ever an HTML id.
FIELD_ID = re.compile(r"[A-Za-z][-\w]{0,99}")
DEFAULT_FIELD_ID = "id_lead_image"
ASSETS = forms.Media(css={"all": ["css/admin-photos.css"]}, js=["js/admin-photos.js"])


def thumbnail_url(image):
    """The smallest card rendition: the original only until it is made."""
    return renditions.smallest(image, "card", "webp").url


class LeadImageWidget(AutocompleteSelect):
    """The autocomplete, with the chosen photo's thumbnail and the picker link."""

    def render(self, name, value, attrs=None, renderer=None):
        select = super().render(name, value, attrs, renderer)
        field_id = (attrs or {}).get("id") or self.attrs.get("id", "")
        image = None
        if value not in (None, "") and str(value).isdigit():
            image = Image.objects.filter(pk=value).first()
        site = self.admin_site.name
        thumbnail = ""
        if image:
            thumbnail = format_html(
                '<img class="lead-image-thumbnail" src="{}" width="160" height="90" '
                'alt="">',
                thumbnail_url(image),
            )
        return format_html(
            '<div class="lead-image-widget" data-thumbnail-url="{}">{}'
            '<a class="photo-picker-link" href="{}?{}" target="_blank">'
            "Browse the photo library</a>{}</div>",
            reverse(f"{site}:articles_image_thumbnail", args=["__id__"]),
            select,
            reverse(f"{site}:articles_image_picker"),
            urlencode({"field": field_id}),
            thumbnail,
        )

    @property
    def media(self):
        return super().media + ASSETS


def image_urls(model_admin):
    wrap = model_admin.admin_site.admin_view
    return [
        path(
            "picker/",
            wrap(lambda request: picker_view(model_admin, request)),
            name="articles_image_picker",
        ),
        path(
            "upload/",
            wrap(lambda request: upload_view(model_admin, request)),
            name="articles_image_upload",
        ),
        path(
            "<path:object_id>/thumbnail/",
            wrap(
                lambda request, object_id: thumbnail_view(
                    model_admin, request, object_id
                )
            ),
            name="articles_image_thumbnail",
        ),
    ]


def picker_view(model_admin, request):
    """Photos as thumbnails, newest first, searched as the image list is."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    search = request.GET.get("q", "").strip()
    images = model_admin.get_queryset(request)
    if search:
        images, _ = model_admin.get_search_results(request, images, search)
    page = Paginator(images, PICKER_PAGE_SIZE).get_page(request.GET.get("page"))
    field = request.GET.get("field", "")
    if not FIELD_ID.fullmatch(field):
        field = DEFAULT_FIELD_ID
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Choose a photo",
        "opts": model_admin.opts,
        "is_popup": IS_POPUP_VAR in request.GET,
        "is_popup_var": IS_POPUP_VAR,
        "search": search,
        "field": field,
        "page": page,
        "photos": [(image, thumbnail_url(image)) for image in page.object_list],
        "media": ASSETS,
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/articles/image/picker.html", context)


def thumbnail_view(model_admin, request, object_id):
    image = model_admin.get_object(request, unquote(object_id))
    if image is None:
        raise Http404("No such photo.")
    if not model_admin.has_view_permission(request, image):
        raise PermissionDenied
    return redirect(thumbnail_url(image))


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class PhotoFilesField(PhotoFormField):
    """Several files; each is checked on its own when it is stored."""

    widget = MultipleFileInput

    def clean(self, data, initial=None):
        files = [file for file in data or [] if file]
        if not files:
            raise forms.ValidationError("Choose one or more photos to upload.")
        return files


class UploadForm(forms.Form):
    files = PhotoFilesField(
        label="Photos",
        help_text=f"{ACCEPTED_NAMES}, each at most "
        f"{MAX_UPLOAD_BYTES // 1024 // 1024} MB and {MAX_PIXELS // 1_000_000} "
        "megapixels. Choose several at once.",
    )


def upload_view(model_admin, request):
    """Store each good photo; say, one line each, why any other was refused."""
    if not model_admin.has_add_permission(request):
        raise PermissionDenied
    posted = request.method == "POST"
    form = UploadForm(request.POST, request.FILES) if posted else UploadForm()
    if posted and form.is_valid():
        stored, refused = store_photos(model_admin, request, form.cleaned_data["files"])
        for name, reason in refused:
            messages.error(request, f"“{name}” was not uploaded: {reason}")
        if stored:
            messages.success(
                request,
                f"Uploaded {len(stored)} photo(s): "
                f"{get_text_list([image_name for image_name, _ in stored], 'and')}. "
                "Give each alt text before a story using it is published.",
            )
            return redirect(f"{model_admin.admin_site.name}:articles_image_changelist")
        return redirect(f"{model_admin.admin_site.name}:articles_image_upload")
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Upload photos",
        "opts": model_admin.opts,
        "form": form,
        "media": ASSETS,
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/articles/image/upload.html", context)


def store_photos(model_admin, request, files):
    """(name, image) for each stored file, (name, reason) for each refused one."""
    photo_form = model_admin.get_form(request, fields=["file"])
    stored, refused = [], []
    for file in files:
        form = photo_form(data={}, files={"file": file})
        if not form.is_valid():
            errors = [message for field in form.errors.values() for message in field]
            refused.append((file.name, " ".join(errors)))
            continue
        # One photo per transaction: a later failure leaves the earlier ones.
        with transaction.atomic():
            image = model_admin.save_form(request, form, change=False)
            model_admin.save_model(request, image, form, change=False)
            model_admin.log_addition(request, image, [{"added": {}}])
        stored.append((file.name, image))
    return stored, refused
