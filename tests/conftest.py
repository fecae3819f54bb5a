import itertools
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone

from articles.models import Article, Person, RelatedLink

_sequence = itertools.count(1)


def make_article(**fields):
    """A published article unless told otherwise; unique headline and slug."""
    number = next(_sequence)
    defaults = {
        "headline": f"Story number {number}",
        "slug": f"story-number-{number}",
        "standfirst": f"The standfirst of story {number}.",
        "body": "First paragraph.\n\nSecond paragraph.",
        "status": Article.Status.PUBLISHED,
        "published_at": timezone.now() - timedelta(hours=number),
    }
    defaults.update(fields)
    return Article.objects.create(**defaults)


def make_person(**fields):
    number = next(_sequence)
    defaults = {"name": f"Person {number}", "slug": f"person-{number}"}
    defaults.update(fields)
    return Person.objects.create(**defaults)


def make_related_link(article, **fields):
    number = next(_sequence)
    defaults = {"title": f"Related story {number}", "position": number}
    defaults.update(fields)
    return RelatedLink.objects.create(article=article, **defaults)


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("chief", "chief@example.com", "pw-chief-1")


@pytest.fixture
def editor(db):
    user = User.objects.create_user(
        "editor", "editor@example.com", "pw-editor-1", is_staff=True
    )
    user.groups.add(Group.objects.get(name="Editors"))
    return user


@pytest.fixture
def editor_client(client, editor):
    client.force_login(editor)
    return client


@pytest.fixture
def superuser_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture(scope="session")
def prepared_site(tmp_path_factory):
    """Collected static files and a migrated SQLite database for tests that
    start real servers (tests/services.py), made once a run."""
    from tests.services import prepare_site

    return prepare_site(tmp_path_factory.mktemp("prepared-site"))
