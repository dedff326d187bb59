"""The widget's history endpoint keeps a constant number of queries as the history grows."""

from __future__ import annotations

import dataclasses

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from channels_adapters.webchat import inbound_from_widget
from inbox import services
from widget import auth as widget_auth
from tests.factories import make_agent

from .test_views import ORIGIN, session

pytestmark = pytest.mark.django_db


def count(client, url: str, token: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, HTTP_X_WIDGET_TOKEN=token, HTTP_ORIGIN=ORIGIN)
        assert response.status_code == 200
    return len(captured)


def test_history(client, inbox):
    agent = make_agent(inboxes=[inbox])
    token = session(client, inbox)["token"]
    visitor = widget_auth.read_token(token, inbox=inbox)
    url = f"/widget/api/messages?inbox={inbox.public_id}&limit=100"

    def exchange(n: int, tag: str) -> None:
        """Each customer message quotes the one before it; an agent answers each."""
        previous = ""
        for i in range(n):
            inbound = dataclasses.replace(inbound_from_widget(
                visitor_id=visitor, client_id=f"{tag}{i}", text=f"question {tag}{i}"), reply_to_provider_id=previous)
            previous = services.receive_inbound(inbox=inbox, inbound=inbound).message.provider_message_id
            conversation = widget_auth.visitor_conversation(inbox=inbox, visitor_id=visitor)
            services.send_reply(conversation=conversation, author=agent, text=f"answer {tag}{i}")

    exchange(1, "a")
    small = count(client, url, token)
    exchange(15, "b")
    messages = client.get(url, HTTP_X_WIDGET_TOKEN=token, HTTP_ORIGIN=ORIGIN).json()["messages"]
    assert len(messages) == 32
    assert sum(1 for m in messages if m["reply_to"]) == 14 and sum(1 for m in messages if m["author_name"]) == 16
    assert count(client, url, token) == small
