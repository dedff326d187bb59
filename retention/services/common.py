"""Shared pieces of retention's write path: opt-out words and opt-outs, quiet hours, the
customer's language, and sending an automatic message through ``inbox.services``."""

from __future__ import annotations

import datetime as dt
import logging
import re
import unicodedata
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from inbox import services as inbox_services
from inbox.locale import translations
from inbox.models import ChannelKind, Contact, Conversation, Inbox, Message

from ..models import FollowUpSend, InboxRetentionSettings, Survey

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
        texts = translations(gettext_noop("You will not receive automatic messages from us any more."))
        send_quietly(conversation, texts[pick_language(contact, texts)])
    return True


def send_quietly(conversation: Conversation, text: str) -> Message | None:
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
