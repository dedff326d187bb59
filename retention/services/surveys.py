"""Satisfaction surveys: scheduling after a resolution, sending on the customer's channel,
recording ratings and comments."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from inbox import services as inbox_services
from inbox.locale import translated
from inbox.models import ChannelKind, Contact, Conversation

from ..models import DEFAULT_QUESTION, InboxRetentionSettings, Survey
from ..survey_tokens import sign_token
from .common import COMMENT_WINDOW, SURVEY_PAYLOAD_PREFIX, RetentionError, _deliver, _last_customer_message, next_send_time, pick_language, settings_for

logger = logging.getLogger(__name__)



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
    return settings.PUBLIC_BASE_URL + reverse("retention:survey-link", args=[sign_token(survey)])


def _survey_text(survey: Survey, config: InboxRetentionSettings) -> str:
    questions = config.survey_questions or {}
    question = questions.get(survey.language) or translated(DEFAULT_QUESTION, survey.language)
    if survey.channel_kind == ChannelKind.EMAIL:
        link = survey_link(survey)
        lines = [question, ""] + [f"{'★' * n}{'☆' * (5 - n)}  {link}?r={n}" for n in range(5, 0, -1)]
        return "\n".join(lines + ["", translated(gettext_noop("Reply STOP to receive no more automatic messages."),
                                                  survey.language)])
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
        raise RetentionError(_("The rating must be a whole number from 1 to 5.")) from None
    if not 1 <= rating <= 5:
        raise RetentionError(_("The rating must be a whole number from 1 to 5."))
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    if survey.status not in (Survey.Status.SENT, Survey.Status.ANSWERED):
        raise RetentionError(_("This survey was not sent, so it cannot be answered."))
    survey.rating, survey.status, survey.answered_at, survey.answer_source = rating, Survey.Status.ANSWERED, now, source
    if comment is not None:
        survey.comment = comment.strip()[:2000]
    survey.awaiting_comment_until = now + COMMENT_WINDOW if source == "quick_reply" else None
    survey.save()
    inbox_services.add_system_message(
        conversation=survey.conversation, private=True,
        code="survey_answer_comment" if survey.comment else "survey_answer",
        params={"rating": rating, "comment": survey.comment} if survey.comment else {"rating": rating},
        metadata={"event": "survey_answer", "survey_id": survey.pk, "rating": rating},
    )
    return survey


@transaction.atomic
def survey_add_comment(*, survey: Survey, comment: str) -> Survey:
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    survey.comment, survey.awaiting_comment_until = comment.strip()[:2000], None
    survey.save(update_fields=["comment", "awaiting_comment_until"])
    inbox_services.add_system_message(
        conversation=survey.conversation, private=True, code="survey_comment", params={"comment": survey.comment},
        metadata={"event": "survey_comment", "survey_id": survey.pk},
    )
    return survey
