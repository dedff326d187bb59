"""IMAP polling for e-mail inboxes: fetch new mail, store it through the write path, then
save the mailbox position and mark the mail processed.

Order matters for "nothing lost, nothing twice": messages are stored (idempotent by
Message-ID) before the new position is saved, and marked seen/moved only after that. A crash
anywhere re-fetches at worst, and the Message-ID dedupe absorbs it.

A mail that cannot be stored is kept whole as a failed raw event (``WebhookEvent``, channel
"email", body = the raw message), which an admin can process again from the admin (and the
failed-event retry picks up); only then does the position move past it. If even that record
cannot be written, the position stays before the mail, so the next poll tries it again.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.utils import timezone

from channels_adapters.registry import get_adapter

from . import services, webhook_events
from .inbound import apply_parsed, record_webhook_event
from .models import ChannelKind, Inbox, WebhookEvent

logger = logging.getLogger(__name__)

MAX_BACKOFF = dt.timedelta(minutes=30)


def poll_interval(inbox: Inbox) -> int:
    return int(inbox.channel_config.get("poll_seconds") or settings.MAIL_POLL_SECONDS)


def due_inboxes(*, now: dt.datetime) -> list[Inbox]:
    due = []
    for inbox in Inbox.objects.filter(channel_kind=ChannelKind.EMAIL, enabled=True):
        if not inbox.channel_config.get("imap_host"):
            continue  # webhook-only mailbox
        next_at = inbox.channel_state.get("next_poll_at")
        if not next_at or dt.datetime.fromisoformat(next_at) <= now:
            due.append(inbox)
    return due


def poll_inbox(inbox: Inbox, *, now: dt.datetime | None = None) -> int:
    """Import what is new in one mailbox. Returns the number of messages stored. Failures are
    recorded on the inbox (visible in the admin) and retried with exponential backoff."""
    now = now or timezone.now()
    adapter = get_adapter(inbox)
    state = dict(inbox.channel_state)
    try:
        fetched, new_state = adapter.poll({k: v for k, v in state.items() if k not in ("next_poll_at", "failures")})
    except Exception as exc:
        failures = int(state.get("failures", 0)) + 1
        delay = min(dt.timedelta(seconds=poll_interval(inbox)) * (2 ** failures), MAX_BACKOFF)
        state.update(failures=failures, next_poll_at=(now + delay).isoformat())
        services.inbox_record_channel_state(inbox=inbox, state=state,
                                            error=f"Mailbox check failed ({failures}×), next try in {int(delay.total_seconds())} s: {exc}")
        logger.warning("polling inbox %s failed: %s", inbox.pk, exc)
        return 0
    stored = 0
    done_uids = []
    retry_from = None
    for uid, raw in fetched:
        try:
            applied = apply_parsed(inbox=inbox, parsed=adapter.parse_raw(raw))
            if applied.failures:
                raise RuntimeError("; ".join(f"{f['item']}: {f['error']}" for f in applied.failures))
            stored += applied.counts["messages"]
            done_uids.append(uid)
        except Exception as exc:
            logger.exception("could not store mail uid %s of inbox %s", uid, inbox.pk)
            if _keep_as_failed_event(inbox, uid, raw, exc):
                done_uids.append(uid)
            elif retry_from is None:
                retry_from = uid
    if retry_from is not None and "last_uid" in new_state:
        # not even kept: the next poll starts again at this mail (stored ones dedupe by Message-ID)
        new_state["last_uid"] = min(int(new_state["last_uid"]), retry_from - 1)
    new_state = {**new_state, "failures": 0, "next_poll_at": (now + dt.timedelta(seconds=poll_interval(inbox))).isoformat()}
    services.inbox_record_channel_state(inbox=inbox, state=new_state, error="")
    if done_uids:
        try:
            adapter.mark_processed(done_uids)
        except Exception as exc:
            services.inbox_record_channel_state(inbox=inbox, error=f"Could not mark mail as processed: {exc}")
    return stored


def _keep_as_failed_event(inbox: Inbox, uid: int, raw: bytes, exc: Exception) -> bool:
    """Store a mail that could not be imported as a failed raw event; False if that failed too."""
    try:
        event = record_webhook_event(
            inbox=inbox, channel_kind=ChannelKind.EMAIL, public_id=inbox.public_id, body=raw,
            headers={"content-type": "message/rfc822", "user-agent": f"IMAP poll, uid {uid}"},
            status=WebhookEvent.Status.FAILED, error=f"IMAP uid {uid} could not be stored: {type(exc).__name__}: {exc}",
        )
        # one attempt made: the failed-event retry (inbox.webhook_events) takes it from here
        WebhookEvent.objects.filter(pk=event.pk).update(attempts=1, next_attempt_at=webhook_events.next_attempt(1))
    except Exception:
        logger.exception("could not keep mail uid %s of inbox %s as a failed event", uid, inbox.pk)
        return False
    return True
