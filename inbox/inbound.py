"""From a stored provider request to messages in the inbox (Chatwoot's inbound path):
store the raw event first, then parse with the channel's adapter and hand each normalized
message to ``services.receive_inbound``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from channels_adapters.base import InboundMessage, ParsedWebhook, WebhookRejected, clean_text
from channels_adapters.registry import adapter_class_for, get_adapter

from . import queue, services, webhook_events
from .models import ChannelKind, Conversation, Inbox, Message, WebhookEvent

logger = logging.getLogger(__name__)

#: Headers worth keeping with a raw event: content type and signatures (which reveal nothing),
#: never credentials (cookies, Authorization, the e-mail webhook's X-Inbox-Secret).
KEPT_HEADERS = ("content-type", "x-hub-signature-256", "x-hub-signature", "user-agent")


def record_webhook_event(*, inbox: Inbox | None, channel_kind: str, public_id: str, body: bytes,
                         headers: Mapping[str, str], status: str = WebhookEvent.Status.RECEIVED,
                         error: str = "") -> WebhookEvent:
    kept = {k.lower(): v for k, v in headers.items() if k.lower() in KEPT_HEADERS}
    return WebhookEvent.objects.create(
        inbox=inbox, channel_kind=channel_kind, inbox_public_id=public_id[:64], body=body, headers=kept,
        status=status, error=error, processed_at=timezone.now() if status != WebhookEvent.Status.RECEIVED else None,
    )


def email_conversation(inbox: Inbox, inbound: InboundMessage) -> Conversation | None:
    """E-mail threading: In-Reply-To/References against Message-IDs we sent or received, then the
    conversation token in a plus address (support+TOKEN@...), else None (a new conversation)."""
    meta = inbound.metadata
    ids = [meta.get("in_reply_to") or "", *(meta.get("references") or [])]
    ids = [i for i in ids if i]
    if ids:
        known = (Message.objects.filter(inbox=inbox, provider_message_id__in=ids)
                 .select_related("conversation").order_by("-created_at").first())
        if known:
            return known.conversation
    token = meta.get("plus_token")
    if token:
        return Conversation.objects.filter(inbox=inbox, thread_token=token).first()
    return None


#: How each outcome of ``receive_inbound`` reads in an event's summary.
SUMMARY_LABELS = {
    "message": "messages", "duplicate": "duplicates", "reaction": "reactions",
    "stale_reaction": "older reactions ignored", "edit": "edits", "unsend": "deletions", "notice": "notices",
    "reaction_to_unknown": "reaction to an unknown message", "edit_of_unknown": "edit of an unknown message",
    "unsend_of_unknown": "deletion of an unknown message", "notice_for_unknown": "notice for an unknown customer",
}


@dataclasses.dataclass
class Applied:
    """What applying a parsed request did: counts by outcome, the provider ids a change aimed at
    but did not find, and the items that failed (each ``{"item", "provider_id", "error"}``)."""

    counts: dict[str, int] = dataclasses.field(default_factory=lambda: {"messages": 0, "duplicates": 0, "statuses": 0})
    unknown_targets: list[str] = dataclasses.field(default_factory=list)
    failures: list[dict[str, str]] = dataclasses.field(default_factory=list)

    def count(self, label: str, n: int = 1) -> None:
        self.counts[label] = self.counts.get(label, 0) + n

    def summary(self, skipped: list[str]) -> str:
        text = ", ".join(f"{n} {label}" for label, n in self.counts.items() if n or label in ("messages", "statuses"))
        if self.unknown_targets:
            text += "\nnot found: " + ", ".join(self.unknown_targets)[:1000]
        if skipped:
            text += f"\n{len(skipped)} skipped: " + "; ".join(skipped)[:2000]
        return text


def apply_item(applied: Applied, *, item: str, provider_id: str, apply: Callable[[], Any]) -> Any:
    """Apply one message or status on its own (a savepoint of its own), so a failure undoes only
    that item: it is logged, listed in ``applied.failures`` and the caller goes on with the next.
    Every item of a request passes here, whatever processes it (task, batch, live path)."""
    try:
        with transaction.atomic():
            return apply()
    except Exception as exc:
        logger.exception("webhook item %s (%s) failed", item, provider_id)
        applied.failures.append({"item": item, "provider_id": provider_id,
                                 "error": clean_text(f"{type(exc).__name__}: {exc}", 1000)})
        return None


def _receive(inbox: Inbox, inbound: InboundMessage, applied: Applied) -> None:
    conversation = email_conversation(inbox, inbound) if inbox.channel_kind == ChannelKind.EMAIL else None
    result = services.receive_inbound(inbox=inbox, inbound=inbound, conversation=conversation)
    applied.count(SUMMARY_LABELS.get(result.outcome, result.outcome))
    if result.outcome.endswith("_unknown"):
        applied.unknown_targets.append(inbound.reaction_to_provider_id or inbound.edit_of_provider_id
                                       or inbound.unsend_of_provider_id or inbound.sender_address)
    # Messenger and Instagram webhooks carry only an id: the name comes from the profile API.
    fetches_profile = getattr(adapter_class_for(inbox.channel_kind), "fetches_profile", False)
    if (result.created and fetches_profile and not inbound.is_echo and result.conversation is not None
            and not result.conversation.contact.name):
        queue.enqueue("inbox.fetch_contact_profile", inbox.pk, result.conversation.contact_id, inbound.sender_address)


def apply_parsed(*, inbox: Inbox, parsed: ParsedWebhook) -> Applied:
    """Feed a parsed request to the write path, each message and status on its own
    (``apply_item``): one that fails never drops the others."""
    applied = Applied()
    for index, inbound in enumerate(parsed.messages):
        apply_item(applied, item=f"messages[{index}]", provider_id=inbound.provider_message_id,
                   apply=lambda inbound=inbound: _receive(inbox, inbound, applied))
    for index, update in enumerate(parsed.statuses):
        changed = apply_item(applied, item=f"statuses[{index}]", provider_id=update.provider_message_id,
                             apply=lambda update=update: services.apply_status_update(inbox=inbox, update=update))
        applied.count("statuses", changed or 0)
    return applied


def process_webhook_event(event_id: int) -> WebhookEvent:
    """Parse and apply one stored event. Safe to run twice: every item is idempotent, so a retry
    of a failed event stores only what is missing. A failed event is tried again with backoff
    (``webhook_events.next_attempt``) and then waits in the admin's failed list."""
    event = WebhookEvent.objects.select_related("inbox").get(pk=event_id)
    if event.status in (WebhookEvent.Status.PROCESSED, WebhookEvent.Status.REJECTED):
        return event
    event.attempts += 1
    WebhookEvent.objects.filter(pk=event.pk).update(attempts=event.attempts)
    process_loaded_event(event)
    event.refresh_from_db()
    return event


def process_loaded_event(event: WebhookEvent) -> str:
    """Parse and apply ``event`` (loaded with its inbox, this attempt already counted in
    ``event.attempts``: the batch does both for many events at once) and record the outcome.
    Returns the new status."""
    attempts = event.attempts
    inbox = event.inbox
    if inbox is None or not inbox.enabled:
        return _finish(event, WebhookEvent.Status.FAILED, "The inbox was deleted or disabled; nothing was imported.",
                       attempts=attempts)
    try:
        parsed = get_adapter(inbox).parse(bytes(event.body), event.headers)
    except WebhookRejected as exc:
        return _finish(event, WebhookEvent.Status.FAILED, str(exc))  # the same body never parses: no retry
    try:
        applied = apply_parsed(inbox=inbox, parsed=parsed)
    except Exception as exc:
        logger.exception("processing webhook event %s failed", event.pk)
        return _finish(event, WebhookEvent.Status.FAILED, f"{type(exc).__name__}: {exc}", attempts=attempts)
    summary = applied.summary(parsed.skipped)
    if applied.failures:
        error = f"{len(applied.failures)} of {len(parsed.messages) + len(parsed.statuses)} items failed: " + "; ".join(
            f"{f['item']} ({f['provider_id']}): {f['error']}" for f in applied.failures)
        return _finish(event, WebhookEvent.Status.FAILED, error, summary, failures=applied.failures, attempts=attempts)
    return _finish(event, WebhookEvent.Status.PROCESSED, "", summary)


def _finish(event: WebhookEvent, status: str, error: str, summary: str = "", *,
            failures: list[dict[str, str]] | None = None, attempts: int | None = None) -> str:
    """Record the outcome and the attempt (one UPDATE); ``attempts`` (for failures worth
    retrying) schedules the next try."""
    next_attempt_at = None
    if status == WebhookEvent.Status.FAILED and attempts is not None:
        next_attempt_at = webhook_events.next_attempt(attempts)
    WebhookEvent.objects.filter(pk=event.pk).update(
        status=status, error=clean_text(error, 10_000), summary=clean_text(summary), failures=failures or [],
        next_attempt_at=next_attempt_at, processed_at=timezone.now(), attempts=event.attempts)
    return status
