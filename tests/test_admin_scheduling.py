import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from articles.models import Article
from tests.conftest import make_article

pytestmark = pytest.mark.django_db

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
CHANGELIST = "admin:articles_article_changelist"


@pytest.fixture
def three_states():
    with time_machine.travel(NOW, tick=False):
        return {
            "draft": make_article(
                headline="A draft", status=Article.Status.DRAFT, published_at=None
            ),
            "scheduled": make_article(
                headline="Due tomorrow", published_at=NOW + timedelta(days=1)
            ),
            "published": make_article(
                headline="Out already", published_at=NOW - timedelta(hours=1)
            ),
        }


def shown(client, query=""):
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse(CHANGELIST) + query)
    assert response.status_code == 200
    return response


def test_change_list_shows_draft_scheduled_and_published(editor_client, three_states):
    html = shown(editor_client).content.decode()
    states = dict(
        re.findall(
            r'<a href="[^"]+">([^<]+)</a></th>.*?<td class="field-state">(\w+)</td>',
            html,
            flags=re.DOTALL,
        )
    )

    assert states == {
        "A draft": "Draft",
        "Due tomorrow": "Scheduled",
        "Out already": "Published",
    }
    assert '<th scope="col" class="column-state">' in html


@pytest.mark.parametrize("state", ["draft", "scheduled", "published"])
def test_publication_filter_lists_each_state(editor_client, three_states, state):
    response = shown(editor_client, f"?publication={state}")
    assert list(response.context["cl"].result_list) == [three_states[state]]


def test_scheduled_article_moves_to_published_when_its_time_comes(
    editor_client, three_states
):
    with time_machine.travel(NOW + timedelta(days=1, minutes=1), tick=False):
        response = editor_client.get(reverse(CHANGELIST) + "?publication=scheduled")
    assert list(response.context["cl"].result_list) == []


def test_origin_filter_separates_imported_from_written_here(editor_client):
    imported = make_article(source="2024-05-01-story.txt")
    written = make_article()

    imported_list = shown(editor_client, "?origin=imported").context["cl"].result_list
    written_list = shown(editor_client, "?origin=written").context["cl"].result_list

    assert list(imported_list) == [imported]
    assert list(written_list) == [written]
