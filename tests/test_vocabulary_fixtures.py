"""The people and topics in fixtures/ load with Django's own loaddata, and
load_vocabulary keeps merging them into a database editors have worked on."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from articles.models import Person, Topic

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PEOPLE = FIXTURES / "people.json"
TOPICS = FIXTURES / "topics.json"


def names_in(fixture):
    return sorted(item["fields"]["name"] for item in json.loads(fixture.read_text()))


def test_loaddata_loads_people_and_topics_into_an_empty_database():
    Person.objects.all().delete()
    Topic.objects.all().delete()

    call_command("loaddata", str(PEOPLE), str(TOPICS), verbosity=0)

    assert sorted(Person.objects.values_list("name", flat=True)) == names_in(PEOPLE)
    assert sorted(Topic.objects.values_list("name", flat=True)) == names_in(TOPICS)
    for person in Person.objects.all():
        assert person.created_at is not None
        assert person.updated_at is not None


def test_load_vocabulary_still_merges_after_loaddata():
    Person.objects.all().delete()
    Topic.objects.all().delete()
    call_command("loaddata", str(PEOPLE), str(TOPICS), verbosity=0)
    putin = Person.objects.get(slug="vladimir-putin")
    putin.description = "Edited by an editor."
    putin.save()
    Topic.objects.get(slug="belarus").delete()
    stdout = StringIO()

    call_command("load_vocabulary", str(PEOPLE), str(TOPICS), stdout=stdout)

    people_count, topics_count = len(names_in(PEOPLE)), len(names_in(TOPICS))
    assert stdout.getvalue().splitlines() == [
        f"{PEOPLE}: added 0, kept {people_count}",
        f"{TOPICS}: added 1, kept {topics_count - 1}",
    ]
    assert Person.objects.get(slug="vladimir-putin").description == (
        "Edited by an editor."
    )
    assert sorted(Topic.objects.values_list("name", flat=True)) == names_in(TOPICS)


def test_a_person_saved_in_code_gets_its_times_as_before():
    person = Person.objects.create(name="Someone New", slug="someone-new")

    person.refresh_from_db()
    created = person.created_at
    person.save()
    person.refresh_from_db()

    assert created is not None
    assert person.updated_at >= created
