"""Template tags that draw stored image renditions; see articles/renditions.py.

    {% load pictures %}
    {% picture article.lead_image "full" sizes="(min-width: 50rem) 48rem, 100vw"
       fetchpriority="high" %}
    {% picture article.lead_image "card" sizes="20rem" class="card-photo" %}
    {% rendition article.lead_image "social" as social %}{{ social.absolute_url }}

(A tag must stay on one line in a template; the first is wrapped here.)
"""

from django import template

from articles import renditions

register = template.Library()


@register.inclusion_tag("includes/picture.html")
def picture(
    image,
    spec="full",
    sizes="100vw",
    loading=None,
    fetchpriority=None,
    alt=None,
    **options,
):
    """A <picture>: AVIF and WebP sources, a JPEG <img> with width and height.

    Lazy-loaded unless fetchpriority="high" (the lead image), which loads at once.
    Draws nothing when there is no image.
    """
    css_class = options.pop("class", "")
    if options:
        raise template.TemplateSyntaxError(
            f"picture got unknown option(s): {', '.join(options)}."
        )
    if not image:
        return {"picture": None}
    try:
        context = renditions.picture_context(
            image,
            spec,
            sizes=sizes,
            loading=loading,
            fetchpriority=fetchpriority,
            alt=alt,
            css_class=css_class,
        )
    except ValueError as error:
        raise template.TemplateSyntaxError(f"picture: {error}") from error
    return {"picture": context}


@register.simple_tag
def rendition(image, spec, format_key=None):
    """The largest rendition of a spec (url, absolute_url, width, height,
    content_type), e.g. the 1200×630 social JPEG; None when there is no image."""
    if not image:
        return None
    spec_formats = renditions.SPECS[spec].formats
    return renditions.largest(image, spec, format_key or spec_formats[-1])
