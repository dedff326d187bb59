"""Write path: receive_inbound: identity, contact, conversation, message, attachments, reactions, echoes (``inbox.services.receiving``)"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from channels_adapters.base import InboundAttachment
from inbox import services
from inbox.models import Contact, ContactIdentity, Conversation, Message
from tests.factories import make_agent, make_inbox, receive

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_bot(settings, monkeypatch):
    """These tests are about the inbox; the bot is tested in tests/bot."""
    monkeypatch.setattr("bot.engine.bot_enabled_for", lambda inbox: False)


def test_first_message_creates_contact_identity_conversation_and_message():
    inbox = make_inbox("whatsapp")
    result = receive(inbox, "nao recebi meu pedido", sender="5511999990000", sender_name="Maria",
                     contact_phone="5511999990000")
    assert result.created
    contact = result.conversation.contact
    assert contact.name == "Maria" and contact.phone == "+5511999990000"
    assert ContactIdentity.objects.get(channel_kind="whatsapp", address="5511999990000").contact == contact
    assert result.conversation.status == Conversation.Status.PENDING  # no bot: straight to agents
    assert result.message.direction == "in" and result.message.sender_kind == "contact"
    assert result.conversation.last_incoming_at is not None


def test_redelivered_event_creates_nothing():
    inbox = make_inbox("whatsapp")
    first = receive(inbox, "hi", provider_id="wamid.1")
    again = receive(inbox, "hi", provider_id="wamid.1")
    assert not again.created and again.message.pk == first.message.pk
    assert Message.objects.count() == 1 and Contact.objects.count() == 1


def test_same_provider_id_in_another_inbox_is_a_different_message():
    receive(make_inbox("whatsapp"), "hi", provider_id="same")
    receive(make_inbox("whatsapp"), "hi", provider_id="same")
    assert Message.objects.count() == 2


def test_next_message_joins_the_open_conversation_and_resolved_starts_a_new_one():
    inbox = make_inbox("webchat")
    first = receive(inbox, "one")
    second = receive(inbox, "two")
    assert second.conversation.pk == first.conversation.pk
    services.resolve(conversation=first.conversation)
    third = receive(inbox, "three")
    assert third.conversation.pk != first.conversation.pk


def test_email_reply_within_window_reopens_the_resolved_conversation():
    inbox = make_inbox("email")
    first = receive(inbox, "question", sender="a@example.com")
    services.resolve(conversation=first.conversation)
    again = receive(inbox, "one more thing", sender="a@example.com")
    assert again.conversation.pk == first.conversation.pk
    assert again.conversation.status == Conversation.Status.PENDING


def test_snoozed_conversation_wakes_when_customer_writes_and_when_time_comes():
    inbox = make_inbox()
    agent = make_agent(inboxes=[inbox])
    conversation = receive(inbox, "hi").conversation
    services.assign(conversation=conversation, agent=agent)
    services.snooze(conversation=conversation, until=timezone.now() + dt.timedelta(hours=1))
    receive(inbox, "still there?")
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.OPEN and conversation.snoozed_until is None

    services.snooze(conversation=conversation, until=timezone.now() + dt.timedelta(hours=1))
    assert services.wake_snoozed(now=timezone.now() + dt.timedelta(hours=2)) == 1
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.OPEN


def test_reaction_is_shown_on_the_message_it_reacts_to():
    inbox = make_inbox("whatsapp")
    first = receive(inbox, "hello", sender="5511", provider_id="wamid.A")
    receive(inbox, "👍", sender="5511", provider_id="wamid.R", reaction_to_provider_id="wamid.A")
    first.message.refresh_from_db()
    assert first.message.metadata["reactions"] == {"5511": "👍"}
    assert Message.objects.count() == 1
    receive(inbox, "", sender="5511", provider_id="wamid.R2", reaction_to_provider_id="wamid.A")
    first.message.refresh_from_db()
    assert first.message.metadata["reactions"] == {}


def test_echo_of_a_message_sent_from_the_providers_app_is_shown_once():
    inbox = make_inbox("messenger")
    receive(inbox, "hi", sender="psid-9")
    echo = receive(inbox, "sent from the Page inbox", sender="psid-9", provider_id="m_echo", is_echo=True)
    assert echo.message.direction == "out" and echo.message.metadata["sent_from_provider_app"]
    assert not receive(inbox, "sent from the Page inbox", sender="psid-9", provider_id="m_echo", is_echo=True).created


def test_attachment_with_data_is_stored_and_oversized_is_marked(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.MAX_ATTACHMENT_BYTES = 10
    inbox = make_inbox("email")
    result = receive(inbox, "see files", sender="a@b.c", attachments=[
        InboundAttachment(kind="file", filename="ok.txt", content_type="text/plain", data=b"12345"),
        InboundAttachment(kind="file", filename="big.bin", content_type="application/octet-stream", data=b"x" * 11),
    ])
    statuses = dict(result.message.attachments.values_list("filename", "status"))
    assert statuses == {"ok.txt": "stored", "big.bin": "too_large"}
