"""Stored webhook events processed in batches: many events per pass, each claimed once.

The webhook request only verifies and stores the raw event (``inbox.webhooks``); the pumps
(``inbox.inbound_pump``) call ``process_waiting_events`` until nothing is left. A pass takes up
to ``WEBHOOK_BATCH_SIZE`` waiting events, oldest first; each is processed in a savepoint of its
own (``inbound.process_loaded_event``, whose items have savepoints of their own too), so a bad
event or item never undoes its neighbours. The claim is the transaction: a process killed
mid-pass leaves its uncommitted rows ``received`` (the database rolls back), and the next pump
takes them; no claim timeout is needed.

How a pass is cut into transactions depends on the database:

- **SQLite** (one writer per database): the whole pass is one transaction, so one write-lock
  acquisition and one commit stand for 50 events instead of one each.
- **PostgreSQL** (row locks, several pumps per process and per deployment): one transaction
  per event, the event claimed with ``FOR UPDATE SKIP LOCKED``. A transaction then holds the
  locks of one event's conversation only, so two pumps never wait on each other's batches and
  cannot deadlock on two conversations taken in opposite orders (they did with 50-event
  transactions), and each message is broadcast as soon as its own event commits.

Either way the pass's customer messages go to their inbound handlers (surveys, the bot) as one
task after the last commit (``hooks.collect_handler_runs``), so the bot encodes their
questions together. Safe to run twice, like everything in the inbound path.
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


def one_transaction_per_event() -> bool:
    """Row-locking databases claim and commit event by event (see the module's docstring)."""
    return bool(connection.features.has_select_for_update_skip_locked)


def _waiting():
    return WebhookEvent.objects.filter(status=WebhookEvent.Status.RECEIVED, attempts__lt=MAX_ATTEMPTS)


def process_waiting_events(event_id: int | None = None, *, limit: int | None = None) -> int:
    """Process waiting events (``event_id``'s pass, when given and still waiting), up to
    ``limit``. Returns how many were taken."""
    waiting = _waiting()
    if event_id is not None and not waiting.filter(pk=event_id).exists():
        return 0  # another pass took it: a read, no write lock
    if not waiting.exists():
        return 0  # nothing waiting: a read, no write lock
    limit = limit or batch_size()
    with hooks.collect_handler_runs():
        if one_transaction_per_event():
            return _process_event_by_event(limit)
        with transaction.atomic():
            events = list(waiting.order_by("pk").select_related("inbox")[:limit])
            _claim_and_process(events)
        return len(events)


def _process_event_by_event(limit: int) -> int:
    taken, after = 0, 0
    while taken < limit:
        with transaction.atomic():
            # Past the last event of this pass, so an event that failed waits for the sweep's
            # backoff instead of being tried again at once.
            claim = (_waiting().filter(pk__gt=after).order_by("pk").select_related("inbox")
                     .select_for_update(skip_locked=True, of=("self",)))
            event = claim.first()
            if event is None:
                break  # nothing left that another pump has not locked
            _process_claimed(event)
        taken, after = taken + 1, event.pk
    return taken


def _claim_and_process(events: list[WebhookEvent]) -> None:
    """Count an attempt for each event (one UPDATE for the batch) and process each in its own
    savepoint (inside the caller's transaction: an attempt that dies with the process is not
    counted)."""
    if not events:
        return
    WebhookEvent.objects.filter(pk__in=[e.pk for e in events]).update(attempts=F("attempts") + 1)
    for event in events:
        event.attempts += 1
        _process(event, counted=True)


def _process_claimed(event: WebhookEvent) -> None:
    """One claimed event: its attempt is recorded with its outcome (``inbound._finish``), so
    the event costs no UPDATE of its own, only when processing breaks."""
    event.attempts += 1
    _process(event, counted=False)


def _process(event: WebhookEvent, *, counted: bool) -> None:
    try:
        with transaction.atomic():
            process_loaded_event(event)
    except Exception:  # the event stays waiting; its neighbours are kept; the sweep retries it
        logger.exception("webhook event %s could not be processed", event.pk)
        if not counted:
            WebhookEvent.objects.filter(pk=event.pk).update(attempts=F("attempts") + 1)
