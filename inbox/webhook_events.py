"""Bookkeeping of raw webhook events: what a refused request may leave behind, how often an
address may be refused, when a failed event is tried again, and how long events are kept.

Limits are settings (``WEBHOOK_*``, see docs/deployment.md "Limits"). The counters live in the
shared cache, so with Redis they hold across every web process.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from .models import WebhookEvent

#: At most this much is waited between automatic retries of a failed event.
MAX_RETRY_DELAY = dt.timedelta(hours=6)
PURGE_BATCH = 1000


def rejected_body(body: bytes) -> tuple[bytes, str]:
    """The part of an unauthenticated body worth keeping, and a note for the error text when it
    was cut. Anyone can post anything to a webhook URL; only the start helps an admin."""
    limit = settings.WEBHOOK_REJECTED_BODY_BYTES
    if len(body) <= limit:
        return body, ""
    return body[:limit], f" (first {limit:,} of {len(body):,} bytes kept)"


def rejected_rate_limited(ip: str) -> bool:
    """Count one refused request from ``ip``; True when it is over its quota for the minute.

    The window starts at the first refusal (the counter expires with the cache entry)."""
    key = "webhook-rejected:" + hashlib.sha256((ip or "unknown").encode()).hexdigest()[:32]
    cache.add(key, 0, timeout=60)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=60)
        count = 1
    return count > settings.WEBHOOK_REJECTED_PER_MINUTE


def retry_delay(attempts: int) -> dt.timedelta:
    """Exponential backoff after ``attempts`` failed attempts (1 → the base)."""
    seconds = settings.WEBHOOK_RETRY_BASE_SECONDS * (2 ** max(0, attempts - 1))
    return min(dt.timedelta(seconds=seconds), MAX_RETRY_DELAY)


def next_attempt(attempts: int, *, now: dt.datetime | None = None) -> dt.datetime | None:
    """When a failed event with ``attempts`` attempts is tried again, or None: it waits for an
    admin in the failed list."""
    if attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        return None
    return (now or timezone.now()) + retry_delay(attempts)


def due_retries(*, now: dt.datetime, limit: int = 200) -> list[int]:
    return list(WebhookEvent.objects.filter(status=WebhookEvent.Status.FAILED, next_attempt_at__lte=now)
                .order_by("next_attempt_at").values_list("pk", flat=True)[:limit])


def purge_old_events(*, now: dt.datetime | None = None) -> int:
    """Delete processed and rejected events older than ``WEBHOOK_EVENT_RETENTION_DAYS`` (in
    batches, so no long lock); failed and unprocessed ones stay. Returns how many went."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.WEBHOOK_EVENT_RETENTION_DAYS)
    old = WebhookEvent.objects.filter(
        status__in=[WebhookEvent.Status.PROCESSED, WebhookEvent.Status.REJECTED], received_at__lt=cutoff)
    deleted = 0
    while True:
        batch = list(old.values_list("pk", flat=True)[:PURGE_BATCH])
        if not batch:
            return deleted
        deleted += WebhookEvent.objects.filter(pk__in=batch).delete()[0]
