"""Stored webhook events processed in batches: many events per transaction.

The webhook request only verifies and stores the raw event (``inbox.webhooks``); the pump
(``inbox.inbound_pump``) calls ``process_waiting_events`` until nothing is left. A batch takes
up to ``WEBHOOK_BATCH_SIZE`` waiting events, oldest first, and processes them in one
transaction, each in a savepoint of its own (``inbound.process_loaded_event``, whose items have
savepoints of their own too), so a bad event or item never undoes its neighbours. One
transaction per batch means one write-lock acquisition and one commit on SQLite instead of one
per event; on PostgreSQL the batch is claimed with ``FOR UPDATE SKIP LOCKED``, so several
pumps take disjoint batches. The claim is the transaction: a process killed mid-batch leaves
its rows ``received`` (the database rolls back), and the next pump takes them.

The batch's customer messages go to their inbound handlers (surveys, the bot) as one task
after the commit (``hooks.collect_handler_runs``), so the bot encodes their questions together.
Safe to run twice, like everything in the inbound path.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F

from .inbound import process_loaded_event
from .models import WebhookEvent
from .services import hooks

logger = logging.getLogger(__name__)

#: An event tried this many times without finishing waits for the sweep and the admin.
MAX_ATTEMPTS = 5


def batch_size() -> int:
    return max(1, int(getattr(settings, "WEBHOOK_BATCH_SIZE", 50)))


def process_waiting_events(event_id: int | None = None, *, limit: int | None = None) -> int:
    """Process waiting events (``event_id``'s batch, when given and still waiting), up to
    ``limit`` in one transaction. Returns how many were taken."""
    waiting = WebhookEvent.objects.filter(status=WebhookEvent.Status.RECEIVED, attempts__lt=MAX_ATTEMPTS)
    if event_id is not None and not waiting.filter(pk=event_id).exists():
        return 0  # another batch took it: a read, no write lock
    if not waiting.exists():
        return 0  # nothing waiting: a read, no write lock
    with transaction.atomic(), hooks.collect_handler_runs():
        claim = waiting.order_by("pk").select_related("inbox")
        if connection.features.has_select_for_update_skip_locked:
            claim = claim.select_for_update(skip_locked=True, of=("self",))
        events = list(claim[: limit or batch_size()])
        if not events:
            return 0
        WebhookEvent.objects.filter(pk__in=[e.pk for e in events]).update(attempts=F("attempts") + 1)
        for event in events:
            event.attempts += 1
            try:
                with transaction.atomic():
                    process_loaded_event(event)
            except Exception:  # the event stays waiting; its neighbours are kept; the sweep retries it
                logger.exception("webhook event %s could not be processed", event.pk)
    return len(events)
