"""A web-chat visitor who left an e-mail address gets an unseen agent reply by e-mail too."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest

from inbox import services
from inbox.outbound import email_copy
from tests.factories import make_agent, make_inbox, receive
from tests.mailservers import smtp_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(smtp_server, monkeypatch):  # noqa: F811
    monkeypatch.setattr("bot.engine.bot_enabled_for", lambda inbox: False)
    webchat = make_inbox("webchat", name="Shop chat")
    make_inbox("email", channel_config={"address": "support@shop.test", **smtp_server.config()})
    agent = make_agent("ana", first_name="Ana", inboxes=[webchat])
    conversation = receive(webchat, "is anyone there?", sender="visitor:v1").conversation
    services.contact_update(contact=conversation.contact, email="visitor@customer.test")
    return conversation, agent


def test_unseen_reply_goes_out_by_email_once(setup, smtp_server):  # noqa: F811
    conversation, agent = setup
    reply = services.send_reply(conversation=conversation, author=agent, text="Sorry for the wait! Your order ships today.")
    assert email_copy(reply.pk) == "sent"
    assert email_copy(reply.pk) == "seen"  # never twice
    assert len(smtp_server.handler.messages) == 1
    sent = message_from_bytes(smtp_server.handler.messages[0]["data"], policy=policy.default)
    assert sent["To"] == "visitor@customer.test"
    assert "ships today" in sent.get_body(("plain",)).get_content()
    reply.refresh_from_db()
    assert reply.metadata["email_copy"]["to"] == "visitor@customer.test"


def test_reply_already_seen_in_the_widget_is_not_emailed(setup, smtp_server):  # noqa: F811
    conversation, agent = setup
    reply = services.send_reply(conversation=conversation, author=agent, text="hi")
    from inbox.models import Message

    Message.objects.filter(pk=reply.pk).update(delivery_state="read")
    assert email_copy(reply.pk) == "seen"
    assert smtp_server.handler.messages == []


def test_no_address_no_copy(setup, smtp_server):  # noqa: F811
    conversation, agent = setup
    services.contact_update(contact=conversation.contact, email="")
    reply = services.send_reply(conversation=conversation, author=agent, text="hi")
    assert email_copy(reply.pk) == "no address"
