"""Write path: delivery states and sweeps of stuck sends (``inbox.services.delivery``)"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from channels_adapters.base import StatusUpdate
from inbox import services
from inbox.models import Message
from tests.factories import make_inbox, receive

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_bot(settings, monkeypatch):
    """These tests are about the inbox; the bot is tested in tests/bot."""
    monkeypatch.setattr("bot.engine.bot_enabled_for", lambda inbox: False)


def test_delivery_state_never_moves_backwards():
    inbox = make_inbox("whatsapp")
    conversation = receive(inbox, "hi", sender="551100").conversation
    message = services.send_reply(conversation=conversation, text="hello")
    services.record_send_success(message=services.claim_for_sending(message_id=message.pk), provider_message_id="wamid.out")
    for status in ("read", "delivered", "sent"):
        services.apply_status_update(inbox=inbox, update=StatusUpdate(status=status, provider_message_id="wamid.out"))
    message.refresh_from_db()
    assert message.delivery_state == "read"
    services.apply_status_update(inbox=inbox, update=StatusUpdate(
        status="failed", provider_message_id="wamid.out", error_code="131047", error_title="Re-engagement message"))
    message.refresh_from_db()
    assert message.delivery_state == "read"  # a late failure does not undo a read


def test_sweep_resends_a_stuck_webchat_send_once_and_leaves_a_finished_one_alone():
    """The widget dedupes by message id, so a send whose worker died is queued again."""
    from channels_adapters import locmem
    from inbox import tasks

    inbox = make_inbox("webchat")
    conversation = receive(inbox, "hi", sender="v-stuck").conversation
    message = services.send_reply(conversation=conversation, text="hello")  # on_commit not run: no send yet
    services.claim_for_sending(message_id=message.pk)  # a worker claimed it, then died
    counts = tasks.sweep(now=timezone.now() + dt.timedelta(minutes=10))
    message.refresh_from_db()
    assert counts["uncertain_sends"] == 1
    assert message.delivery_state == "sent" and [m.text for m in locmem.outbox] == ["hello"]
    assert not services.requeue_uncertain_send(message=message, now=timezone.now())
    message.refresh_from_db()
    assert message.delivery_state == "sent"


def test_failed_status_shows_the_providers_reason():
    inbox = make_inbox("whatsapp")
    conversation = receive(inbox, "hi", sender="551100").conversation
    message = services.send_reply(conversation=conversation, text="hello")
    services.record_send_success(message=services.claim_for_sending(message_id=message.pk), provider_message_id="wamid.x")
    services.apply_status_update(inbox=inbox, update=StatusUpdate(
        status="failed", provider_message_id="wamid.x", error_code="131026", error_title="Message undeliverable"))
    message.refresh_from_db()
    assert message.delivery_state == "failed" and message.delivery_error_code == "131026"
    assert "undeliverable" in message.delivery_error


def test_watermark_marks_earlier_messages_read():
    inbox = make_inbox("messenger")
    conversation = receive(inbox, "hi", sender="psid-1").conversation
    ids = []
    for text in ("one", "two"):
        message = services.send_reply(conversation=conversation, text=text)
        services.record_send_success(message=services.claim_for_sending(message_id=message.pk), provider_message_id=f"m_{text}")
        ids.append(message.pk)
    services.apply_status_update(inbox=inbox, update=StatusUpdate(
        status="read", recipient_address="psid-1", watermark=timezone.now()))
    assert set(Message.objects.filter(pk__in=ids).values_list("delivery_state", flat=True)) == {"read"}
