from django.db import migrations, models

from articles import richtext, search

BATCH = 500


def _convert_bodies(apps, convert):
    """Rewrite every stored body (and its text), a batch at a time."""
    Article = apps.get_model("articles", "Article")
    articles = Article.objects.only("pk", "body").order_by("pk")
    batch = []
    for article in articles.iterator(chunk_size=BATCH):
        article.body = convert(article.body)
        fields = ["body"]
        if hasattr(article, "body_text"):
            article.body_text = richtext.to_text(article.body)
            fields.append("body_text")
        batch.append(article)
        if len(batch) == BATCH:
            Article.objects.bulk_update(batch, fields)
            batch = []
    if batch:
        Article.objects.bulk_update(batch, fields)


def bodies_to_html(apps, schema_editor):
    """Plain text (paragraphs separated by blank lines) becomes one <p> each,
    its text escaped: what the page showed before shows the same after."""
    _convert_bodies(apps, richtext.from_text)


def bodies_to_text(apps, schema_editor):
    """HTML back to plain paragraphs separated by blank lines (markup is lost)."""
    _convert_bodies(apps, richtext.to_text)


def create_search_index(apps, schema_editor):
    search.create_index(schema_editor.connection)


def drop_search_index(apps, schema_editor):
    search.drop_index(schema_editor.connection)


class Migration(migrations.Migration):
    """Story bodies become sanitised HTML; the search index reads body_text,
    their words without markup (articles/richtext.py, articles/search.py).

    The index is dropped first and made again last, in both directions, so it
    is always built over the column that exists (body_text, or body before).
    """

    dependencies = [("articles", "0012_article_version_person_timestamps")]

    operations = [
        migrations.RunPython(drop_search_index, create_search_index),
        migrations.AddField(
            model_name="article",
            name="body_text",
            field=models.TextField(
                blank=True,
                default="",
                editable=False,
                help_text="The body's words without markup, paragraphs separated by blank lines (search, reading time, descriptions); set from the body on every save.",
            ),
        ),
        migrations.AlterField(
            model_name="article",
            name="body",
            field=models.TextField(
                help_text="The story: paragraphs, subheadings, quotes, lists, links and photos. Anything else (scripts, styles, other tags) is removed on saving."
            ),
        ),
        migrations.RunPython(bodies_to_html, bodies_to_text),
        migrations.RunPython(create_search_index, drop_search_index),
    ]
