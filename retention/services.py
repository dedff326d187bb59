"""The one write path of the retention app: surveys, orders, follow-up sends, opt-outs.

Everything that reaches a customer goes through ``inbox.services.send_reply`` (as the bot, marked
automated). Contacts are created and changed only through ``inbox.services``. Each function
runs in a transaction; opt-out is checked with the contact row locked, inside the transaction
that records a send, so an opt-out racing a send wins (see docs/retention.md).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import unicodedata
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from inbox import services as inbox_services
from inbox.models import ChannelKind, Contact, Conversation, Inbox, Message

from .models import DEFAULT_QUESTIONS, FollowUpRule, FollowUpSend, InboxRetentionSettings, Order, Survey

logger = logging.getLogger(__name__)

SURVEY_PAYLOAD_PREFIX = "survey:"
COMMENT_WINDOW = dt.timedelta(hours=24)
#: Words that mean "stop writing to me", compared after lower-casing and removing accents.
OPT_OUT_WORDS = frozenset({
    "stop", "stop all", "unsubscribe", "cancel", "end", "quit", "opt out", "optout",
    "parar", "pare", "sair", "cancelar", "descadastrar",  # pt
    "basta", "baja", "darme de baja", "detener", "alto",  # es
})


class RetentionError(inbox_services.ServiceError):
    """A refused retention operation, with a message fit to show to whoever asked."""


# --- pure helpers ---------------------------------------------------------------------------------


def _zone(name: str) -> dt.tzinfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return dt.timezone.utc


def next_send_time(when: dt.datetime, *, tz_name: str, quiet_start: dt.time, quiet_end: dt.time) -> dt.datetime:
    """``when`` itself, or the end of the quiet hours if ``when`` falls inside them (local time
    of ``tz_name``). Quiet hours may span midnight (21:00-08:00); equal bounds mean none."""
    if quiet_start == quiet_end:
        return when
    zone = _zone(tz_name)
    local = when.astimezone(zone)
    t = local.time().replace(tzinfo=None)
    if quiet_start > quiet_end:  # spans midnight
        if t >= quiet_start:
            morning = local.date() + dt.timedelta(days=1)
        elif t < quiet_end:
            morning = local.date()
        else:
            return when
    elif quiet_start <= t < quiet_end:
        morning = local.date()
    else:
        return when
    return dt.datetime.combine(morning, quiet_end, tzinfo=zone).astimezone(dt.timezone.utc)


def is_opt_out_text(text: str) -> bool:
    """True for a message that is only an opt-out word ("STOP", "Parar.", "basta!")."""
    folded = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode().lower()
    folded = re.sub(r"[^a-z ]+", " ", folded)
    return " ".join(folded.split()) in OPT_OUT_WORDS


def settings_for(inbox: Inbox) -> InboxRetentionSettings:
    """The inbox's retention settings; an unsaved default row when it has none."""
    found = InboxRetentionSettings.objects.filter(inbox=inbox).first()
    return found or InboxRetentionSettings(inbox=inbox)


def pick_language(contact: Contact, texts: dict[str, str]) -> str:
    """The contact's language if there is a text for it, else English, else any."""
    locale = (contact.locale or "").lower().replace("_", "-")
    for candidate in (locale, locale.split("-")[0], "en"):
        if candidate and texts.get(candidate):
            return candidate
    return next((lang for lang, text in texts.items() if text), "en")


def _last_customer_message(conversation: Conversation) -> Message | None:
    return (Message.objects.filter(conversation=conversation, direction=Message.Direction.INCOMING)
            .order_by("-created_at", "-pk").first())


# --- opt-out --------------------------------------------------------------------------------------


@transaction.atomic
def contact_opt_out(*, contact: Contact, reason: str = "") -> Contact:
    """Stop every automatic message (surveys, follow-ups) to the contact. Locks the contact
    row, so a follow-up being recorded at the same moment sees the opt-out or finishes first."""
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    if not contact.opted_out:
        attributes = {**contact.attributes, "opted_out_at": timezone.now().isoformat(),
                      "opted_out_reason": reason[:200]}
        contact = inbox_services.contact_update(contact=contact, opted_out=True, attributes=attributes)
        Survey.objects.filter(contact=contact, status=Survey.Status.SCHEDULED).update(
            status=Survey.Status.SKIPPED, skip_reason="opted out")
        FollowUpSend.objects.filter(contact=contact, status=FollowUpSend.Status.DEFERRED).update(
            status=FollowUpSend.Status.SKIPPED, reason="opted out")
    return contact


def opt_out_from_message(message: Message) -> bool:
    """If an incoming message is an opt-out word, opt its contact out and confirm once.
    For ``inbox.services.receive_inbound`` (or the bot) to call on every customer message."""
    if message.direction != Message.Direction.INCOMING or not is_opt_out_text(message.text):
        return False
    conversation = message.conversation
    contact = Contact.objects.get(pk=conversation.contact_id)
    already = contact.opted_out
    contact_opt_out(contact=contact, reason=f"replied {message.text.strip()[:40]!r}")
    if not already:
        texts = {"en": "You will not receive automatic messages from us any more.",
                 "pt": "Você não receberá mais mensagens automáticas nossas.",
                 "es": "Ya no recibirás mensajes automáticos nuestros."}
        _send_quietly(conversation, texts[pick_language(contact, texts)])
    return True


def _send_quietly(conversation: Conversation, text: str) -> Message | None:
    """A short bot confirmation in reply to the customer (their message just opened any
    window); failures are logged, never raised at the customer's message."""
    try:
        with transaction.atomic():
            return inbox_services.send_reply(conversation=conversation, text=text, sender_kind=Message.SenderKind.BOT,
                                             automated=True, metadata={"retention": "confirmation"})
    except inbox_services.ServiceError:
        logger.warning("could not confirm to conversation %s", conversation.pk, exc_info=True)
        return None


# --- sending automatic messages -------------------------------------------------------------------


def _deliver(conversation: Conversation, *, text: str, quick_replies=(), template: dict | None = None,
             metadata: dict | None = None, now: dt.datetime) -> tuple[Message | None, str]:
    """Send an automatic message, honouring the channel's window: (message, "") or
    (None, why it was not sent). ``metadata["retention"]`` marks it, so reports can tell the
    bot's answers from surveys and follow-ups (both are sent as the bot)."""
    window = inbox_services.service_window(conversation, now=now)
    use_template = None
    if window["applies"] and not window["open"]:
        if conversation.inbox.channel_kind == ChannelKind.WHATSAPP and template and template.get("name"):
            use_template = {"name": template["name"], "language": template.get("language") or "en",
                            "parameters": list(template.get("parameters") or [])}
        else:
            return None, "outside the 24-hour window and no template"
    message = inbox_services.send_reply(
        conversation=conversation, text=text if use_template is None else (text or use_template["name"]),
        sender_kind=Message.SenderKind.BOT, quick_replies=[] if use_template else list(quick_replies),
        template=use_template, automated=True, metadata={"retention": "automatic", **(metadata or {})},
    )
    return message, ""


# --- surveys --------------------------------------------------------------------------------------


@transaction.atomic
def survey_schedule(*, conversation: Conversation, now: dt.datetime | None = None) -> Survey | None:
    """Create the survey of a resolved conversation (at most one, ever), due after the inbox's
    delay and outside quiet hours. None when the inbox has surveys off."""
    now = now or timezone.now()
    conversation = Conversation.objects.select_related("inbox", "contact").get(pk=conversation.pk)
    if conversation.status != Conversation.Status.RESOLVED:
        return None
    config = settings_for(conversation.inbox)
    if not config.survey_enabled:
        return None
    existing = Survey.objects.filter(conversation=conversation).first()
    if existing:
        return existing
    resolved_at = conversation.resolved_at or now
    due = next_send_time(resolved_at + dt.timedelta(minutes=config.survey_delay_minutes),
                         tz_name=conversation.inbox.timezone, quiet_start=config.quiet_start,
                         quiet_end=config.quiet_end)
    survey = Survey(conversation=conversation, inbox=conversation.inbox, contact=conversation.contact,
                    agent_id=conversation.assignee_id, channel_kind=conversation.inbox.channel_kind,
                    language=pick_language(conversation.contact, config.survey_questions or {}),
                    scheduled_for=due, created_at=now)
    skip = _survey_skip_reason(conversation)
    if skip:
        survey.status, survey.skip_reason = Survey.Status.SKIPPED, skip
    try:
        with transaction.atomic():
            survey.save()
    except IntegrityError:
        # The resolution hook ran twice at once; the first one's survey stands.
        return Survey.objects.get(conversation=conversation)
    return survey


def _survey_skip_reason(conversation: Conversation) -> str:
    if conversation.contact.opted_out:
        return "opted out"
    last = _last_customer_message(conversation)
    if last is None:
        return "the customer never wrote"
    if last.metadata.get("automated"):
        return "the customer's last message was automated"
    return ""


def survey_link(survey: Survey) -> str:
    from .surveys import sign_token

    return settings.PUBLIC_BASE_URL + reverse("retention:survey-link", args=[sign_token(survey)])


def _survey_text(survey: Survey, config: InboxRetentionSettings) -> str:
    questions = config.survey_questions or {}
    question = questions.get(survey.language) or questions.get("en") or DEFAULT_QUESTIONS["en"]
    if survey.channel_kind == ChannelKind.EMAIL:
        link = survey_link(survey)
        lines = [question, ""] + [f"{'★' * n}{'☆' * (5 - n)}  {link}?r={n}" for n in range(5, 0, -1)]
        return "\n".join(lines + ["", "Reply STOP to receive no more automatic messages."])
    return question


@transaction.atomic
def survey_send(*, survey: Survey, now: dt.datetime | None = None) -> Survey:
    """Send a due survey on its conversation's channel, unless the contact opted out
    meanwhile or it is night in the inbox's timezone (then it waits for the morning)."""
    now = now or timezone.now()
    survey = Survey.objects.select_for_update().select_related("conversation__inbox", "inbox").get(pk=survey.pk)
    if survey.status != Survey.Status.SCHEDULED or survey.scheduled_for > now:
        return survey
    contact = Contact.objects.select_for_update().get(pk=survey.contact_id)
    conversation = survey.conversation
    conversation.contact = contact
    config = settings_for(survey.inbox)
    skip = _survey_skip_reason(conversation)
    if skip:
        return _survey_skip(survey, skip)
    morning = next_send_time(now, tz_name=survey.inbox.timezone, quiet_start=config.quiet_start,
                             quiet_end=config.quiet_end)
    if morning > now:
        survey.scheduled_for = morning
        survey.save(update_fields=["scheduled_for"])
        return survey
    quick = []
    if survey.channel_kind != ChannelKind.EMAIL:
        quick = [{"title": f"⭐{n}", "payload": f"{SURVEY_PAYLOAD_PREFIX}{survey.token}:{n}"} for n in range(1, 6)]
    template = None
    if config.survey_template:
        template = {**config.survey_template, "parameters": [contact.first_name or ""]}
    message, why_not = _deliver(conversation, text=_survey_text(survey, config), quick_replies=quick,
                                template=template, metadata={"survey_id": survey.pk}, now=now)
    if message is None:
        return _survey_skip(survey, why_not)
    survey.status, survey.sent_at, survey.message = Survey.Status.SENT, now, message
    survey.save(update_fields=["status", "sent_at", "message"])
    return survey


def _survey_skip(survey: Survey, reason: str) -> Survey:
    survey.status, survey.skip_reason = Survey.Status.SKIPPED, reason[:100]
    survey.save(update_fields=["status", "skip_reason"])
    return survey


@transaction.atomic
def survey_answer(*, survey: Survey, rating: int, comment: str | None = None, source: str,
                  now: dt.datetime | None = None) -> Survey:
    """Record (or replace) the answer. Late answers count; a skipped survey cannot be answered
    (nothing was asked). ``comment=None`` keeps the comment already given."""
    now = now or timezone.now()
    try:
        rating = int(rating)
    except (TypeError, ValueError):
        raise RetentionError("The rating must be a whole number from 1 to 5.") from None
    if not 1 <= rating <= 5:
        raise RetentionError("The rating must be a whole number from 1 to 5.")
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    if survey.status not in (Survey.Status.SENT, Survey.Status.ANSWERED):
        raise RetentionError("This survey was not sent, so it cannot be answered.")
    survey.rating, survey.status, survey.answered_at, survey.answer_source = rating, Survey.Status.ANSWERED, now, source
    if comment is not None:
        survey.comment = comment.strip()[:2000]
    survey.awaiting_comment_until = now + COMMENT_WINDOW if source == "quick_reply" else None
    survey.save()
    inbox_services.add_system_message(
        conversation=survey.conversation, private=True,
        text=f"Customer rated the conversation {rating}/5" + (f": {survey.comment}" if survey.comment else ""),
        metadata={"event": "survey_answer", "survey_id": survey.pk, "rating": rating},
    )
    return survey


@transaction.atomic
def survey_add_comment(*, survey: Survey, comment: str) -> Survey:
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    survey.comment, survey.awaiting_comment_until = comment.strip()[:2000], None
    survey.save(update_fields=["comment", "awaiting_comment_until"])
    inbox_services.add_system_message(
        conversation=survey.conversation, private=True, text=f"Survey comment: {survey.comment}",
        metadata={"event": "survey_comment", "survey_id": survey.pk},
    )
    return survey


# --- customers and orders -------------------------------------------------------------------------


def find_contact(*, email: str = "", phone: str = "") -> Contact | None:
    """The contact with this e-mail (first), else this phone: on the contact or as an identity."""
    email = inbox_services.normalize_email(email)
    phone = inbox_services.normalize_phone(phone)
    if email:
        found = (Contact.objects.filter(email__iexact=email).order_by("pk").first()
                 or Contact.objects.filter(identities__channel_kind=ChannelKind.EMAIL,
                                           identities__address__iexact=email).order_by("pk").first())
        if found:
            return found
    if phone:
        digits = phone.lstrip("+")
        return (Contact.objects.filter(phone=phone).order_by("pk").first()
                or Contact.objects.filter(identities__channel_kind=ChannelKind.WHATSAPP,
                                          identities__address__in=[digits, phone]).order_by("pk").first())
    return None


@transaction.atomic
def customer_upsert(*, email: str = "", phone: str = "", name: str = "", locale: str = "") -> tuple[Contact, bool]:
    """Find the shop's customer among the contacts by e-mail or phone, or create one with an
    e-mail identity (or, with only a phone, a WhatsApp identity), so the customer's first
    message on that channel lands on the same contact. Returns (contact, created)."""
    email = inbox_services.normalize_email(email)
    phone_normalized = inbox_services.normalize_phone(phone)
    if not email and not phone_normalized:
        raise RetentionError("A customer needs an e-mail address or a phone number.")
    contact = find_contact(email=email, phone=phone_normalized)
    created = contact is None
    if created:
        if email:
            contact = inbox_services.contact_for_identity(channel_kind=ChannelKind.EMAIL, address=email, name=name,
                                                          email=email, phone=phone_normalized, locale=locale)
        else:
            contact = inbox_services.contact_for_identity(
                channel_kind=ChannelKind.WHATSAPP, address=phone_normalized.lstrip("+"), name=name,
                phone=phone_normalized, locale=locale)
    changes: dict[str, Any] = {}
    for field, value in (("name", name), ("email", email), ("phone", phone_normalized), ("locale", locale)):
        if value and not getattr(contact, field):
            changes[field] = value
    if changes:
        contact = inbox_services.contact_update(contact=contact, **changes)
    return contact, created


ORDER_FIELDS = ("ordered_at", "status", "total", "currency", "items", "delivered_at")


@transaction.atomic
def order_upsert(*, external_id: str, contact: Contact, ordered_at: dt.datetime, total: Decimal,
                 currency: str, status: str = Order.Status.PAID, items: list | None = None,
                 delivered_at: dt.datetime | None = None) -> tuple[Order, bool]:
    """Create or update the order with this external id (the shop may send it many times).
    Returns (order, created)."""
    external_id = (external_id or "").strip()
    if not external_id:
        raise RetentionError("An order needs an external_id.")
    if total is None:
        raise RetentionError("An order needs a total.")
    total = Decimal(total)
    if total < 0:
        raise RetentionError("The total cannot be negative.")
    if status not in Order.Status.values:
        raise RetentionError(f"Unknown status {status!r}; use one of {', '.join(Order.Status.values)}.")
    currency = (currency or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise RetentionError("The currency must be a three-letter ISO code such as USD or BRL.")
    if status == Order.Status.DELIVERED and delivered_at is None:
        delivered_at = timezone.now()
    values = {"contact": contact, "ordered_at": ordered_at, "total": total, "currency": currency,
              "status": status, "items": items or [], "delivered_at": delivered_at}
    order = Order.objects.select_for_update().filter(external_id=external_id).first()
    if order is None:
        try:
            with transaction.atomic():
                return Order.objects.create(external_id=external_id, **values), True
        except IntegrityError:
            order = Order.objects.select_for_update().get(external_id=external_id)
    for field, value in values.items():
        setattr(order, field, value)
    order.save()
    return order, False


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
    kinds = rule.channel_preference or [ChannelKind.WHATSAPP, ChannelKind.EMAIL, ChannelKind.MESSENGER]
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


# --- settings -------------------------------------------------------------------------------------


@transaction.atomic
def inbox_settings_update(*, inbox: Inbox, **fields: Any) -> InboxRetentionSettings:
    allowed = {"survey_enabled", "survey_delay_minutes", "survey_questions", "survey_template",
               "quiet_start", "quiet_end"}
    unknown = set(fields) - allowed
    if unknown:
        raise RetentionError(f"Cannot change {', '.join(sorted(unknown))}.")
    config, _ = InboxRetentionSettings.objects.get_or_create(inbox=inbox)
    for field, value in fields.items():
        setattr(config, field, value)
    config.full_clean()
    config.save()
    return config


@transaction.atomic
def followup_rule_create(**fields: Any) -> FollowUpRule:
    if fields.get("trigger") not in FollowUpRule.Trigger.values:
        raise RetentionError("Unknown trigger.")
    rule = FollowUpRule(**fields)
    rule.full_clean()
    rule.save()
    return rule

