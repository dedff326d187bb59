"""A conversation's life: status (resolve, reopen, snooze), labels, priority, read marks,
typing, bot-miss counts, and conversations the business starts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import events, queue
from ..models import ChannelKind, Contact, Conversation, ConversationRead, Inbox, Label, Message
from . import hooks
from .broadcast import broadcast_conversation, display_name
from .errors import ServiceError
from .messages import add_system_message

Status = Conversation.Status

#: Channels where the customer sees that the business read their message, and the typing bubble.
SEEN_RECEIPT_CHANNELS = (ChannelKind.MESSENGER, ChannelKind.INSTAGRAM, ChannelKind.WHATSAPP)
TYPING_CHANNELS = (ChannelKind.MESSENGER, ChannelKind.INSTAGRAM)


@transaction.atomic
def set_status(*, conversation: Conversation, status: str, actor=None, snoozed_until: dt.datetime | None = None) -> Conversation:
    conversation = Conversation.objects.select_for_update(of=("self",)).select_related("inbox", "contact", "assignee").get(pk=conversation.pk)
    now = timezone.now()
    if status == Status.SNOOZED:
        if snoozed_until is None or snoozed_until <= now:
            raise ServiceError(_("Snooze needs a time in the future."))
        conversation.snoozed_until = snoozed_until
    else:
        conversation.snoozed_until = None
    if status == Status.RESOLVED:
        conversation.resolved_at = now
        conversation.bot_misses = 0
    elif conversation.status == Status.RESOLVED:
        conversation.resolved_at = None
    previous = conversation.status
    conversation.status = status
    conversation.save(update_fields=["status", "snoozed_until", "resolved_at", "bot_misses"])
    if previous != status:
        add_system_message(conversation=conversation, code="status",
                           params={"who": display_name(actor) if actor else "", "status": status},
                           metadata={"event": "status", "status": status}, private=True)
    broadcast_conversation(conversation)
    if status == Status.RESOLVED and previous != Status.RESOLVED:
        conversation_id = conversation.pk
        transaction.on_commit(lambda: hooks.run_resolved_handlers(conversation_id))
    return conversation


def resolve(*, conversation: Conversation, actor=None) -> Conversation:
    return set_status(conversation=conversation, status=Status.RESOLVED, actor=actor)


def reopen(*, conversation: Conversation, actor=None) -> Conversation:
    status = Status.OPEN if conversation.assignee_id else Status.PENDING
    return set_status(conversation=conversation, status=status, actor=actor)


def snooze(*, conversation: Conversation, until: dt.datetime, actor=None) -> Conversation:
    return set_status(conversation=conversation, status=Status.SNOOZED, actor=actor, snoozed_until=until)


def wake_snoozed(*, now: dt.datetime | None = None) -> int:
    now = now or timezone.now()
    count = 0
    for conversation in Conversation.objects.filter(status=Status.SNOOZED, snoozed_until__lte=now):
        reopen(conversation=conversation)
        count += 1
    return count


@transaction.atomic
def start_conversation(*, inbox: Inbox, contact: Contact) -> Conversation:
    """A conversation the business starts (a follow-up to a customer who never wrote on this
    inbox). It waits in no agent's queue: it is created resolved, and the customer's answer
    starts the usual flow."""
    if not contact.identities.filter(channel_kind=inbox.channel_kind).exists():
        raise ServiceError(_("%(contact)s has no %(channel)s address.") % {"contact": contact, "channel": inbox.get_channel_kind_display()})
    now = timezone.now()
    conversation = Conversation.objects.create(inbox=inbox, contact=contact, status=Status.RESOLVED,
                                               created_at=now, last_activity_at=now, resolved_at=now)
    conversation = Conversation.objects.select_related("inbox", "contact", "assignee").get(pk=conversation.pk)
    broadcast_conversation(conversation, event="conversation.created")
    return conversation


@transaction.atomic
def conversation_bot_miss(*, conversation: Conversation) -> int:
    """Count one question the bot did not understand; returns the new count."""
    Conversation.objects.filter(pk=conversation.pk).update(bot_misses=F("bot_misses") + 1)
    conversation.bot_misses = Conversation.objects.values_list("bot_misses", flat=True).get(pk=conversation.pk)
    return conversation.bot_misses


@transaction.atomic
def conversation_reset_bot_misses(*, conversation: Conversation) -> None:
    """After a good answer the customer starts with a clean slate."""
    Conversation.objects.filter(pk=conversation.pk).update(bot_misses=0)
    conversation.bot_misses = 0


@transaction.atomic
def set_labels(*, conversation: Conversation, labels: Iterable[str]) -> Conversation:
    names = sorted({name.strip()[:50] for name in labels if name and name.strip()})
    objects = [Label.objects.get_or_create(name=name)[0] for name in names]
    conversation.labels.set(objects)
    broadcast_conversation(conversation)
    return conversation


@transaction.atomic
def set_priority(*, conversation: Conversation, priority: int) -> Conversation:
    if priority not in Conversation.Priority.values:
        raise ServiceError(_("Unknown priority."))
    Conversation.objects.filter(pk=conversation.pk).update(priority=priority)
    conversation.refresh_from_db()
    broadcast_conversation(conversation)
    return conversation


@transaction.atomic
def mark_read(*, conversation: Conversation, user) -> None:
    previous = ConversationRead.objects.filter(conversation=conversation, user=user).values_list("last_read_at", flat=True).first()
    ConversationRead.objects.update_or_create(conversation=conversation, user=user,
                                              defaults={"last_read_at": timezone.now()})
    events.send_event_on_commit([events.agent_group(user.pk)], "conversation.read", {"id": conversation.pk})
    unseen = conversation.messages.filter(direction=Message.Direction.INCOMING)
    if previous:
        unseen = unseen.filter(created_at__gt=previous)
    if conversation.inbox.channel_kind in SEEN_RECEIPT_CHANNELS and unseen.exists():
        # Tell the customer's app the business saw the message (blue ticks / "Seen").
        queue.enqueue("inbox.send_channel_action", conversation.pk, "mark_seen")


def typing(*, conversation: Conversation, who: str, is_typing: bool, name: str = "", user_id: int | None = None) -> None:
    """Typing indicators are not stored; they are only broadcast. ``who`` is agent or contact;
    ``user_id`` lets an agent's own tabs ignore their own typing."""
    payload = {"conversation_id": conversation.pk, "who": who, "name": name, "typing": bool(is_typing),
               "user_id": user_id}
    if who == "agent":
        events.send_event([events.conversation_group(conversation.pk), events.inbox_group(conversation.inbox_id)],
                          "typing", payload)
        if is_typing and conversation.inbox.channel_kind in TYPING_CHANNELS:
            queue.enqueue("inbox.send_channel_action", conversation.pk, "typing_on", after_commit=False)
    else:
        events.send_event([events.inbox_group(conversation.inbox_id)], "typing", payload)


# --- outgoing messages ----------------------------------------------------------------------------

