"""Outgoing messages: agents' and the bot's replies, the customer-service window, retries
asked for by an agent. Sending itself happens in ``inbox.outbound`` (a task)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from channels_adapters.registry import adapter_class_for

from .. import queue
from ..models import Attachment, Conversation, Inbox, Message
from ..selectors import reread_conversation
from .broadcast import broadcast_conversation, broadcast_message, preview
from .errors import ServiceError, WindowClosed

Status = Conversation.Status


def _window_hours(inbox: Inbox) -> int | None:
    """Messenger's HUMAN_AGENT tag, when enabled for the inbox, stretches the window to 7 days."""
    try:
        adapter_class = adapter_class_for(inbox.channel_kind)
    except (LookupError, ImportError):
        return None
    if inbox.channel_config.get("human_agent_tag") and hasattr(adapter_class, "human_agent_window_hours"):
        return adapter_class.human_agent_window_hours
    return getattr(adapter_class, "window_hours", None)


def service_window(conversation: Conversation, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """The customer-service window of channels that have one (WhatsApp, Messenger):
    ``{"applies", "open", "closes_at"}``."""
    hours = _window_hours(conversation.inbox)
    if not hours:
        return {"applies": False, "open": True, "closes_at": None}
    now = now or timezone.now()
    if conversation.last_incoming_at is None:
        return {"applies": True, "open": False, "closes_at": None}
    closes_at = conversation.last_incoming_at + dt.timedelta(hours=hours)
    return {"applies": True, "open": now < closes_at, "closes_at": closes_at}



@transaction.atomic
def send_reply(
    *,
    conversation: Conversation,
    text: str,
    author=None,
    sender_kind: str = Message.SenderKind.AGENT,
    attachments: Sequence[tuple[str, str, bytes]] = (),
    quick_replies: Sequence[dict[str, str]] = (),
    template: dict[str, Any] | None = None,
    automated: bool = False,
    metadata: dict[str, Any] | None = None,
) -> Message:
    """Record an outgoing message (queued) and send it through the inbox's adapter in a task.

    ``attachments`` are ``(filename, content_type, data)``. ``template`` (name, language,
    parameters) is how WhatsApp talks outside its 24-hour window. Replying to a resolved
    conversation reopens it; the first agent reply on an unassigned conversation assigns it.
    """
    if not text.strip() and not attachments and not template:
        raise ServiceError(_("A reply needs text, an attachment or a template."))
    conversation = reread_conversation(conversation, "contact", "assignee",
                                       queryset=Conversation.objects.select_for_update(of=("self",)))
    window = service_window(conversation)
    if window["applies"] and not window["open"] and not template and sender_kind == Message.SenderKind.AGENT:
        raise WindowClosed(
            "The customer has not written in the last 24 hours, so this channel only accepts an approved "
            "template. Pick a template to send."
        )
    now = timezone.now()
    meta = dict(metadata or {})
    if quick_replies:
        meta["quick_replies"] = [{"title": q["title"], "payload": q.get("payload", q["title"])} for q in quick_replies]
    if template:
        meta["template"] = template
    if automated:
        meta["automated"] = True
    message = Message.objects.create(
        conversation=conversation, inbox_id=conversation.inbox_id, direction=Message.Direction.OUTGOING,
        sender_kind=sender_kind, author=author, text=text, delivery_state=Message.Delivery.QUEUED,
        metadata=meta, created_at=now, next_attempt_at=now,
    )
    for filename, content_type, data in attachments:
        if len(data) > settings.MAX_ATTACHMENT_BYTES:
            raise ServiceError(_("%(file)s is larger than %(size)s MB.") % {
                "file": filename, "size": settings.MAX_ATTACHMENT_BYTES // (1024 * 1024)})
        attachment = Attachment(message=message, filename=filename[:255], content_type=content_type[:100],
                                size=len(data), kind=_kind_for(content_type))
        attachment.file.save(filename or "file", ContentFile(data), save=False)
        attachment.save()

    fields = ["last_activity_at", "last_message_preview"]
    conversation.last_activity_at = now
    conversation.last_message_preview = preview(text) or "📎 attachment"
    if sender_kind == Message.SenderKind.AGENT:
        if conversation.first_response_at is None:
            conversation.first_response_at = now
            fields.append("first_response_at")
        if conversation.status in (Status.RESOLVED, Status.SNOOZED, Status.PENDING, Status.BOT):
            conversation.status = Status.OPEN
            conversation.resolved_at = None
            conversation.snoozed_until = None
            fields += ["status", "resolved_at", "snoozed_until"]
        if conversation.assignee_id is None and author is not None:
            conversation.assignee = author
            fields.append("assignee")
    conversation.save(update_fields=fields)

    if attachments:
        message = Message.objects.select_related("conversation", "inbox", "author").get(pk=message.pk)
    else:
        # The payloads are built from the rows in hand: no re-read of what was just written.
        message.conversation, message.inbox, message.author = conversation, conversation.inbox, author
        message._prefetched_objects_cache = {"attachments": Attachment.objects.none()}
    broadcast_message(message)
    broadcast_conversation(conversation)
    queue.enqueue("inbox.deliver_message", message.pk)
    return message


def _kind_for(content_type: str) -> str:
    major = (content_type or "").split("/")[0]
    return {"image": "image", "audio": "audio", "video": "video"}.get(major, "file")


@transaction.atomic
def retry_send(*, message: Message, actor=None) -> Message:
    """An agent's retry of a failed send."""
    rows = Message.objects.filter(pk=message.pk, delivery_state=Message.Delivery.FAILED).update(
        delivery_state=Message.Delivery.QUEUED, delivery_error="", delivery_error_code="",
        next_attempt_at=timezone.now(), send_attempts=0,
    )
    message = Message.objects.select_related("conversation", "inbox", "author").get(pk=message.pk)
    if not rows:
        raise ServiceError(_("Only a failed message can be sent again."))
    broadcast_message(message, event="message.updated")
    queue.enqueue("inbox.deliver_message", message.pk)
    return message

