"""Numbers and dates out of range answer 400 with a clear message, never 500, on every entry
point that parses them from a request (found by scanning int()/date parsing of request input
and probing each URL with 20-digit numbers and dates at the ends of the calendar)."""

from __future__ import annotations

import json

import pytest

from tests.factories import make_agent, make_inbox, receive

pytestmark = pytest.mark.django_db

BIG = "99999999999999999999"  # over 2**63: SQLite raised OverflowError


@pytest.fixture
def admin_client(client):
    admin = make_agent("root", staff=True, is_superuser=True)
    inbox = make_inbox("webchat", members=[admin])
    conversation = receive(inbox, "hello", auto_reply=False).conversation
    client.force_login(admin)
    client.conversation = conversation
    return client


def assert_clear_400(response, *words):
    assert response.status_code == 400, (response.status_code, response.content[:300])
    body = response.content.decode()
    for word in words:
        assert word in body, body


@pytest.mark.parametrize("url, words", [
    (f"/?inbox={BIG}", ["inbox", "whole number"]),
    (f"/conversations/?inbox=-{BIG}", ["inbox"]),
    (f"/api/conversations/?inbox={BIG}", ["inbox", "less than or equal"]),
    ("/retention/reports/?to=9999-12-31", ["to", "2199-12-31"]),
    ("/retention/reports/?from=0001-01-01", ["from", "1970-01-01"]),
    ("/retention/reports/conversations.csv?from=9999-12-31&to=9999-12-31", ["from"]),
    (f"/retention/reports/?inbox={BIG}", ["inbox"]),
    (f"/bot/answers/new/?from={BIG}", ["from"]),
    (f"/bot/api/console/?q=hello&inbox={BIG}", ["inbox"]),
    (f"/bot/api/quick-replies/?conversation={BIG}", ["conversation"]),
])
def test_get_entry_points(admin_client, url, words):
    assert_clear_400(admin_client.get(url), *words)


def test_page_numbers_are_not_errors(admin_client):
    assert admin_client.get(f"/?page={BIG}").status_code == 200  # the last page
    assert admin_client.get(f"/api/contacts/?page={BIG}").status_code == 404  # "Invalid page."


def test_post_entry_points(admin_client):
    pk = admin_client.conversation.pk
    assert_clear_400(admin_client.post(f"/conversations/{pk}/assign/", {"agent": BIG}), "whole number")
    assert_clear_400(admin_client.post(f"/conversations/{pk}/priority/", {"priority": BIG}), "whole number")
    assert_clear_400(admin_client.post(f"/contacts/{admin_client.conversation.contact_id}/merge/",
                                       {"duplicate": BIG}), "whole number")
    assert_clear_400(admin_client.post(f"/conversations/{pk}/status/",
                                       {"action": "snooze", "snooze": "custom", "until": "9999-12-31T23:59"}),
                     "snooze date")
    assert_clear_400(admin_client.post("/bot/unanswered/dismiss/", {"ids": BIG}), "ids")


@pytest.mark.parametrize("body, field", [
    ({"expected_assignee": int(BIG), "assignee": None}, "expected_assignee"),
    ({"assignee": int(BIG)}, "assignee"),
    ({"status": "snoozed", "snoozed_until": "9999-12-31T23:59:59Z"}, "snoozed_until"),
])
def test_api_patch(admin_client, body, field):
    response = admin_client.patch(f"/api/conversations/{admin_client.conversation.pk}/", json.dumps(body),
                                  content_type="application/json")
    assert response.status_code == 400 and field in response.json()
