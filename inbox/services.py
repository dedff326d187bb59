"""The one write path: every contact, conversation and message is created or changed here.

Adapters, websocket consumers, API views, the bot and tasks call these functions; none of them
saves domain rows itself. Each function runs in a transaction and announces what changed with
``events.send_event_on_commit`` (see docs/architecture.md).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from channels_adapters.base import InboundAttachment, InboundMessage, StatusUpdate

from . import events
from .models import (
    AgentConnection,
    AgentProfile,
    Attachment,
    ChannelKind,
    Contact,
    ContactIdentity,
    Conversation,
    ConversationRead,
    Inbox,
    Label,
    Message,
)
from .presenters import conversation_payload, message_payload

logger = logging.getLogger(__name__)

Status = Conversation.Status
PRESENCE_TIMEOUT = dt.timedelta(seconds=90)


class ServiceError(Exception):
    """A refused operation, with a message fit to show to the person who asked."""


class AssignmentConflict(ServiceError):
    def __init__(self, current_assignee):
        name = current_assignee.get_username() if current_assignee else "nobody"
        super().__init__(f"This conversation was just assigned to {name}.")
        self.current_assignee = current_assignee


class WindowClosed(ServiceError):
    """A free-form reply outside the channel's customer-service window."""


@dataclasses.dataclass
class InboundResult:
    message: Message | None
    conversation: Conversation | None
    created: bool


# --- helpers --------------------------------------------------------------------------------------


def normalize_phone(value: str) -> str:
    digits = re.sub(r"\D", "", value or "")
    return f"+{digits}" if len(digits) >= 7 else ""


def normalize_email(value: str) -> str:
    return (value or "").strip().lower()


def _preview(text: str) -> str:
    return " ".join((text or "").split())[:200]


def _broadcast_message(message: Message, *, event: str = "message.created") -> None:
    conversation = message.conversation
    agent_payload = message_payload(message)
    events.send_event_on_commit([events.inbox_group(conversation.inbox_id)], event, agent_payload)
    if not message.is_private_note:
        events.send_event_on_commit(
            [events.conversation_group(conversation.pk)], event, message_payload(message, for_customer=True)
        )


def _broadcast_conversation(conversation: Conversation, *, event: str = "conversation.updated") -> None:
    payload = conversation_payload(conversation)
    events.send_event_on_commit([events.inbox_group(conversation.inbox_id)], event, payload)
    events.send_event_on_commit(
        [events.conversation_group(conversation.pk)],
        "conversation.status",
        {"id": conversation.pk, "status": conversation.status, "assignee_name": payload["assignee_name"]},
    )


def _bot_engine():
    """The bot is an optional collaborator, imported late to keep the layers one-way."""
    try:
        from bot import engine
    except ImportError:  # pragma: no cover - the bot app is part of this project
        return None
    return engine


# --- contacts -------------------------------------------------------------------------------------


@transaction.atomic
def contact_for_identity(
    *, channel_kind: str, address: str, name: str = "", email: str = "", phone: str = "", locale: str = ""
) -> Contact:
    """Find the contact behind a channel address, creating contact and identity the first time."""
    identity = ContactIdentity.objects.select_related("contact").filter(channel_kind=channel_kind, address=address).first()
    if identity:
        contact = identity.contact
        changed = []
        for field, value in (("name", name), ("email", normalize_email(email)), ("phone", normalize_phone(phone)),
                             ("locale", locale)):
            if value and not getattr(contact, field):
                setattr(contact, field, value)
                changed.append(field)
        if changed:
            contact.save(update_fields=[*changed, "updated_at"])
        return contact
    contact = Contact.objects.create(
        name=name, email=normalize_email(email), phone=normalize_phone(phone), locale=locale
    )
    try:
        with transaction.atomic():
            ContactIdentity.objects.create(contact=contact, channel_kind=channel_kind, address=address)
    except IntegrityError:
        # Another process created the identity at the same moment: use its contact.
        contact.delete()
        return ContactIdentity.objects.select_related("contact").get(channel_kind=channel_kind, address=address).contact
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, **fields: Any) -> Contact:
    allowed = {"name", "email", "phone", "locale", "avatar_url", "attributes", "opted_out"}
    unknown = set(fields) - allowed
    if unknown:
        raise ServiceError(f"Cannot change {', '.join(sorted(unknown))}.")
    if "email" in fields:
        fields["email"] = normalize_email(fields["email"])
    if "phone" in fields:
        fields["phone"] = normalize_phone(fields["phone"]) or fields["phone"]
    for field, value in fields.items():
        setattr(contact, field, value)
    contact.save()
    return contact


@transaction.atomic
def contact_add_identity(*, contact: Contact, channel_kind: str, address: str) -> Contact:
    """Attach an address to a contact; if another contact owns it, merge that one in."""
    existing = ContactIdentity.objects.select_related("contact").filter(channel_kind=channel_kind, address=address).first()
    if existing is None:
        ContactIdentity.objects.create(contact=contact, channel_kind=channel_kind, address=address)
        return contact
    if existing.contact_id == contact.pk:
        return contact
    return merge_contacts(primary=existing.contact, duplicate=contact)


@transaction.atomic
def merge_contacts(*, primary: Contact, duplicate: Contact) -> Contact:
    """Move everything of ``duplicate`` to ``primary`` and delete it. No message is lost:
    conversations (with their messages) and identities change owner."""
    if primary.pk == duplicate.pk:
        raise ServiceError("A contact cannot be merged with itself.")
    primary = Contact.objects.select_for_update().get(pk=primary.pk)
    duplicate = Contact.objects.select_for_update().get(pk=duplicate.pk)
    ContactIdentity.objects.filter(contact=duplicate).update(contact=primary)
    Conversation.objects.filter(contact=duplicate).update(contact=primary)
    for relation in Contact._meta.related_objects:
        # Rows of other apps (orders, surveys) that point at the contact follow it too.
        if relation.related_model in (ContactIdentity, Conversation) or not relation.one_to_many:
            continue
        relation.related_model._base_manager.filter(**{relation.field.name: duplicate}).update(
            **{relation.field.name: primary}
        )
    for field in ("name", "email", "phone", "locale", "avatar_url"):
        if not getattr(primary, field) and getattr(duplicate, field):
            setattr(primary, field, getattr(duplicate, field))
    primary.attributes = {**duplicate.attributes, **primary.attributes}
    primary.opted_out = primary.opted_out or duplicate.opted_out
    primary.save()
    duplicate.delete()
    events.send_event_on_commit(["contacts"], "contact.merged", {"primary_id": primary.pk})
    return primary


# --- conversations --------------------------------------------------------------------------------


def _bot_enabled(inbox: Inbox) -> bool:
    engine = _bot_engine()
    return bool(engine and engine.bot_enabled_for(inbox))


def _conversation_for_inbound(inbox: Inbox, contact: Contact, now: dt.datetime, *,
                              keep_resolved: bool = False) -> tuple[Conversation, bool]:
    latest = (
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
    conversation = Conversation.objects.create(
        inbox=inbox, contact=contact, status=Status.BOT if _bot_enabled(inbox) else Status.PENDING,
        created_at=now, last_activity_at=now,
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
        from .tasks import download_attachment

        transaction.on_commit(lambda: download_attachment(attachment.pk))
    return attachment


@transaction.atomic
def attachment_store_download(*, attachment: Attachment, data: bytes | None, error: str = "") -> Attachment:
    """Record the result of a media download (called by the download task)."""
    attachment = Attachment.objects.select_for_update().get(pk=attachment.pk)
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
    _broadcast_message(message, event="message.updated")
    return attachment


@transaction.atomic
def receive_inbound(
    *,
    inbox: Inbox,
    inbound: InboundMessage,
    conversation: Conversation | None = None,
    run_bot: bool = True,
) -> InboundResult:
    """Take one normalized inbound message: identity → contact → conversation → message
    (idempotent by provider id) → bot → broadcast.

    ``conversation`` lets a channel that threads by itself (e-mail) name the conversation.
    Redelivered events return the existing message with ``created=False``.
    """
    existing = Message.objects.filter(inbox=inbox, provider_message_id=inbound.provider_message_id).first()
    if existing:
        return InboundResult(existing, existing.conversation, False)
    now = timezone.now()
    sent_at = min(inbound.sent_at, now) if inbound.sent_at else now

    if inbound.reaction_to_provider_id:
        return _record_reaction(inbox, inbound)

    contact = contact_for_identity(
        channel_kind=inbox.channel_kind, address=inbound.sender_address, name=inbound.sender_name,
        email=inbound.contact_email, phone=inbound.contact_phone,
    )
    created_conversation = False
    if conversation is not None:
        conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
    else:
        # A satisfaction rating tapped after resolution belongs to the resolved conversation.
        is_rating = inbound.quick_reply_payload.startswith("survey:")
        conversation, created_conversation = _conversation_for_inbound(inbox, contact, now, keep_resolved=is_rating)

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
        # The same event processed concurrently by another worker: it won.
        existing = Message.objects.get(inbox=inbox, provider_message_id=inbound.provider_message_id)
        return InboundResult(existing, existing.conversation, False)
    for item in inbound.attachments:
        _store_attachment(message, item)

    conversation.last_activity_at = now
    conversation.last_message_preview = _preview(inbound.text) or ("📎 attachment" if inbound.attachments else "")
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
    conversation.save(update_fields=update_fields)

    message = Message.objects.select_related("conversation__inbox", "inbox", "author").get(pk=message.pk)
    _broadcast_message(message)
    _broadcast_conversation(conversation, event="conversation.created" if created_conversation else "conversation.updated")

    if created_conversation and conversation.status == Status.PENDING:
        _route_to_agents(conversation)
    if not inbound.is_echo and _intercepted(message):
        return InboundResult(message, conversation, True)
    if run_bot and not inbound.is_echo and conversation.status == Status.BOT:
        _run_bot(conversation, message, automated=inbound.automated)
    return InboundResult(message, conversation, True)


def _intercepted(message: Message) -> bool:
    """Other apps may consume a customer message before the bot (``INBOUND_INTERCEPTORS``)."""
    from django.utils.module_loading import import_string

    for path in getattr(settings, "INBOUND_INTERCEPTORS", []):
        if import_string(path)(message):
            return True
    return False


def _record_reaction(inbox: Inbox, inbound: InboundMessage) -> InboundResult:
    target = (
        Message.objects.select_for_update(of=("self",))
        .select_related("conversation__inbox", "inbox", "author")
        .filter(inbox=inbox, provider_message_id=inbound.reaction_to_provider_id)
        .first()
    )
    if target is None:
        return InboundResult(None, None, False)
    reactions = dict(target.metadata.get("reactions", {}))
    if inbound.text:
        reactions[inbound.sender_address] = inbound.text
    else:
        reactions.pop(inbound.sender_address, None)  # an empty emoji removes the reaction
    target.metadata = {**target.metadata, "reactions": reactions}
    target.save(update_fields=["metadata"])
    _broadcast_message(target, event="message.updated")
    return InboundResult(target, target.conversation, False)


def _run_bot(conversation: Conversation, message: Message, *, automated: bool) -> None:
    engine = _bot_engine()
    if engine is None:
        return
    try:
        with transaction.atomic():
            engine.handle_incoming(conversation=conversation, message=message, automated=automated)
    except Exception:
        # The customer's message is kept; agents take over.
        logger.exception("bot failed on message %s", message.pk)
        conversation.refresh_from_db()
        hand_off(conversation=conversation, reason=Conversation.HandoffReason.BOT_ERROR, detail="see server log")


# --- agents and routing ---------------------------------------------------------------------------


def online_agent_ids(*, inbox: Inbox) -> list[int]:
    cutoff = timezone.now() - PRESENCE_TIMEOUT
    return list(
        AgentConnection.objects.filter(
            user__inboxes=inbox, user__is_active=True, last_seen__gte=cutoff,
            presence=AgentConnection.Presence.ONLINE,
        ).values_list("user_id", flat=True).distinct()
    )


def _route_to_agents(conversation: Conversation) -> None:
    """Auto-assign to an online agent of the inbox, round-robin, within each agent's maximum;
    otherwise the conversation waits in *unassigned*. Agents are notified either way."""
    inbox = conversation.inbox
    if inbox.auto_assign and conversation.assignee_id is None:
        agent = _pick_agent(inbox)
        if agent is not None:
            _set_assignee(conversation, agent)
            AgentProfile.objects.filter(user=agent).update(last_assigned_at=timezone.now())
            add_system_message(conversation=conversation, text=f"{_display(agent)} joined the conversation",
                               metadata={"event": "agent_joined", "agent_name": _display(agent)})
    events.send_event_on_commit(
        [events.inbox_group(inbox.pk)], "conversation.needs_agent",
        {"id": conversation.pk, "reason": conversation.handoff_reason, "assignee_id": conversation.assignee_id,
         "contact_name": str(conversation.contact)},
    )


def _display(user) -> str:
    from .presenters import agent_name

    return agent_name(user)


def _pick_agent(inbox: Inbox):
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    online = online_agent_ids(inbox=inbox)
    if not online:
        return None
    candidates = (
        get_user_model().objects.filter(pk__in=online)
        .select_related("agent_profile")
        .annotate(open_count=Count("assigned_conversations", filter=Q(
            assigned_conversations__status__in=[Status.OPEN, Status.PENDING])))
        .order_by(F("agent_profile__last_assigned_at").asc(nulls_first=True), "pk")
    )
    for user in candidates:
        profile = getattr(user, "agent_profile", None)
        limit = profile.max_open_conversations if profile else 10
        accepts = profile.accepts_auto_assignment if profile else True
        if accepts and user.open_count < limit:
            return user
    return None


def _set_assignee(conversation: Conversation, agent) -> None:
    conversation.assignee = agent
    if conversation.status in (Status.PENDING, Status.BOT):
        conversation.status = Status.OPEN
    conversation.save(update_fields=["assignee", "status"])
    _broadcast_conversation(conversation)
    if agent is not None:
        events.send_event_on_commit([events.agent_group(agent.pk)], "conversation.assigned_to_you",
                                    {"id": conversation.pk, "contact_name": str(conversation.contact)})


_UNSET = object()


@transaction.atomic
def assign(*, conversation: Conversation, agent, actor=None, expected_assignee_id: Any = _UNSET) -> Conversation:
    """Assign (or unassign with ``agent=None``). With ``expected_assignee_id`` the change only
    happens if nobody changed the assignee meanwhile, so two agents claiming the same
    conversation at once end with one clear owner and a clear error for the other."""
    if agent is not None and not agent.is_superuser and not conversation.inbox.members.filter(pk=agent.pk).exists():
        raise ServiceError(f"{agent.get_username()} is not a member of {conversation.inbox.name}.")
    updates: dict[str, Any] = {"assignee": agent}
    rows = Conversation.objects.filter(pk=conversation.pk)
    if expected_assignee_id is not _UNSET:
        rows = rows.filter(assignee_id=expected_assignee_id)
    if agent is not None:
        rows_bot_pending = rows.filter(status__in=[Status.PENDING, Status.BOT])
        changed = rows_bot_pending.update(assignee=agent, status=Status.OPEN) or rows.update(**updates)
    else:
        changed = rows.update(**updates)
    conversation = Conversation.objects.select_related("inbox", "contact", "assignee").get(pk=conversation.pk)
    if not changed:
        raise AssignmentConflict(conversation.assignee)
    _broadcast_conversation(conversation)
    if agent is not None:
        if actor is None or actor.pk != agent.pk:
            events.send_event_on_commit([events.agent_group(agent.pk)], "conversation.assigned_to_you",
                                        {"id": conversation.pk, "contact_name": str(conversation.contact)})
        add_system_message(conversation=conversation, text=f"{_display(agent)} joined the conversation",
                           metadata={"event": "agent_joined", "agent_name": _display(agent)})
    return conversation


@transaction.atomic
def hand_off(*, conversation: Conversation, reason: str, detail: str = "") -> Conversation:
    """Move a conversation from the bot to the agents' queue, recording why."""
    conversation = Conversation.objects.select_for_update(of=("self",)).select_related("inbox", "contact").get(pk=conversation.pk)
    if conversation.status not in (Status.BOT, Status.RESOLVED, Status.SNOOZED):
        return conversation
    conversation.status = Status.OPEN if conversation.assignee_id else Status.PENDING
    conversation.handoff_reason = reason
    conversation.handoff_detail = detail[:255]
    conversation.save(update_fields=["status", "handoff_reason", "handoff_detail"])
    label = Conversation.HandoffReason(reason).label if reason in Conversation.HandoffReason.values else reason
    add_system_message(conversation=conversation, text=f"Handed off to agents: {label}" + (f" ({detail})" if detail else ""),
                       metadata={"event": "handoff", "reason": reason}, private=True)
    _broadcast_conversation(conversation)
    _route_to_agents(conversation)
    return conversation


@transaction.atomic
def set_status(*, conversation: Conversation, status: str, actor=None, snoozed_until: dt.datetime | None = None) -> Conversation:
    conversation = Conversation.objects.select_for_update(of=("self",)).select_related("inbox", "contact", "assignee").get(pk=conversation.pk)
    now = timezone.now()
    if status == Status.SNOOZED:
        if snoozed_until is None or snoozed_until <= now:
            raise ServiceError("Snooze needs a time in the future.")
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
        who = _display(actor) if actor else "System"
        add_system_message(conversation=conversation, text=f"{who} set the conversation to {conversation.get_status_display().lower()}",
                           metadata={"event": "status", "status": status}, private=True)
    _broadcast_conversation(conversation)
    if status == Status.RESOLVED and previous != Status.RESOLVED:
        transaction.on_commit(lambda: _after_resolve(conversation.pk))
    return conversation


def _after_resolve(conversation_id: int) -> None:
    """Other apps (satisfaction surveys) react to a resolution through this hook setting."""
    for path in getattr(settings, "ON_CONVERSATION_RESOLVED", []):
        from django.utils.module_loading import import_string

        try:
            import_string(path)(conversation_id)
        except Exception:
            logger.exception("resolution hook %s failed", path)


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
        raise ServiceError(f"{contact} has no {inbox.get_channel_kind_display()} address.")
    now = timezone.now()
    conversation = Conversation.objects.create(inbox=inbox, contact=contact, status=Status.RESOLVED,
                                               created_at=now, last_activity_at=now, resolved_at=now)
    conversation = Conversation.objects.select_related("inbox", "contact", "assignee").get(pk=conversation.pk)
    _broadcast_conversation(conversation, event="conversation.created")
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
    _broadcast_conversation(conversation)
    return conversation


@transaction.atomic
def set_priority(*, conversation: Conversation, priority: int) -> Conversation:
    if priority not in Conversation.Priority.values:
        raise ServiceError("Unknown priority.")
    Conversation.objects.filter(pk=conversation.pk).update(priority=priority)
    conversation.refresh_from_db()
    _broadcast_conversation(conversation)
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
    if conversation.inbox.channel_kind in (ChannelKind.MESSENGER, ChannelKind.WHATSAPP) and unseen.exists():
        # Tell the customer's app the business saw the message (blue ticks / "Seen").
        from .tasks import send_channel_action

        transaction.on_commit(lambda: send_channel_action(conversation.pk, "mark_seen"))


def typing(*, conversation: Conversation, who: str, is_typing: bool, name: str = "", user_id: int | None = None) -> None:
    """Typing indicators are not stored; they are only broadcast. ``who`` is agent or contact;
    ``user_id`` lets an agent's own tabs ignore their own typing."""
    payload = {"conversation_id": conversation.pk, "who": who, "name": name, "typing": bool(is_typing),
               "user_id": user_id}
    if who == "agent":
        events.send_event([events.conversation_group(conversation.pk), events.inbox_group(conversation.inbox_id)],
                          "typing", payload)
        if is_typing and conversation.inbox.channel_kind == ChannelKind.MESSENGER:
            from .tasks import send_channel_action

            send_channel_action(conversation.pk, "typing_on")
    else:
        events.send_event([events.inbox_group(conversation.inbox_id)], "typing", payload)


# --- outgoing messages ----------------------------------------------------------------------------


def _window_hours(inbox: Inbox) -> int | None:
    """Messenger's HUMAN_AGENT tag, when enabled for the inbox, stretches the window to 7 days."""
    from channels_adapters.registry import adapter_class_for

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


def add_system_message(*, conversation: Conversation, text: str, metadata: dict | None = None,
                       private: bool = False) -> Message:
    message = Message.objects.create(
        conversation=conversation, inbox_id=conversation.inbox_id, direction=Message.Direction.OUTGOING,
        sender_kind=Message.SenderKind.SYSTEM, text=text, is_private_note=private, metadata=metadata or {},
    )
    message = Message.objects.select_related("conversation", "inbox", "author").get(pk=message.pk)
    _broadcast_message(message)
    return message


@transaction.atomic
def add_note(*, conversation: Conversation, author, text: str) -> Message:
    if not text.strip():
        raise ServiceError("A note cannot be empty.")
    message = Message.objects.create(
        conversation=conversation, inbox_id=conversation.inbox_id, direction=Message.Direction.OUTGOING,
        sender_kind=Message.SenderKind.AGENT, author=author, text=text, is_private_note=True,
    )
    message = Message.objects.select_related("conversation", "inbox", "author").get(pk=message.pk)
    _broadcast_message(message)
    return message


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
        raise ServiceError("A reply needs text, an attachment or a template.")
    conversation = Conversation.objects.select_for_update(of=("self",)).select_related("inbox", "contact", "assignee").get(pk=conversation.pk)
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
            raise ServiceError(f"{filename} is larger than {settings.MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB.")
        attachment = Attachment(message=message, filename=filename[:255], content_type=content_type[:100],
                                size=len(data), kind=_kind_for(content_type))
        attachment.file.save(filename or "file", ContentFile(data), save=False)
        attachment.save()

    fields = ["last_activity_at", "last_message_preview"]
    conversation.last_activity_at = now
    conversation.last_message_preview = _preview(text) or "📎 attachment"
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

    message = Message.objects.select_related("conversation", "inbox", "author").get(pk=message.pk)
    _broadcast_message(message)
    _broadcast_conversation(conversation)
    from .tasks import deliver_message

    transaction.on_commit(lambda: deliver_message(message.pk))
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
        raise ServiceError("Only a failed message can be sent again.")
    _broadcast_message(message, event="message.updated")
    from .tasks import deliver_message

    transaction.on_commit(lambda: deliver_message(message.pk))
    return message


def claim_for_sending(*, message_id: int) -> Message | None:
    """Mark a queued message as being sent (one worker wins). The state is stored before the
    network call, so a re-run after a crash can tell that a send may have happened."""
    rows = Message.objects.filter(pk=message_id, delivery_state=Message.Delivery.QUEUED).update(
        delivery_state=Message.Delivery.SENDING, send_attempts=F("send_attempts") + 1, next_attempt_at=None,
        claimed_at=timezone.now(),
    )
    if not rows:
        return None
    return Message.objects.select_related("conversation__contact", "conversation__inbox", "inbox", "author").get(pk=message_id)


def requeue_uncertain_send(*, message: Message, now: dt.datetime) -> bool:
    """Queue again a send whose worker stopped mid-call. Only for channels where a resend is
    harmless (e-mail reuses its Message-ID, the widget dedupes by id); the caller decides."""
    return bool(Message.objects.filter(pk=message.pk, delivery_state=Message.Delivery.SENDING).update(
        delivery_state=Message.Delivery.QUEUED, next_attempt_at=now))


@transaction.atomic
def record_send_success(*, message: Message, provider_message_id: str) -> Message:
    Message.objects.filter(pk=message.pk).update(provider_message_id=provider_message_id or None, sent_at=timezone.now())
    Message.objects.filter(pk=message.pk, delivery_state__in=["queued", "sending"]).update(delivery_state="sent")
    message = Message.objects.select_related("conversation", "inbox", "author").get(pk=message.pk)
    _broadcast_message(message, event="message.updated")
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
    message = Message.objects.select_related("conversation", "inbox", "author").get(pk=message.pk)
    _broadcast_message(message, event="message.updated")
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
            created_at__lte=update.watermark,
        )
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
        _broadcast_message(message, event="message.updated")
    return len(targets)


# --- agent presence -------------------------------------------------------------------------------


def agent_connected(*, user, channel_name: str) -> None:
    AgentConnection.objects.update_or_create(channel_name=channel_name, defaults={
        "user": user, "presence": AgentConnection.Presence.ONLINE, "last_seen": timezone.now()})
    _broadcast_presence(user)


def agent_heartbeat(*, user, channel_name: str, presence: str | None = None) -> None:
    fields: dict[str, Any] = {"last_seen": timezone.now()}
    if presence in AgentConnection.Presence.values:
        fields["presence"] = presence
    updated = AgentConnection.objects.filter(channel_name=channel_name, user=user).update(**fields)
    if not updated:
        agent_connected(user=user, channel_name=channel_name)
    elif presence:
        _broadcast_presence(user)


def agent_disconnected(*, user, channel_name: str) -> None:
    AgentConnection.objects.filter(channel_name=channel_name).delete()
    _broadcast_presence(user)


def agent_presence(*, user) -> str:
    cutoff = timezone.now() - PRESENCE_TIMEOUT
    states = set(AgentConnection.objects.filter(user=user, last_seen__gte=cutoff).values_list("presence", flat=True))
    if "online" in states:
        return "online"
    return "away" if states else "offline"


def _broadcast_presence(user) -> None:
    payload = {"user_id": user.pk, "presence": agent_presence(user=user), "name": _display(user)}
    groups = [events.inbox_group(pk) for pk in user.inboxes.values_list("pk", flat=True)]
    events.send_event_on_commit(groups, "agent.presence", payload)


# --- inbox bookkeeping ----------------------------------------------------------------------------


@transaction.atomic
def inbox_record_channel_state(*, inbox: Inbox, state: dict[str, Any] | None = None, error: str | None = None) -> Inbox:
    """Save an adapter's bookkeeping (e.g. IMAP UIDs) and its last error, shown in the admin.
    ``error=""`` clears the error."""
    inbox = Inbox.objects.select_for_update().get(pk=inbox.pk)
    fields = []
    if state is not None:
        inbox.channel_state = state
        fields.append("channel_state")
    if error is not None:
        inbox.last_error = error[:2000]
        inbox.last_error_at = timezone.now() if error else None
        fields += ["last_error", "last_error_at"]
    if fields:
        inbox.save(update_fields=fields)
    return inbox


@transaction.atomic
def message_record_email_copy(*, message: Message, address: str, provider_message_id: str = "", error: str = "") -> Message:
    """Note on a web-chat reply that a copy went (or failed to go) to the customer by e-mail."""
    message = Message.objects.select_for_update().get(pk=message.pk)
    message.metadata = {**message.metadata, "email_copy": {
        "to": address, "message_id": provider_message_id, "error": error, "at": timezone.now().isoformat()}}
    message.save(update_fields=["metadata"])
    message = Message.objects.select_related("conversation", "inbox", "author").get(pk=message.pk)
    _broadcast_message(message, event="message.updated")
    return message
