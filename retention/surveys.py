"""Satisfaction surveys: the resolution hook, signed e-mail links, and the customer's answers
arriving as quick-reply payloads (``survey:<token>:<rating>``) or as a follow-up comment.

Wiring (see docs/retention.md): ``CONVERSATION_RESOLVED_HANDLERS`` names
``on_conversation_resolved``; ``INBOUND_MESSAGE_HANDLERS`` names ``handle_inbound``, before the
bot, so a message it handles (returns True) gets no bot answer.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from inbox.locale import translations
from inbox.models import Message

from . import services
from .models import Survey

logger = logging.getLogger(__name__)


def on_conversation_resolved(conversation) -> bool:
    """A ``CONVERSATION_RESOLVED_HANDLERS`` entry: schedule the survey, and send it now if it
    is due. Never stops the handlers after it."""
    survey = services.survey_schedule(conversation=conversation)
    if survey is not None and survey.status == Survey.Status.SCHEDULED and survey.scheduled_for <= timezone.now():
        services.survey_send(survey=survey)
    return False


def send_due_surveys(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Send every scheduled survey whose time came; returns how many were sent."""
    now = now or timezone.now()
    sent = 0
    for survey in Survey.objects.filter(status=Survey.Status.SCHEDULED, scheduled_for__lte=now).order_by(
            "scheduled_for")[:limit]:
        try:
            if services.survey_send(survey=survey, now=now).status == Survey.Status.SENT:
                sent += 1
        except Exception:
            logger.exception("survey %s could not be sent", survey.pk)
    return sent


def parse_payload(payload: str) -> tuple[str, int] | None:
    """``survey:<token>:<n>`` → (token, n); None for anything else."""
    if not payload.startswith(services.SURVEY_PAYLOAD_PREFIX):
        return None
    token, _, rating = payload[len(services.SURVEY_PAYLOAD_PREFIX):].rpartition(":")
    if not token or not rating.isdigit():
        return None
    return token, int(rating)


#: Sent after a chat rating; translated by the catalogs.
THANKS = gettext_noop("Thank you! If you want to tell us more, just write it here (optional).")


def handle_payload(message: Message) -> bool:
    """Record a survey answer carried by a quick-reply payload. True when the message was a
    survey answer (the bot should then leave it alone), even if it could not be recorded
    (a payload naming another contact's survey, or a bad rating, is logged and ignored)."""
    payload = (message.metadata or {}).get("quick_reply_payload", "")
    if not payload.startswith(services.SURVEY_PAYLOAD_PREFIX):
        return False
    parsed = parse_payload(payload)
    survey = Survey.objects.filter(token=parsed[0]).first() if parsed else None
    if survey is None or survey.contact_id != message.conversation.contact_id:
        logger.warning("ignored survey payload %r on message %s", payload, message.pk)
        return True
    try:
        with transaction.atomic():
            services.survey_answer(survey=survey, rating=parsed[1], source="quick_reply")
    except services.RetentionError as exc:
        logger.warning("survey payload %r not recorded: %s", payload, exc)
        return True
    texts = translations(THANKS)
    services.send_quietly(message.conversation, texts[services.pick_language(survey.contact, texts)])
    return True


def handle_comment(message: Message) -> bool:
    """The customer's next text after rating on a chat channel is the survey's comment."""
    if message.direction != Message.Direction.INCOMING or not (message.text or "").strip():
        return False
    if (message.metadata or {}).get("quick_reply_payload"):
        return False
    survey = (Survey.objects.filter(contact_id=message.conversation.contact_id,
                                    awaiting_comment_until__gt=message.created_at)
              .order_by("-answered_at").first())
    if survey is None:
        return False
    services.survey_add_comment(survey=survey, comment=message.text)
    return True


def handle_inbound(message: Message) -> bool:
    """Everything the retention app does with a new customer message: a survey answer, an
    opt-out word, or the comment after a rating. True when it consumed the message."""
    if message.direction != Message.Direction.INCOMING:
        return False
    return handle_payload(message) or services.opt_out_from_message(message) or handle_comment(message)
