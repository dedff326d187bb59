"""Stored webhook events processed in batches: many events per transaction.

The webhook request only verifies, stores the raw event and enqueues ``inbox.process_webhook``
(``inbox.webhooks``). The task takes up to ``WEBHOOK_BATCH_SIZE`` waiting events, oldest
first, and processes them in one transaction, each in a savepoint of its own
(``inbound.process_webhook_event``, whose items have savepoints of their own too), so a bad
event or item never undoes its neighbours. One transaction per batch means one write-lock
acquisition and one commit on SQLite instead of one per event; on PostgreSQL the batch is
claimed with ``FOR UPDATE SKIP LOCKED``, so several workers take disjoint batches.

Tasks for events a batch already took find them processed with one read and stop: a burst
of N requests costs about N / batch size write transactions. Safe to run twice, like
everything in the inbound path.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection, transaction

from .inbound import process_webhook_event
from .models import WebhookEvent

logger = logging.getLogger(__name__)

#: An event tried this many times without finishing waits for the sweep and the admin.
MAX_ATTEMPTS = 5


def batch_size() -> int:
    return max(1, int(getattr(settings, "WEBHOOK_BATCH_SIZE", 10)))


def process_waiting_events(event_id: int | None = None, *, limit: int | None = None) -> int:
    """Process ``event_id`` (if still waiting) and other waiting events, up to ``limit`` in one
    transaction. Returns how many were taken."""
    waiting = WebhookEvent.objects.filter(status=WebhookEvent.Status.RECEIVED, attempts__lt=MAX_ATTEMPTS)
    if event_id is not None and not waiting.filter(pk=event_id).exists():
        return 0  # another batch took it: a read, no write lock
    with transaction.atomic():
        claim = waiting.order_by("pk")
        if connection.features.has_select_for_update_skip_locked:
            claim = claim.select_for_update(skip_locked=True)
        ids = list(claim.values_list("pk", flat=True)[: limit or batch_size()])
        for pk in ids:
            try:
                with transaction.atomic():
                    process_webhook_event(pk)
            except Exception:  # the event stays waiting; its neighbours are kept; the sweep retries it
                logger.exception("webhook event %s could not be processed", pk)
    return len(ids)
