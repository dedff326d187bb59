"""Queries per message on the embedded default's busiest path (issue #16; bench/README.md,
"Embedded per-message CPU"): a batch of stored WhatsApp webhook events, the batch's handler task
(the bot answers every question) and each answer's send to the Graph API. Every query is CPU in
the one server process, so the budgets are what the path costs now: one more query per message
fails here."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from bench.load_app import whatsapp_body
from bot import services as bot_services
from bot.models import BotDecisionLog
from inbox import inbound_batch, outbound, queue, services
from inbox.inbound import record_webhook_event
from inbox.inbound_batch import process_waiting_events
from inbox.models import Message
from tests.factories import make_inbox
from tests.fakes.graph_api import FakeGraphAPI

pytestmark = pytest.mark.django_db

BATCH = 10
QUESTIONS = ["qual o prazo de entrega", "como faço para trocar um produto"]


def data_queries(captured) -> int:
    """Statements that read or write rows (not BEGIN, COMMIT, SAVEPOINT, RELEASE)."""
    return sum(1 for q in captured.captured_queries
               if q["sql"].lstrip().split(" ", 1)[0].upper() in ("SELECT", "INSERT", "UPDATE", "DELETE"))


@pytest.fixture
def inbox(settings):
    with FakeGraphAPI() as graph:
        settings.META_GRAPH_API_BASE = graph.base_url
        yield make_inbox("whatsapp", channel_config={
            "phone_number_id": "1234567890", "access_token": "test-token", "app_secret": "s"})


@pytest.fixture
def answers():
    bot_services.answer_create(title="Prazo de entrega", text="Entregamos em 3 a 5 dias úteis.", locale="pt",
                               variants=[QUESTIONS[0]])
    bot_services.answer_create(title="Trocas", text="Você pode trocar em até 30 dias.", locale="pt",
                               variants=[QUESTIONS[1]])


@pytest.fixture
def enqueued(monkeypatch):
    """Tasks recorded, not run: each stage is measured on its own."""
    calls = []
    monkeypatch.setattr(queue, "enqueue", lambda name, *args, **kwargs: calls.append((name, args)))
    return calls


def store_batch(inbox, part: str) -> None:
    with transaction.atomic():
        for i in range(BATCH):
            body = whatsapp_body(wa_id=f"55119000{i:04d}", text=QUESTIONS[i % 2], message_id=f"wamid.{part}.{i}").encode()
            record_webhook_event(inbox=inbox, channel_kind="whatsapp", public_id=inbox.public_id, body=body, headers={})


def batch_and_handlers(inbox, part: str):
    store_batch(inbox, part)
    with CaptureQueriesContext(connection) as stored:
        assert process_waiting_events() == BATCH
    ids = list(Message.objects.filter(provider_message_id__startswith=f"wamid.{part}.").values_list("pk", flat=True))
    with CaptureQueriesContext(connection) as handled:
        assert services.run_inbound_handlers_for_many(ids) == BATCH
    return data_queries(stored), data_queries(handled)


def test_queries_per_message_from_webhook_to_sent_answer(inbox, answers, enqueued):
    new_stored, new_handled = batch_and_handlers(inbox, "new")
    returning_stored, returning_handled = batch_and_handlers(inbox, "again")
    assert Message.objects.filter(sender_kind="bot").count() == 2 * BATCH
    assert set(BotDecisionLog.objects.values_list("action", "reason")) == {("answer", "confident")}
    # 9.4 / 8.3 per message (these numbers' line has two forms, so the line lookup is two
    # queries): the existing-message check, identity, the phone line, the conversation (a
    # returning customer's), the message, the conversation's update, the event's outcome.
    # PostgreSQL: one more, each event claimed in a transaction of its own (SKIP LOCKED, so
    # several pumps work side by side; inbox/inbound_batch.py) instead of once per batch.
    claim = BATCH if inbound_batch.one_transaction_per_event() else 0
    assert new_stored <= 94 + claim
    assert returning_stored <= 83 + claim
    # 11.3-11.5 per message: the claim (handled_at), the survey and order checks, the
    # conversation read again under its lock (twice: the bot, then the reply), the answers,
    # the decision log, the reply, its conversation, the answer's counter.
    # PostgreSQL: one more, the conversation's row locked first (SQLite's write lock serialises).
    lock = BATCH if connection.features.has_select_for_update else 0
    assert new_handled <= 115 + lock
    assert returning_handled <= 113 + lock

    sends = list(Message.objects.filter(sender_kind="bot").values_list("pk", flat=True))
    with CaptureQueriesContext(connection) as sent:
        assert [outbound.deliver(pk) for pk in sends] == ["sent"] * len(sends)
    # 6 per send: claim, the message with its conversation, contact, inbox and attachments,
    # the recipient's identity, "sent" in one UPDATE, the row again for the broadcast; and no
    # transaction of its own for the wa_id WhatsApp answered (the one sent to).
    assert data_queries(sent) == 6 * len(sends)
    assert len(sent.captured_queries) <= 8 * len(sends)
    assert set(Message.objects.filter(pk__in=sends).values_list("delivery_state", flat=True)) == {"sent"}
