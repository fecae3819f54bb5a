"""Accessible names for the article form's inputs that Django's admin leaves
unnamed: a tabular inline's cells (their header is a <th>, not a <label>) and
the date and time halves of a date-time field. Server-side, so they hold
without JavaScript; static/js/admin-article-form.js names Select2's boxes."""

from django.contrib.admin import widgets
from django.utils.text import capfirst


def name_inputs(formfield, *, by_column=False):
    if formfield is None:
        return formfield
    label = capfirst(formfield.label)
    widget = formfield.widget
    if isinstance(widget, widgets.AdminSplitDateTime):
        date, time = widget.widgets
        date.attrs.setdefault("aria-label", f"{label} date")
        time.attrs.setdefault("aria-label", f"{label} time")
    elif by_column:
        # A RelatedFieldWidgetWrapper shares its widget's attrs.
        widget.attrs.setdefault("aria-label", label)
    return formfield


class NamedInputsMixin:
    """For a ModelAdmin or a stacked inline: named date-time halves."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        return name_inputs(super().formfield_for_dbfield(db_field, request, **kwargs))


class NamedColumnsMixin:
    """For a tabular inline: each input named after its column."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        return name_inputs(formfield, by_column=True)
