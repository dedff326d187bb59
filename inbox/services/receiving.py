"""Customer messages coming in: identity → contact → conversation → message (idempotent by
provider id) → attachments → broadcast → the inbound handlers (surveys, the bot)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from channels_adapters.base import InboundAttachment, InboundMessage

from .. import queue
from ..models import Attachment, ChannelKind, Contact, Conversation, Inbox, Message
from . import hooks
from .broadcast import broadcast_conversation, broadcast_message, preview
from . import message_changes
from .contacts import contact_for_identity
from .phone_identity import heal_phone_duplicates
from .routing import route_to_agents

Status = Conversation.Status


@dataclasses.dataclass
class InboundResult:
    """What receiving one inbound item did. ``outcome`` names it for the event's summary:
    ``message``, ``duplicate``, ``reaction``, ``stale_reaction``, ``edit``, ``unsend``,
    ``notice``, or ``reaction_to_unknown`` / ``edit_of_unknown`` / ``unsend_of_unknown`` /
    ``notice_for_unknown`` when the message or customer it refers to is not here."""

    message: Message | None
    conversation: Conversation | None
    created: bool
    outcome: str = ""

    def __post_init__(self):
        self.outcome = self.outcome or ("message" if self.created else "duplicate")


def _conversation_for_inbound(inbox: Inbox, contact: Contact, now: dt.datetime, *,
                              keep_resolved: bool = False, is_echo: bool = False,
                              initial: dict | None = None) -> tuple[Conversation, bool]:
    """The conversation a message joins, or a new one (created with ``initial`` fields)."""
    latest = None if getattr(contact, "just_created", False) else (  # a contact made just now has none
        Conversation.objects.select_for_update()
        .filter(inbox=inbox, contact=contact)
        .order_by("-last_activity_at", "-pk")
        .first()
    )
    if latest and latest.status != Status.RESOLVED:
        return latest, False
    if latest and keep_resolved:
        return latest, False
    if latest and inbox.channel_kind == ChannelKind.EMAIL and latest.resolved_at and (
        now - latest.resolved_at <= dt.timedelta(hours=inbox.reopen_window_hours)
    ):
        return latest, False
    if is_echo:
        # A person at the business wrote first, from the provider's own app: the conversation
        # is theirs (open), never the bot's, which would talk over them.
        status = Status.OPEN
    else:
        status = Status.BOT if hooks.conversation_starts_with_handler(inbox) else Status.PENDING
    conversation = Conversation.objects.create(
        inbox=inbox, contact=contact, status=status, created_at=now, last_activity_at=now, **(initial or {}),
    )
    return conversation, True


def _store_attachment(message: Message, item: InboundAttachment) -> Attachment:
    attachment = Attachment(
        message=message, kind=item.kind or "file", filename=item.filename[:255], content_type=item.content_type[:100],
        provider_media_id=item.provider_media_id, source_url=item.url[:2000],
    )
    if item.data is not None:
        attachment.size = len(item.data)
        if attachment.size > settings.MAX_ATTACHMENT_BYTES:
            attachment.status = Attachment.Status.TOO_LARGE
            attachment.error = f"larger than {settings.MAX_ATTACHMENT_BYTES} bytes"
        else:
            attachment.file.save(item.filename or "file", ContentFile(item.data), save=False)
            attachment.status = Attachment.Status.STORED
    else:
        attachment.status = Attachment.Status.PENDING
    attachment.save()
    if attachment.status == Attachment.Status.PENDING:
        queue.enqueue("inbox.download_attachment", attachment.pk)
    return attachment


@transaction.atomic
def attachment_store_download(*, attachment: Attachment, data: bytes | None, error: str = "",
                               content_type: str = "") -> Attachment:
    """Record the result of a media download (called by the download task). ``content_type`` is
    what the provider served, kept when the webhook did not say (Messenger, Instagram); it also
    corrects the kind of media whose type the webhook could not know (an Instagram story is
    an image or a video)."""
    attachment = Attachment.objects.select_for_update().get(pk=attachment.pk)
    if content_type and not attachment.content_type:
        attachment.content_type = content_type[:100]
        major = content_type.split("/")[0]
        if attachment.kind == "image" and major in ("video", "audio"):
            attachment.kind = major
    if data is None:
        attachment.status = Attachment.Status.FAILED
        attachment.error = error[:255]
    elif len(data) > settings.MAX_ATTACHMENT_BYTES:
        attachment.status, attachment.size = Attachment.Status.TOO_LARGE, len(data)
        attachment.error = f"larger than {settings.MAX_ATTACHMENT_BYTES} bytes"
    else:
        attachment.file.save(attachment.filename or "file", ContentFile(data), save=False)
        attachment.size, attachment.status, attachment.error = len(data), Attachment.Status.STORED, ""
    attachment.save()
    message = Message.objects.select_related("conversation", "inbox", "author").get(pk=attachment.message_id)
    broadcast_message(message, event="message.updated")
    return attachment


@transaction.atomic
def receive_inbound(
    *,
    inbox: Inbox,
    inbound: InboundMessage,
    conversation: Conversation | None = None,
    auto_reply: bool = True,
) -> InboundResult:
    """Take one normalized inbound message: identity → contact → conversation → message
    (idempotent by provider id) → broadcast → inbound handlers (see ``hooks``).

    ``conversation`` lets a channel that threads by itself (e-mail) name the conversation.
    ``auto_reply=False`` skips the handlers that answer on their own (the bot); the others
    (survey ratings, opt-out words) still run.
    Redelivered events return the existing message with ``created=False``.
    """
    existing = Message.objects.filter(inbox=inbox, provider_message_id=inbound.provider_message_id).first()
    if existing:
        return InboundResult(existing, existing.conversation, False)
    now = timezone.now()
    sent_at = min(inbound.sent_at, now) if inbound.sent_at else now

    change = _apply_change(inbox, inbound)
    if change is not None:
        return change

    contact = contact_for_identity(
        channel_kind=inbox.channel_kind, address=inbound.sender_address, name=inbound.sender_name,
        email=inbound.contact_email, phone=inbound.contact_phone, phone_region=inbox.default_phone_region,
    )
    if inbox.channel_kind == ChannelKind.WHATSAPP:
        # Contacts that differ only by the form of this number (an order's +55 11 9…, the
        # wa_id without the ninth digit) become one, with one history.
        contact, _merged = heal_phone_duplicates(contact=contact)
    created_conversation = False
    if conversation is not None:
        conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
    else:
        # A satisfaction rating tapped after resolution belongs to the resolved conversation.
        is_rating = inbound.quick_reply_payload.startswith("survey:")
        # What the message sets on its conversation, written with it when the conversation is new.
        initial = {"last_message_preview": preview(inbound.text) or ("📎 attachment" if inbound.attachments else "")}
        if not inbound.is_echo:
            initial["last_incoming_at"] = now
        if inbound.metadata.get("subject"):
            initial["subject"] = str(inbound.metadata["subject"])[:255]
        conversation, created_conversation = _conversation_for_inbound(inbox, contact, now, keep_resolved=is_rating,
                                                                       is_echo=inbound.is_echo, initial=initial)

    reply_to = None
    if inbound.reply_to_provider_id:
        reply_to = Message.objects.filter(inbox=inbox, provider_message_id=inbound.reply_to_provider_id).first()

    metadata = dict(inbound.metadata)
    if inbound.location:
        metadata["location"] = inbound.location
    if inbound.quick_reply_payload:
        metadata["quick_reply_payload"] = inbound.quick_reply_payload
    if inbound.unsupported:
        metadata["unsupported"] = True
    if inbound.automated:
        metadata["automated"] = True

    if inbound.is_echo:
        direction, sender_kind, delivery = Message.Direction.OUTGOING, Message.SenderKind.AGENT, Message.Delivery.SENT
        metadata["sent_from_provider_app"] = True
    else:
        direction, sender_kind, delivery = Message.Direction.INCOMING, Message.SenderKind.CONTACT, Message.Delivery.NONE

    try:
        with transaction.atomic():
            message = Message.objects.create(
                conversation=conversation, inbox=inbox, direction=direction, sender_kind=sender_kind,
                text=inbound.text, html=inbound.html, provider_message_id=inbound.provider_message_id,
                reply_to=reply_to, delivery_state=delivery, metadata=metadata, created_at=now, sent_at=sent_at,
            )
    except IntegrityError:
        # The same event processed concurrently by another worker: it won. Any other refusal
        # of the row is a real failure for the caller to record.
        existing = Message.objects.filter(inbox=inbox, provider_message_id=inbound.provider_message_id).first()
        if existing is None:
            raise
        return InboundResult(existing, existing.conversation, False)
    for item in inbound.attachments:
        _store_attachment(message, item)

    conversation.last_activity_at = now
    conversation.last_message_preview = preview(inbound.text) or ("📎 attachment" if inbound.attachments else "")
    update_fields = ["last_activity_at", "last_message_preview"]
    if not inbound.is_echo:
        conversation.last_incoming_at = now
        update_fields.append("last_incoming_at")
        if conversation.status in (Status.SNOOZED, Status.RESOLVED) and not inbound.quick_reply_payload.startswith("survey:"):
            # The customer wrote again: wake the conversation for its agent.
            conversation.status = Status.OPEN if conversation.assignee_id else Status.PENDING
            conversation.snoozed_until = None
            conversation.resolved_at = None
            update_fields += ["status", "snoozed_until", "resolved_at"]
    if inbound.metadata.get("subject") and not conversation.subject:
        conversation.subject = str(inbound.metadata["subject"])[:255]
        update_fields.append("subject")
    if not created_conversation:  # a new one was created with these values
        conversation.save(update_fields=update_fields)

    # The payloads are built from the rows in hand: no re-read of what was just written.
    conversation.inbox = inbox
    if conversation.contact_id == contact.pk:
        conversation.contact = contact
    message.conversation, message.inbox = conversation, inbox
    if not inbound.attachments:
        message._prefetched_objects_cache = {"attachments": Attachment.objects.none()}
    broadcast_message(message)
    broadcast_conversation(conversation, event="conversation.created" if created_conversation else "conversation.updated")

    if created_conversation and conversation.status == Status.PENDING:
        route_to_agents(conversation)
    if not inbound.is_echo:
        # The handlers (surveys, the bot) run in the worker after this commits, so the message
        # reaches the agents at once and the bot's matching never holds the write lock.
        hooks.queue_handlers(message.pk, auto_reply=auto_reply)
    return InboundResult(message, conversation, True)

def _apply_change(inbox: Inbox, inbound: InboundMessage) -> InboundResult | None:
    """Reactions, edits, deletions and channel notices change what is stored (see
    ``message_changes``); None for an ordinary message."""
    if inbound.reaction_to_provider_id:
        target, outcome = message_changes.record_reaction(inbox, inbound)
    elif inbound.edit_of_provider_id:
        target, outcome = message_changes.apply_edit(inbox, inbound)
    elif inbound.unsend_of_provider_id:
        target, outcome = message_changes.apply_unsend(inbox, inbound)
    elif message_changes.is_notice(inbound):
        target, outcome = message_changes.record_notice(inbox, inbound)
    else:
        return None
    return InboundResult(target, target.conversation if target else None, outcome == "notice", outcome)
