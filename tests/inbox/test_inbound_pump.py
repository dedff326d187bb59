"""The stored raw event is the queue entry (inbox/inbound_pump.py, inbox/inbound_batch.py): the
request only stores it, the pump processes batches, one handler task per batch, nothing lost."""

from __future__ import annotations

import json
import threading
import time

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from inbox import inbound, inbound_batch, inbound_pump, queue
from inbox.inbound import record_webhook_event
from inbox.models import Message, WebhookEvent
from tests.factories import make_inbox

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_bot(monkeypatch):
    monkeypatch.setattr("bot.engine.bot_enabled_for", lambda inbox: False)


@pytest.fixture
def inbox():
    return make_inbox("whatsapp", channel_config={"phone_number_id": "1234567890", "app_secret": "s"})


def body(n: int, message_id: str | None = None, customer: int | None = None) -> bytes:
    sender = n if customer is None else customer
    return json.dumps({"messages": [{"id": message_id or f"wamid.pump.{n}", "from": f"55119000{sender:04d}",
                                     "text": f"pergunta {n}"}]}).encode()


def store(inbox, n: int, message_id: str | None = None, *, customer: int | None = None) -> WebhookEvent:
    """Event ``n`` from customer ``customer`` (by default a customer of its own)."""
    with transaction.atomic():
        return record_webhook_event(inbox=inbox, channel_kind="whatsapp", public_id=inbox.public_id,
                                    body=body(n, message_id, customer), headers={})


@pytest.fixture
def enqueued(monkeypatch):
    calls = []
    monkeypatch.setattr(queue, "enqueue", lambda name, *args, **kwargs: calls.append((name, args)))
    return calls


def test_the_request_stores_the_raw_event_and_enqueues_nothing(client, inbox, enqueued):
    with CaptureQueriesContext(connection) as captured:
        response = client.post(f"/webhooks/whatsapp/{inbox.public_id}/", data=body(1), content_type="application/json")
    assert response.status_code == 200
    assert enqueued == []
    writes = [q["sql"] for q in captured.captured_queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE"))]
    assert len(writes) == 1 and "inbox_webhookevent" in writes[0]
    assert WebhookEvent.objects.get().status == "received" and not Message.objects.exists()


def test_a_batch_gives_its_messages_one_handler_task(inbox, enqueued, django_capture_on_commit_callbacks):
    for n in range(3):
        store(inbox, n)
    assert inbound_batch.process_waiting_events() == 3
    handler_tasks = [args for name, args in enqueued if name.startswith("inbox.run_inbound_handlers")]
    assert [name for name, _ in enqueued if name.startswith("inbox.run_inbound_handlers")] == [
        "inbox.run_inbound_handlers_batch"]
    ids, auto_reply = handler_tasks[0]
    assert sorted(ids) == sorted(Message.objects.filter(direction="in").values_list("pk", flat=True)) and auto_reply


class Recorder:
    """An inbound handler that records what it was given."""

    def __init__(self):
        self.prepared, self.handled = [], []

    def prepare_many(self, messages):
        self.prepared.append([m.text for m in messages])

    def __call__(self, message):
        self.handled.append(message.text)
        return True


recorder = Recorder()


def test_the_handlers_prepare_the_whole_batch_at_once_and_handle_each_message_once(
        inbox, settings, django_capture_on_commit_callbacks):
    settings.INBOUND_MESSAGE_HANDLERS = ["tests.inbox.test_inbound_pump.recorder"]
    recorder.prepared.clear()
    recorder.handled.clear()
    for n in range(3):
        store(inbox, n)
    with django_capture_on_commit_callbacks(execute=True):
        inbound_batch.process_waiting_events()
    assert recorder.prepared == [["pergunta 0", "pergunta 1", "pergunta 2"]]
    assert recorder.handled == ["pergunta 0", "pergunta 1", "pergunta 2"]
    from inbox import services

    ids = list(Message.objects.values_list("pk", flat=True))
    assert services.run_inbound_handlers_for_many(ids) == 0  # the sweep or a redelivered task: nothing twice
    assert len(recorder.handled) == 3


def test_a_redelivery_inside_one_batch_is_stored_once(inbox):
    store(inbox, 1, "wamid.same")
    store(inbox, 1, "wamid.same")
    assert inbound_batch.process_waiting_events() == 2
    assert Message.objects.filter(provider_message_id="wamid.same").count() == 1
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"processed"}


def test_a_process_dying_mid_batch_leaves_every_event_for_the_next_pump(inbox, monkeypatch):
    events = [store(inbox, n) for n in range(3)]
    real = inbound.process_loaded_event

    def dies_on_the_second(event):
        if event.pk == events[1].pk:
            raise KeyboardInterrupt("the process is killed")  # not an Exception: nothing catches it
        return real(event)

    monkeypatch.setattr(inbound_batch, "process_loaded_event", dies_on_the_second)
    with pytest.raises(KeyboardInterrupt):
        inbound_batch.process_waiting_events()
    statuses = {event.pk: WebhookEvent.objects.values_list("status", "attempts").get(pk=event.pk) for event in events}
    if inbound_batch.one_transaction_per_event():
        # PostgreSQL: the first event had committed on its own; the killed one's transaction
        # rolled back (its attempt is not counted), the third was never claimed.
        assert statuses == {events[0].pk: ("processed", 1), events[1].pk: ("received", 0),
                            events[2].pk: ("received", 0)}
        assert Message.objects.filter(direction="in").count() == 1
        left = 2
    else:
        # SQLite: the batch's transaction rolled back: the first event's message is gone with
        # it, and all three wait, attempts unchanged.
        assert set(statuses.values()) == {("received", 0)}
        assert not Message.objects.exists()
        left = 3
    monkeypatch.setattr(inbound_batch, "process_loaded_event", real)
    assert inbound_batch.process_waiting_events() == left
    assert Message.objects.filter(direction="in").count() == 3


@pytest.mark.django_db(transaction=True)
def test_the_pump_thread_processes_a_stored_event_when_nudged(settings, enqueued):
    if connection.vendor == "sqlite" and "memory" in str(
            connection.settings_dict.get("TEST", {}).get("NAME") or connection.creation._get_test_db_name()):
        pytest.skip("the pump thread needs a file or server database to share")
    from huey.contrib.djhuey import HUEY

    inbox = make_inbox("whatsapp", channel_config={"phone_number_id": "1234567890", "app_secret": "s"})
    settings.WEBHOOK_PUMP_IDLE_SECONDS = 60  # only the nudge can wake it before the deadline below
    HUEY.immediate = False
    try:
        pumps = inbound_pump.start()
        assert len(pumps) == inbound_pump.pump_threads() and all(p.is_alive() for p in pumps)
        time.sleep(0.5)  # it warms up and goes to sleep on an empty queue
        record_webhook_event(inbox=inbox, channel_kind="whatsapp", public_id=inbox.public_id, body=body(7),
                             headers={})
        inbound_pump.nudge()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (
                sum(p.batches for p in pumps) and Message.objects.filter(provider_message_id="wamid.pump.7").exists()):
            time.sleep(0.05)
        assert Message.objects.filter(provider_message_id="wamid.pump.7").exists()
        assert sum(p.batches for p in pumps) >= 1 and all(isinstance(p, threading.Thread) for p in pumps)
        assert [name for name, _ in enqueued] == ["inbox.run_inbound_handlers_batch"]
    finally:
        inbound_pump.stop()
        HUEY.immediate = True
