"""Inbound events that change something already stored instead of adding a customer message:
reactions, edits, deletions ("unsend") and a customer's move to a new address (WhatsApp number
change). Channel-neutral: adapters say what changed with ``InboundMessage`` fields
(``reaction_to_provider_id``, ``edit_of_provider_id``, ``unsend_of_provider_id``,
``new_sender_address``); none of these reopens a conversation or wakes the bot.

Redelivery and reordering are safe: reactions keep the time of the last one per person, edits
remember the provider id of each edit, so an old event arriving again changes nothing.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from channels_adapters.base import InboundMessage

from ..models import ChannelKind, ContactIdentity, Conversation, Inbox, Message
from .broadcast import broadcast_message
from .contacts import merge_contacts, normalize_phone


def _target(inbox: Inbox, provider_id: str) -> Message | None:
    return (Message.objects.select_for_update(of=("self",))
            .select_related("conversation__inbox", "conversation__contact", "inbox", "author")
            .filter(inbox=inbox, provider_message_id=provider_id).first())


def _when(inbound: InboundMessage) -> dt.datetime:
    now = timezone.now()
    return min(inbound.sent_at, now) if inbound.sent_at else now


def record_reaction(inbox: Inbox, inbound: InboundMessage) -> tuple[Message | None, str]:
    """Set or remove (empty text) the sender's reaction on the message it reacts to. A reaction
    older than the one already recorded for that person (Meta redelivering) is ignored, so a
    removed reaction never comes back. Returns the message and the outcome."""
    target = _target(inbox, inbound.reaction_to_provider_id)
    if target is None:
        return None, "reaction_to_unknown"
    when = _when(inbound)
    times = dict(target.metadata.get("reaction_times", {}))
    previous = times.get(inbound.sender_address)
    if previous and dt.datetime.fromisoformat(previous) > when:
        return target, "stale_reaction"
    reactions = dict(target.metadata.get("reactions", {}))
    if inbound.text:
        reactions[inbound.sender_address] = inbound.text
    else:
        reactions.pop(inbound.sender_address, None)  # an empty emoji removes the reaction
    times[inbound.sender_address] = when.isoformat()
    target.metadata = {**target.metadata, "reactions": reactions, "reaction_times": times}
    target.save(update_fields=["metadata"])
    broadcast_message(target, event="message.updated")
    return target, "reaction"


def apply_edit(inbox: Inbox, inbound: InboundMessage) -> tuple[Message | None, str]:
    """The customer edited a message: the original shows the newest text, and every earlier
    version stays in ``metadata["edits"]`` (oldest first) for the record."""
    target = _target(inbox, inbound.edit_of_provider_id)
    if target is None:
        return None, "edit_of_unknown"
    applied = set(target.metadata.get("edit_ids", []))
    if inbound.provider_message_id in applied:
        return target, "duplicate"
    when = _when(inbound)
    edited_at = target.metadata.get("edited_at")
    metadata = dict(target.metadata)
    edits = list(metadata.get("edits", []))
    if edited_at and dt.datetime.fromisoformat(edited_at) > when:
        # A late, older edit: only history, the newer text stays.
        edits.append({"text": inbound.text, "at": when.isoformat()})
        edits.sort(key=lambda version: version["at"])
    else:
        edits.append({"text": target.text, "at": edited_at or (target.sent_at or target.created_at).isoformat()})
        target.text = inbound.text
        metadata["edited_at"] = when.isoformat()
    metadata["edits"] = edits
    metadata["edit_ids"] = sorted(applied | {inbound.provider_message_id})
    target.metadata = metadata
    target.save(update_fields=["text", "metadata"])
    broadcast_message(target, event="message.updated")
    return target, "edit"


def apply_unsend(inbox: Inbox, inbound: InboundMessage) -> tuple[Message | None, str]:
    """The customer deleted a message for everyone: it shows as deleted by the customer; its
    text and files are kept for the record (agents may need what was said)."""
    target = _target(inbox, inbound.unsend_of_provider_id)
    if target is None:
        return None, "unsend_of_unknown"
    if target.metadata.get("deleted_by_customer"):
        return target, "duplicate"
    target.metadata = {**target.metadata, "deleted_by_customer": True, "deleted_at": _when(inbound).isoformat()}
    target.save(update_fields=["metadata"])
    broadcast_message(target, event="message.updated")
    return target, "unsend"


def move_identity(inbox: Inbox, inbound: InboundMessage) -> ContactIdentity | None:
    """The customer's address on this channel changed (``new_sender_address``): their identity
    moves to the new one, so their next message finds the same contact. If the new address
    already has a contact (they wrote from it first), that contact is merged in: the channel
    itself says both are the same person. Returns the moved identity, or None when the old
    address is unknown."""
    identity = (ContactIdentity.objects.select_related("contact")
                .filter(channel_kind=inbox.channel_kind, address=inbound.sender_address).first())
    if identity is None:
        return None
    contact = identity.contact
    other = (ContactIdentity.objects.select_related("contact")
             .filter(channel_kind=inbox.channel_kind, address=inbound.new_sender_address).first())
    if other is not None and other.contact_id != contact.pk:
        contact = merge_contacts(primary=contact, duplicate=other.contact)
    if other is not None:
        identity.delete()
        identity = ContactIdentity.objects.get(channel_kind=inbox.channel_kind, address=inbound.new_sender_address)
    else:
        try:
            with transaction.atomic():
                ContactIdentity.objects.filter(pk=identity.pk).update(address=inbound.new_sender_address)
        except IntegrityError:  # created concurrently by the customer's first message from it
            return move_identity(inbox, inbound)
        identity.refresh_from_db()
    if inbox.channel_kind == ChannelKind.WHATSAPP and contact.phone == normalize_phone(inbound.sender_address):
        contact.phone = normalize_phone(inbound.new_sender_address)
        contact.save(update_fields=["phone", "updated_at"])
    return identity


def record_notice(inbox: Inbox, inbound: InboundMessage) -> tuple[Message | None, str]:
    """A notice from the channel about the customer (number change, identity change): moves the
    identity when the address changed, then shows the notice as a system line in the
    customer's latest conversation, without reopening it or waking anyone."""
    if inbound.new_sender_address:
        identity = move_identity(inbox, inbound)
        address = inbound.new_sender_address
    else:
        identity = ContactIdentity.objects.filter(channel_kind=inbox.channel_kind,
                                                  address=inbound.sender_address).first()
        address = inbound.sender_address
    if identity is None:
        return None, "notice_for_unknown"
    conversation = (Conversation.objects.filter(inbox=inbox, contact__identities__channel_kind=inbox.channel_kind,
                                                contact__identities__address=address)
                    .order_by("-last_activity_at", "-pk").first())
    if conversation is None:
        return None, "notice_for_unknown"
    try:
        with transaction.atomic():
            message = Message.objects.create(
                conversation=conversation, inbox=inbox, direction=Message.Direction.INCOMING,
                sender_kind=Message.SenderKind.SYSTEM, text=inbound.text, provider_message_id=inbound.provider_message_id,
                metadata=dict(inbound.metadata), sent_at=_when(inbound),
            )
    except IntegrityError:
        return Message.objects.get(inbox=inbox, provider_message_id=inbound.provider_message_id), "duplicate"
    message = Message.objects.select_related("conversation__inbox", "inbox", "author").get(pk=message.pk)
    broadcast_message(message)
    return message, "notice"


def is_notice(inbound: InboundMessage) -> bool:
    return bool(inbound.new_sender_address or inbound.metadata.get("system_event"))
