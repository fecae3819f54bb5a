"""Filters the reader templates share."""

import json
import math

from django import template
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.safestring import mark_safe

from articles import metadata

register = template.Library()

WORDS_PER_MINUTE = 230

# Inside <script> the HTML parser ends the element at "</script" and treats
# "<!--" specially: escaping <, > and & keeps any text inert (the same
# characters django.utils.html.json_script escapes).
JSON_SCRIPT_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


@register.filter
def json_ld(data):
    """Serialise data for a <script type="application/ld+json"> element."""
    text = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=None)
    return mark_safe(text.translate(JSON_SCRIPT_ESCAPES))


@register.filter
def absolute(path):
    """A site path as an absolute address on SITE_URL."""
    return metadata.absolute_url(path)


@register.filter
def reading_minutes(article):
    words = len(article.body_text.split())
    return max(1, math.ceil(words / WORDS_PER_MINUTE))


@register.filter
def iso_datetime(moment):
    """For <time datetime> and meta tags."""
    return metadata.iso_datetime(moment) or ""


@register.filter
def primary_topic(article):
    """The topic a story is filed under: its first by name, or None."""
    topics = metadata.topics_of(article)
    return topics[0] if topics else None
