"""Delivery states of outgoing messages: claimed before the network call, sent, failed or
retried, and the providers' delivery reports (sent → delivered → read, never backwards)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from channels_adapters.base import StatusUpdate

from ..models import ChannelKind, Inbox, Message
from .broadcast import broadcast_message


def claim_for_sending(*, message_id: int) -> Message | None:
    """Mark a queued message as being sent (one worker wins). The state is stored before the
    network call, so a re-run after a crash can tell that a send may have happened."""
    rows = Message.objects.filter(pk=message_id, delivery_state=Message.Delivery.QUEUED).update(
        delivery_state=Message.Delivery.SENDING, send_attempts=F("send_attempts") + 1, next_attempt_at=None,
        claimed_at=timezone.now(),
    )
    if not rows:
        return None
    # The message's inbox is its conversation's (one row, loaded and decrypted once); its
    # attachments are read once for the send and the "sent" broadcast after it.
    message = (Message.objects.select_related("conversation__contact", "inbox", "author")
               .prefetch_related("attachments").get(pk=message_id))
    message.conversation.inbox = message.inbox
    return message


def _reread(message: Message) -> Message:
    """``message`` as stored now, for a broadcast after a change of its delivery columns. A message
    from ``claim_for_sending`` (relations and attachments loaded) keeps those: only its own row is
    read again; any other is read with its relations."""
    loaded = message._state.fields_cache
    if "conversation" in loaded and "inbox" in loaded and "attachments" in getattr(message, "_prefetched_objects_cache", {}):
        fresh = Message.objects.get(pk=message.pk)
        if (fresh.conversation_id, fresh.inbox_id, fresh.author_id) == (message.conversation_id, message.inbox_id,
                                                                          message.author_id):
            fresh.conversation, fresh.inbox, fresh.author = message.conversation, message.inbox, message.author
            fresh._prefetched_objects_cache = {"attachments": message._prefetched_objects_cache["attachments"]}
            return fresh
    return Message.objects.select_related("conversation", "inbox", "author").get(pk=message.pk)


def requeue_uncertain_send(*, message: Message, now: dt.datetime) -> bool:
    """Queue again a send whose worker stopped mid-call. Only for channels where a resend is
    harmless (e-mail reuses its Message-ID, the widget dedupes by id); the caller decides."""
    return bool(Message.objects.filter(pk=message.pk, delivery_state=Message.Delivery.SENDING).update(
        delivery_state=Message.Delivery.QUEUED, next_attempt_at=now))


@transaction.atomic
def record_send_success(*, message: Message, provider_message_id: str) -> Message:
    # One UPDATE: the state moves to "sent" unless a delivery report already moved it further.
    Message.objects.filter(pk=message.pk).update(
        provider_message_id=provider_message_id or None, sent_at=timezone.now(),
        delivery_state=Case(When(delivery_state__in=["queued", "sending"], then=Value("sent")),
                            default=F("delivery_state")))
    message = _reread(message)
    broadcast_message(message, event="message.updated")
    return message


@transaction.atomic
def record_send_failure(*, message: Message, error: str, code: str = "", retry_at: dt.datetime | None = None) -> Message:
    """A temporary failure with ``retry_at`` puts the message back in the queue; otherwise it
    fails for good and the agent sees why (and can retry)."""
    if retry_at is not None:
        Message.objects.filter(pk=message.pk, delivery_state="sending").update(
            delivery_state="queued", next_attempt_at=retry_at, delivery_error=error[:2000], delivery_error_code=code[:40])
    else:
        Message.objects.filter(pk=message.pk).exclude(delivery_state__in=["delivered", "read"]).update(
            delivery_state="failed", delivery_error=error[:2000], delivery_error_code=code[:40], next_attempt_at=None)
    message = _reread(message)
    broadcast_message(message, event="message.updated")
    return message


@transaction.atomic
def apply_status_update(*, inbox: Inbox, update: StatusUpdate) -> int:
    """Apply a provider delivery report. States only move forward (read stays read); a
    ``failed`` report after sent marks the message failed with the provider's reason."""
    if update.status not in Message.DELIVERY_ORDER and update.status != "failed":
        return 0
    messages = Message.objects.filter(inbox=inbox, direction=Message.Direction.OUTGOING)
    if update.provider_message_id:
        messages = messages.filter(provider_message_id=update.provider_message_id)
    elif update.watermark and update.recipient_address:
        messages = messages.filter(
            conversation__contact__identities__channel_kind=inbox.channel_kind,
            conversation__contact__identities__address=update.recipient_address,
        )
        if inbox.channel_kind == ChannelKind.WEBCHAT:
            # The widget's receipt names messages the visitor has on screen: the broadcast
            # delivered them, whatever the send task has recorded yet.
            messages = messages.filter(created_at__lte=update.watermark)
        else:
            # A provider's "everything sent up to this time" (Messenger): only messages that did
            # leave, by when they left. A reply still queued for a retry, being sent or failed
            # was not covered; marking it read would hide that it never went out.
            messages = messages.filter(delivery_state__in=[Message.Delivery.SENT, Message.Delivery.DELIVERED],
                                       sent_at__lte=update.watermark)
    else:
        return 0
    if update.status == "failed":
        error = " — ".join(part for part in (update.error_title, update.error_detail) if part) or "The provider reported a failure."
        targets = list(messages.exclude(delivery_state__in=["delivered", "read", "failed"]).values_list("pk", flat=True))
        Message.objects.filter(pk__in=targets).update(delivery_state="failed", delivery_error=error[:2000],
                                                      delivery_error_code=update.error_code[:40])
    else:
        rank = Message.DELIVERY_ORDER[update.status]
        lower = [state for state, order in Message.DELIVERY_ORDER.items() if 0 < order < rank] + ["failed"]
        if update.status in ("delivered", "read"):
            targets = list(messages.filter(delivery_state__in=lower).values_list("pk", flat=True))
        else:
            targets = list(messages.filter(delivery_state__in=[s for s in lower if s != "failed"]).values_list("pk", flat=True))
        Message.objects.filter(pk__in=targets).update(delivery_state=update.status)
    for message in Message.objects.filter(pk__in=targets).select_related("conversation", "inbox", "author"):
        broadcast_message(message, event="message.updated")
    return len(targets)


# --- agent presence -------------------------------------------------------------------------------


@transaction.atomic
def message_record_email_copy(*, message: Message, address: str, provider_message_id: str = "", error: str = "") -> Message:
    """Note on a web-chat reply that a copy went (or failed to go) to the customer by e-mail."""
    message = Message.objects.select_for_update().get(pk=message.pk)
    message.metadata = {**message.metadata, "email_copy": {
        "to": address, "message_id": provider_message_id, "error": error, "at": timezone.now().isoformat()}}
    message.save(update_fields=["metadata"])
    message = Message.objects.select_related("conversation", "inbox", "author").get(pk=message.pk)
    broadcast_message(message, event="message.updated")
    return message
