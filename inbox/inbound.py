"""From a stored provider request to messages in the inbox (Chatwoot's inbound path):
store the raw event first, then parse with the channel's adapter and hand each normalized
message to ``services.receive_inbound``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from django.db import transaction
from django.utils import timezone

from channels_adapters.base import InboundMessage, ParsedWebhook, WebhookRejected
from channels_adapters.registry import get_adapter

from . import queue, services
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


def apply_parsed(*, inbox: Inbox, parsed: ParsedWebhook) -> dict[str, int]:
    """Feed a parsed request to the write path. Each message in its own transaction, so one
    bad message cannot undo the others."""
    counts = {"messages": 0, "duplicates": 0, "statuses": 0, "skipped": len(parsed.skipped)}
    for inbound in parsed.messages:
        conversation = email_conversation(inbox, inbound) if inbox.channel_kind == ChannelKind.EMAIL else None
        result = services.receive_inbound(inbox=inbox, inbound=inbound, conversation=conversation)
        counts["messages" if result.created else "duplicates"] += 1
        if (result.created and inbox.channel_kind == ChannelKind.MESSENGER and not inbound.is_echo
                and not result.conversation.contact.name):
            queue.enqueue("inbox.fetch_contact_profile", inbox.pk, result.conversation.contact_id,
                          inbound.sender_address)
    for update in parsed.statuses:
        counts["statuses"] += services.apply_status_update(inbox=inbox, update=update)
    return counts


def process_webhook_event(event_id: int) -> WebhookEvent:
    """Parse and apply one stored event. Safe to run twice: messages are idempotent."""
    event = WebhookEvent.objects.select_related("inbox").get(pk=event_id)
    if event.status in (WebhookEvent.Status.PROCESSED, WebhookEvent.Status.REJECTED):
        return event
    WebhookEvent.objects.filter(pk=event.pk).update(attempts=event.attempts + 1)
    inbox = event.inbox
    if inbox is None or not inbox.enabled:
        return _finish(event, WebhookEvent.Status.FAILED, "The inbox was deleted or disabled; nothing was imported.")
    try:
        parsed = get_adapter(inbox).parse(bytes(event.body), event.headers)
    except WebhookRejected as exc:
        return _finish(event, WebhookEvent.Status.FAILED, str(exc))
    try:
        counts = apply_parsed(inbox=inbox, parsed=parsed)
    except Exception as exc:
        logger.exception("processing webhook event %s failed", event.pk)
        return _finish(event, WebhookEvent.Status.FAILED, f"{type(exc).__name__}: {exc}")
    summary = ", ".join(f"{v} {k}" for k, v in counts.items())
    if parsed.skipped:
        summary += "\nskipped: " + "; ".join(parsed.skipped)[:2000]
    return _finish(event, WebhookEvent.Status.PROCESSED, "", summary)


def _finish(event: WebhookEvent, status: str, error: str, summary: str = "") -> WebhookEvent:
    with transaction.atomic():
        WebhookEvent.objects.filter(pk=event.pk).update(status=status, error=error, summary=summary,
                                                        processed_at=timezone.now())
    event.refresh_from_db()
    return event
