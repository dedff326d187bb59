"""Several pumps at once on PostgreSQL (inbox/inbound_batch.py): each event claimed in a
transaction of its own, so a pump busy with one event never holds back the others, and pumps
working on the same conversations lose, duplicate and deadlock nothing."""

from __future__ import annotations

import logging
import threading

import pytest
from django.db import connection, connections

from inbox import inbound, inbound_batch
from inbox.models import Conversation, Message, WebhookEvent
from tests.inbox.test_inbound_pump import inbox, no_bot, store  # noqa: F401 (the same inbox and events, no bot)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("not __import__('django.db').db.connection.features.has_select_for_update_skip_locked",
                       reason="one transaction per event is the row-locking databases' mode"),
]


def in_thread(target):
    """Run ``target`` in a thread with its own database connection; returns (thread, results)."""
    results = []

    def run():
        try:
            results.append(target())
        except BaseException as exc:  # surfaced by the test
            results.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, results


def test_a_pump_in_the_middle_of_an_event_does_not_hold_back_the_next_ones(inbox, monkeypatch):
    events = [store(inbox, n, customer=n) for n in range(4)]
    entered, release = threading.Event(), threading.Event()
    real = inbound.process_loaded_event

    def slow_first(event):
        if event.pk == events[0].pk:
            entered.set()
            assert release.wait(30), "the test never released the first event"
        return real(event)

    monkeypatch.setattr(inbound_batch, "process_loaded_event", slow_first)
    first, first_results = in_thread(lambda: inbound_batch.process_waiting_events(limit=1))
    try:
        assert entered.wait(30)
        # The first pump holds event 0 in its open transaction; a second pump takes the rest now.
        assert inbound_batch.process_waiting_events() == 3
        assert set(WebhookEvent.objects.exclude(pk=events[0].pk).values_list("status", flat=True)) == {"processed"}
        assert WebhookEvent.objects.get(pk=events[0].pk).status == "received"
    finally:
        release.set()
        first.join(30)
    assert first_results == [1]
    assert WebhookEvent.objects.get(pk=events[0].pk).status == "processed"
    assert Message.objects.filter(direction="in").count() == 4


def test_pumps_on_the_same_conversations_lose_and_duplicate_nothing(inbox, caplog):
    count, customers = 60, 3
    for n in range(count):
        store(inbox, n, customer=n % customers)
    # Redelivered copies of some events, as Meta sends after a timeout: stored once.
    for n in range(0, count, 10):
        store(inbox, n, customer=n % customers)

    def drain():
        taken = 0
        while got := inbound_batch.process_waiting_events(limit=5):
            taken += got
        return taken

    with caplog.at_level(logging.ERROR, logger="inbox"):
        threads = [in_thread(drain) for _ in range(3)]
        for thread, _ in threads:
            thread.join(120)
    results = [r for _, rs in threads for r in rs]
    assert all(isinstance(r, int) for r in results), results
    assert sum(results) == count + count // 10
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"processed"}
    texts = list(Message.objects.filter(direction="in").values_list("provider_message_id", flat=True))
    assert sorted(texts) == sorted(f"wamid.pump.{n}" for n in range(count))
    assert Conversation.objects.count() == customers
    assert connection.vendor == "postgresql"
