"""Filters the reader templates share."""

import json
import math

from django import template
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.safestring import mark_safe

from articles import metadata
from articles.delivery.memo import remember

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


@register.tag
def remembered(parser, token):
    """The HTML of a block that shows content only, drawn once per process while
    its keys keep their versions (articles/delivery/memo.py):

        {% remembered "story" article.pk depends_on=page_keys %}...{% endremembered %}

    The name (its parts joined) tells one block from another; without
    depends_on the block changes only with the code and the site-wide token
    (the navigation); with depends_on None (a preview) it is drawn each time.
    """
    bits = token.split_contents()
    tag, *parts = bits
    depends_on = None
    if parts and parts[-1].startswith("depends_on="):
        depends_on = parser.compile_filter(parts.pop().removeprefix("depends_on="))
    if not parts:
        raise template.TemplateSyntaxError(f"{tag} needs a name.")
    nodelist = parser.parse(("endremembered",))
    parser.delete_first_token()
    return RememberedNode(
        nodelist, [parser.compile_filter(p) for p in parts], depends_on
    )


class RememberedNode(template.Node):
    def __init__(self, nodelist, name, depends_on):
        self.nodelist = nodelist
        self.name = name
        self.depends_on = depends_on

    def render(self, context):
        depends_on = (
            ()
            if self.depends_on is None
            # A variable the view did not give: drawn each time, never kept.
            else self.depends_on.resolve(context, ignore_failures=True)
        )
        request = context.get("request")
        if depends_on is None or request is None:
            return self.nodelist.render(context)
        name = ("html", *(part.resolve(context) for part in self.name))
        return remember(
            request, name, depends_on, lambda: self.nodelist.render(context)
        )
