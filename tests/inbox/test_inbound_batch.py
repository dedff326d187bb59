"""Webhook events processed in batches (inbox/inbound_batch.py): many per transaction, each
on its own, idempotent."""

from __future__ import annotations

import json

import pytest
from django.db import transaction

from inbox import inbound, inbound_batch
from inbox.inbound import record_webhook_event
from inbox.models import Message, WebhookEvent
from tests.factories import make_inbox

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_bot(monkeypatch):
    monkeypatch.setattr("bot.engine.bot_enabled_for", lambda inbox: False)


def whatsapp_event(inbox, n: int) -> WebhookEvent:
    """A stored event in the test adapter's format (tests/inbox/conftest.py maps whatsapp to locmem)."""
    body = json.dumps({"messages": [{"id": f"wamid.batch.{n}", "from": f"55119000{n:04d}",
                                     "text": f"pergunta {n}"}]}).encode()
    with transaction.atomic():
        return record_webhook_event(inbox=inbox, channel_kind="whatsapp", public_id=inbox.public_id, body=body,
                                    headers={})


def test_one_task_processes_the_waiting_events_and_the_others_find_nothing(django_capture_on_commit_callbacks):
    inbox = make_inbox("whatsapp", channel_config={"phone_number_id": "1234567890", "app_secret": "s"})
    events = [whatsapp_event(inbox, n) for n in range(5)]
    with django_capture_on_commit_callbacks(execute=True):
        assert inbound_batch.process_waiting_events(events[2].pk) == 5
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"processed"}
    assert Message.objects.filter(direction="in").count() == 5
    for event in events:  # their own tasks run later: nothing left, nothing twice
        assert inbound_batch.process_waiting_events(event.pk) == 0
    assert Message.objects.filter(direction="in").count() == 5


def test_the_batch_size_bounds_a_transaction(settings):
    settings.WEBHOOK_BATCH_SIZE = 2
    inbox = make_inbox("whatsapp", channel_config={"phone_number_id": "1234567890", "app_secret": "s"})
    events = [whatsapp_event(inbox, n) for n in range(3)]
    assert inbound_batch.process_waiting_events(events[0].pk) == 2
    assert inbound_batch.process_waiting_events(events[2].pk) == 1


def test_an_event_that_breaks_keeps_its_neighbours(monkeypatch):
    inbox = make_inbox("whatsapp", channel_config={"phone_number_id": "1234567890", "app_secret": "s"})
    events = [whatsapp_event(inbox, n) for n in range(3)]
    real = inbound.process_loaded_event

    def breaks_on_the_second(event):
        if event.pk == events[1].pk:
            raise RuntimeError("boom")
        return real(event)

    monkeypatch.setattr(inbound_batch, "process_loaded_event", breaks_on_the_second)
    assert inbound_batch.process_waiting_events(events[0].pk) == 3
    statuses = dict(WebhookEvent.objects.values_list("pk", "status"))
    assert statuses == {events[0].pk: "processed", events[1].pk: "received", events[2].pk: "processed"}
    assert Message.objects.filter(direction="in").count() == 2
    # Every attempt is counted, the broken one's too (it waits for the sweep's backoff).
    assert set(WebhookEvent.objects.values_list("attempts", flat=True)) == {1}
