"""Queries per request do not grow with the number of rows (no N+1)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inbox import services
from tests.factories import make_agent, make_inbox, receive

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(client, monkeypatch):
    monkeypatch.setattr("bot.engine.bot_enabled_for", lambda inbox: False)
    inbox = make_inbox("webchat")
    agent = make_agent(inboxes=[inbox])
    client.force_login(agent)
    return client, inbox, agent


def count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("url", ["/api/conversations/", "/api/contacts/", "/"])
def test_lists(setup, url):
    client, inbox, agent = setup
    for i in range(3):
        receive(inbox, f"hello {i}", sender=f"v-a{i}", sender_name=f"A{i}")
    small = count(client, url)
    for i in range(15):
        conversation = receive(inbox, f"hello {i}", sender=f"v-b{i}", sender_name=f"B{i}").conversation
        services.set_labels(conversation=conversation, labels=["vip", f"l{i}"])
        services.assign(conversation=conversation, agent=agent)
    assert count(client, url) == small


def test_message_list(setup):
    client, inbox, agent = setup
    conversation = receive(inbox, "first", sender="v-1").conversation
    url = f"/api/conversations/{conversation.pk}/messages/"
    small = count(client, url)
    for i in range(15):
        receive(inbox, f"more {i}", sender="v-1")
        services.send_reply(conversation=conversation, author=agent, text=f"reply {i}")
    assert count(client, url) == small


def test_contact_detail(setup):
    client, inbox, agent = setup
    contact = receive(inbox, "first", sender="v-c").conversation.contact
    url = f"/api/contacts/{contact.pk}/"
    small = count(client, url)
    for i in range(15):
        services.contact_add_identity(contact=contact, channel_kind="email", address=f"c{i}@example.com")
        services.resolve(conversation=receive(inbox, f"again {i}", sender="v-c").conversation)
    assert len(client.get(url).json()["identities"]) == 16
    assert count(client, url) == small
