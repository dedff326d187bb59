"""Follow-up sends: rendering a rule's text and sending it once per trigger."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from inbox import services as inbox_services
from inbox.models import ChannelKind, Contact, Conversation, Inbox

from ..models import FollowUpRule, FollowUpSend
from .common import _deliver, next_send_time, pick_language, settings_for

logger = logging.getLogger(__name__)



# --- follow-ups -----------------------------------------------------------------------------------


def _render(text: str, *, contact: Contact, context: dict[str, Any]) -> str:
    values = {"first_name": contact.first_name or "", "name": contact.name or "", **context}
    try:
        return text.format(**values)
    except (KeyError, IndexError, ValueError):
        return text  # a typo in a placeholder must not stop the send; the text goes as written


def followup_text(rule: FollowUpRule, contact: Contact, context: dict[str, Any]) -> str:
    messages = rule.messages or {}
    return _render(messages.get(pick_language(contact, messages), ""), contact=contact, context=context)


def followup_conversation(rule: FollowUpRule, contact: Contact, context: dict[str, Any]) -> Conversation | None:
    """Where to send: the resolved conversation itself, else the contact's latest conversation
    on the first preferred channel that has one (any channel when no preference is set)."""
    if context.get("conversation_id"):
        return Conversation.objects.select_related("inbox").filter(pk=context["conversation_id"]).first()
    conversations = (Conversation.objects.select_related("inbox").filter(contact=contact, inbox__enabled=True)
                     .order_by("-last_activity_at", "-pk"))
    for kind in rule.channel_preference or [None]:
        found = (conversations.filter(inbox__channel_kind=kind) if kind else conversations).first()
        if found:
            return found
    return None


def followup_new_conversation_inbox(rule: FollowUpRule, contact: Contact) -> Inbox | None:
    """For a customer who never talked to support (known from the shop's orders): the first
    enabled inbox, on a preferred channel, where the contact has an address."""
    kinds = rule.channel_preference or [ChannelKind.WHATSAPP, ChannelKind.EMAIL, ChannelKind.MESSENGER,
                                        ChannelKind.INSTAGRAM]
    known = set(contact.identities.values_list("channel_kind", flat=True))
    for kind in kinds:
        if kind in known:
            inbox = Inbox.objects.filter(channel_kind=kind, enabled=True).order_by("pk").first()
            if inbox is not None:
                return inbox
    return None


@transaction.atomic
def followup_send(*, rule: FollowUpRule, contact: Contact, trigger_key: str, due_at: dt.datetime,
                  context: dict[str, Any] | None = None, now: dt.datetime | None = None) -> FollowUpSend | None:
    """Record, then send, one follow-up. The row is created before the send and is unique per
    rule, contact and trigger, so a re-run or a second worker sends nothing twice; the opt-out is
    read with the contact row locked in this same transaction. A deferred row (quiet hours) is
    picked up again here once its morning comes. Returns None when someone else handled it."""
    now = now or timezone.now()
    context = dict(context or {})
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    record = FollowUpSend.objects.select_for_update().filter(rule=rule, contact=contact, trigger_key=trigger_key).first()
    if record is not None:
        if record.status != FollowUpSend.Status.DEFERRED or (record.send_after and record.send_after > now):
            return None
    else:
        try:
            with transaction.atomic():
                record = FollowUpSend.objects.create(rule=rule, contact=contact, trigger_key=trigger_key,
                                                     status=FollowUpSend.Status.DEFERRED, due_at=due_at,
                                                     created_at=now)
        except IntegrityError:
            return None
    if contact.opted_out:
        return _followup_finish(record, FollowUpSend.Status.SKIPPED, "opted out")
    if not rule.active:
        return _followup_finish(record, FollowUpSend.Status.SKIPPED, "rule switched off")
    conversation = followup_conversation(rule, contact, context)
    if conversation is None:
        inbox = followup_new_conversation_inbox(rule, contact)
        if inbox is None:
            return _followup_finish(record, FollowUpSend.Status.SKIPPED, "no address on a preferred channel")
        conversation = inbox_services.start_conversation(inbox=inbox, contact=contact)
    record.conversation = conversation
    config = settings_for(conversation.inbox)
    morning = next_send_time(now, tz_name=conversation.inbox.timezone, quiet_start=config.quiet_start,
                             quiet_end=config.quiet_end)
    if morning > now:
        record.send_after, record.reason = morning, "quiet hours"
        record.save(update_fields=["conversation", "send_after", "reason"])
        return record
    text = followup_text(rule, contact, context)
    template = {**rule.template, "parameters": [contact.first_name or ""]} if rule.template else None
    if not text.strip() and not template:
        return _followup_finish(record, FollowUpSend.Status.SKIPPED, "the rule has no text for this customer")
    message, why_not = _deliver(conversation, text=text, template=template,
                                metadata={"followup_rule_id": rule.pk, "followup_send_id": record.pk}, now=now)
    if message is None:
        return _followup_finish(record, FollowUpSend.Status.SKIPPED, why_not)
    record.message, record.text, record.sent_at = message, message.text, now
    return _followup_finish(record, FollowUpSend.Status.SENT, "")


def _followup_finish(record: FollowUpSend, status: str, reason: str) -> FollowUpSend:
    record.status, record.reason = status, reason[:200]
    record.save()
    logger.info("follow-up %s for contact %s (%s): %s %s", record.rule_id, record.contact_id, record.trigger_key,
                status, reason)
    return record
