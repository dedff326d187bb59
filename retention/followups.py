"""Timed follow-ups: which contacts a rule is due for now, running them, and a dry-run preview.

A trigger occurrence has a key (``order:<id>``, ``conversation:<id>``, ``last-order:<id>``), so
each rule writes at most once per occurrence: a new order starts a new "no order for N days"
occurrence, a delivered order its own "after delivery" one. ``services.followup_send`` records
the send before sending (see docs/retention.md).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Iterator
from typing import Any

from django.db.models import Max, OuterRef, Q, Subquery
from django.utils import timezone

from inbox import services as inbox_services
from inbox.models import Contact, Conversation

from . import services
from .models import FollowUpRule, FollowUpSend, Order

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class DueFollowUp:
    rule: FollowUpRule
    contact: Contact
    trigger_key: str
    due_at: dt.datetime
    context: dict[str, Any]


def due_for_rule(rule: FollowUpRule, *, now: dt.datetime) -> Iterator[DueFollowUp]:
    """Trigger occurrences whose delay has passed (and not longer ago than ``max_age_days``)
    that have no send recorded yet, plus deferred sends whose morning came."""
    delay = dt.timedelta(hours=rule.delay_hours)
    newest, oldest = now - delay, now - delay - dt.timedelta(days=rule.max_age_days)
    done = set(FollowUpSend.objects.filter(rule=rule).exclude(status=FollowUpSend.Status.DEFERRED)
               .values_list("contact_id", "trigger_key"))
    waiting = set(FollowUpSend.objects.filter(rule=rule, status=FollowUpSend.Status.DEFERRED, send_after__gt=now)
                  .values_list("contact_id", "trigger_key"))
    skip = done | waiting

    if rule.trigger == FollowUpRule.Trigger.ORDER_DELIVERED:
        orders = (Order.objects.select_related("contact")
                  .filter(status=Order.Status.DELIVERED, delivered_at__lte=newest, delivered_at__gt=oldest)
                  .order_by("delivered_at"))
        for order in orders.iterator():
            key = f"order:{order.pk}"
            if (order.contact_id, key) not in skip:
                yield DueFollowUp(rule, order.contact, key, order.delivered_at + delay,
                                  {"order_id": order.external_id})
    elif rule.trigger == FollowUpRule.Trigger.CONVERSATION_RESOLVED:
        conversations = (Conversation.objects.select_related("contact")
                         .filter(status=Conversation.Status.RESOLVED, resolved_at__lte=newest, resolved_at__gt=oldest)
                         .order_by("resolved_at"))
        for conversation in conversations.iterator():
            key = f"conversation:{conversation.pk}"
            if (conversation.contact_id, key) not in skip:
                yield DueFollowUp(rule, conversation.contact, key, conversation.resolved_at + delay,
                                  {"conversation_id": conversation.pk})
    elif rule.trigger == FollowUpRule.Trigger.NO_ORDER_FOR:
        counted = Order.objects.filter(contact=OuterRef("pk"), status__in=Order.COUNTED).order_by("-ordered_at", "-pk")
        contacts = (Contact.objects.annotate(last_order_at=Max("orders__ordered_at",
                                                               filter=Q(orders__status__in=Order.COUNTED)),
                                             last_order_id=Subquery(counted.values("pk")[:1]),
                                             last_order_ref=Subquery(counted.values("external_id")[:1]))
                    .filter(last_order_at__lte=newest, last_order_at__gt=oldest).order_by("last_order_at"))
        for contact in contacts.iterator():
            key = f"last-order:{contact.last_order_id}"
            if (contact.pk, key) not in skip:
                yield DueFollowUp(rule, contact, key, contact.last_order_at + delay,
                                  {"order_id": contact.last_order_ref})


def run_due(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Run every active rule once; returns counts by outcome. Safe to run concurrently and
    repeatedly: the unique send record decides who sends."""
    now = now or timezone.now()
    counts: dict[str, int] = {}
    for rule in FollowUpRule.objects.filter(active=True).order_by("pk"):
        for due in list(due_for_rule(rule, now=now)):
            try:
                record = services.followup_send(rule=rule, contact=due.contact, trigger_key=due.trigger_key,
                                                due_at=due.due_at, context=due.context, now=now)
            except Exception:
                logger.exception("follow-up %s for contact %s failed", rule.pk, due.contact.pk)
                counts["error"] = counts.get("error", 0) + 1
                continue
            outcome = record.status if record else "already_handled"
            counts[outcome] = counts.get(outcome, 0) + 1
    return counts


@dataclasses.dataclass
class PreviewRow:
    rule: FollowUpRule
    contact: Contact
    trigger_key: str
    due_at: dt.datetime
    channel: str
    text: str
    outcome: str  # what would happen: send now, wait for the morning, or skip (and why)


def preview(*, now: dt.datetime | None = None, rule: FollowUpRule | None = None) -> list[PreviewRow]:
    """Dry run: who would receive what if the rules ran now. Writes nothing."""
    now = now or timezone.now()
    rules = [rule] if rule else list(FollowUpRule.objects.filter(active=True).order_by("pk"))
    rows = []
    for current in rules:
        for due in due_for_rule(current, now=now):
            contact = due.contact
            conversation = services.followup_conversation(current, contact, due.context)
            text = services.followup_text(current, contact, due.context)
            new_inbox = services.followup_new_conversation_inbox(current, contact) if conversation is None else None
            channel = conversation.inbox.channel_kind if conversation else (new_inbox.channel_kind if new_inbox else "")
            if contact.opted_out:
                outcome = "skip: opted out"
            elif conversation is None and new_inbox is None:
                outcome = "skip: no address on a preferred channel"
            elif conversation is None:
                template = current.template.get("name") if channel == "whatsapp" else ""
                outcome = (f"start a conversation on {new_inbox.name}"
                           + (f" with template {template}" if template else "")
                           + (" — skip: WhatsApp needs a template to start" if channel == "whatsapp" and not template else ""))
            else:
                config = services.settings_for(conversation.inbox)
                morning = services.next_send_time(now, tz_name=conversation.inbox.timezone,
                                                  quiet_start=config.quiet_start, quiet_end=config.quiet_end)
                window = inbox_services.service_window(conversation, now=now)
                if morning > now:
                    outcome = f"wait for the morning ({morning:%Y-%m-%d %H:%M} UTC)"
                elif window["applies"] and not window["open"]:
                    if channel == "whatsapp" and current.template.get("name"):
                        outcome = f"send template {current.template['name']}"
                    else:
                        outcome = "skip: outside the 24-hour window and no template"
                elif not text.strip():
                    outcome = "skip: the rule has no text for this customer"
                else:
                    outcome = "send"
            rows.append(PreviewRow(current, contact, due.trigger_key, due.due_at, channel, text, outcome))
    return rows
