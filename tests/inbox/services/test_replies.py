"""Write path: replies, notes and the customer-service window (``inbox.services.replies``)"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from inbox import services
from inbox.models import Conversation, Message
from tests.factories import make_agent, make_inbox, receive

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_bot(settings, monkeypatch):
    """These tests are about the inbox; the bot is tested in tests/bot."""
    monkeypatch.setattr("bot.engine.bot_enabled_for", lambda inbox: False)


def test_reply_to_resolved_conversation_reopens_it_and_assigns_the_author(django_capture_on_commit_callbacks):
    inbox = make_inbox()
    agent = make_agent(inboxes=[inbox])
    conversation = receive(inbox, "hi").conversation
    services.resolve(conversation=conversation)
    message = services.send_reply(conversation=conversation, author=agent, text="Back to you")
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.OPEN
    assert conversation.assignee == agent
    assert conversation.first_response_at is not None
    assert message.delivery_state == Message.Delivery.QUEUED


def test_empty_reply_and_note_are_refused():
    conversation = receive(make_inbox(), "hi").conversation
    with pytest.raises(services.ServiceError):
        services.send_reply(conversation=conversation, text="   ")
    with pytest.raises(services.ServiceError):
        services.add_note(conversation=conversation, author=None, text="")


def test_whatsapp_window_refuses_free_text_after_24_hours_but_allows_a_template():
    inbox = make_inbox("whatsapp")
    agent = make_agent(inboxes=[inbox])
    conversation = receive(inbox, "hi").conversation
    Conversation.objects.filter(pk=conversation.pk).update(last_incoming_at=timezone.now() - dt.timedelta(hours=25))
    conversation.refresh_from_db()
    window = services.service_window(conversation)
    assert window["applies"] and not window["open"]
    with pytest.raises(services.WindowClosed):
        services.send_reply(conversation=conversation, author=agent, text="hello again")
    assert not Message.objects.filter(direction="out", sender_kind="agent").exists()
    message = services.send_reply(conversation=conversation, author=agent, text="",
                                  template={"name": "order_update", "language": "pt_BR", "parameters": ["10234"]})
    assert message.metadata["template"]["name"] == "order_update"


def test_window_is_open_inside_24_hours_and_absent_for_webchat():
    conversation = receive(make_inbox("whatsapp"), "hi").conversation
    window = services.service_window(conversation)
    assert window["open"] and window["closes_at"] > timezone.now() + dt.timedelta(hours=23)
    assert services.service_window(receive(make_inbox("webchat"), "hi").conversation)["applies"] is False


def test_private_note_is_never_sent(django_capture_on_commit_callbacks):
    inbox = make_inbox()
    agent = make_agent(inboxes=[inbox])
    conversation = receive(inbox, "hi").conversation
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        note = services.add_note(conversation=conversation, author=agent, text="VIP customer")
    assert note.is_private_note and note.delivery_state == ""
    # Only broadcasts are scheduled (agents' group), no delivery task.
    assert all("deliver_message" not in repr(cb) for cb in callbacks)
