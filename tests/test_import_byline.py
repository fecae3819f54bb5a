"""import_articles --byline: imported stories credited to an author."""

import pytest
from django.core.management import CommandError, call_command

from articles.bylines import Author
from articles.models import Article
from tests.conftest import credit, make_author
from tests.test_importer import run_import, story, write

pytestmark = pytest.mark.django_db


def authors(headline="Minsk hosts talks on grain exports"):
    article = Article.objects.get(headline=headline)
    return [byline.author.name for byline in article.bylines.all()]


def test_byline_credits_new_stories_to_an_author_made_from_the_name(tmp_path):
    path = write(tmp_path, "story.txt", story())
    run = run_import(path, byline="  Agnès Dupont ")
    assert run.summary == "created 1, updated 0, unchanged 0, failed 0"
    author = Author.objects.get()
    assert (author.name, author.slug) == ("Agnès Dupont", "agnes-dupont")
    assert authors() == ["Agnès Dupont"]

    # A second story goes to the same author.
    run_import(
        write(tmp_path, "two.txt", story(headline="Second story")),
        byline="Agnès Dupont",
    )
    assert Author.objects.count() == 1
    assert authors("Second story") == ["Agnès Dupont"]


def test_reimport_credits_a_story_only_while_it_has_no_author(tmp_path):
    path = write(tmp_path, "story.txt", story())
    run_import(path)
    assert authors() == []
    run = run_import(path, byline="Wire Desk")
    assert run.summary == "created 0, updated 1, unchanged 0, failed 0"
    assert authors() == ["Wire Desk"]
    assert run_import(path, byline="Wire Desk").summary.startswith(
        "created 0, updated 0"
    )

    # An editor's byline stays whatever the import names.
    article = Article.objects.get()
    article.bylines.all().delete()
    credit(article, make_author(name="Ada Lovelace"), make_author(name="Bob"))
    run = run_import(path, byline="Wire Desk")
    assert run.summary == "created 0, updated 0, unchanged 1, failed 0"
    assert authors() == ["Ada Lovelace", "Bob"]


def test_new_only_and_dry_run_leave_bylines_alone(tmp_path):
    path = write(tmp_path, "story.txt", story())
    run_import(path)
    run_import(path, byline="Wire Desk", new_only=True)
    assert authors() == []
    run_import(
        write(tmp_path, "new.txt", story(headline="New")),
        byline="Wire Desk",
        dry_run=True,
    )
    assert not Author.objects.exists()


def test_author_slug_taken_by_another_name_gets_a_number(tmp_path):
    make_author(name="Wire desk (old)", slug="wire-desk")
    run_import(write(tmp_path, "story.txt", story()), byline="Wire Desk")
    assert Author.objects.get(name="Wire Desk").slug == "wire-desk-2"


@pytest.mark.parametrize("name", ["", "   ", "!!!"])
def test_byline_without_a_name_is_refused_before_anything_is_written(tmp_path, name):
    path = write(tmp_path, "story.txt", story())
    with pytest.raises(CommandError, match="--byline .*: give an author's name"):
        call_command("import_articles", str(path), byline=name)
    assert not Article.objects.exists()
