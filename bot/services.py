"""Writes of the FAQ bot: canned answers and variants (each bumps the answer-set version in
the same transaction), settings, decision logs, feedback and unanswered questions.

Like ``inbox.services``: plain functions with keyword-only arguments, each in a transaction.
Counting the bot's misses on a conversation is ``inbox.services.conversation_bot_miss``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from bot.text import normalize
from inbox import queue

from .models import (
    LANGUAGE_CODES,
    AnswerSetVersion,
    BotDecisionLog,
    BotSettings,
    CannedAnswer,
    QuestionVariant,
    UnansweredQuestion,
    new_token,
)


class CurationError(Exception):
    """A refused curation change, with a message fit to show to the admin."""


# --- the answer-set version -------------------------------------------------------------------


def bump_answer_version(*, encode: bool = True) -> AnswerSetVersion:
    """Mark the answer set as changed. Call inside the transaction that changed it, so the new
    version becomes visible exactly when the change does. After the commit the worker encodes
    the new or edited texts (``bot.encode_vectors``; ``encode=False`` from that task itself)."""
    now = timezone.now()
    updated = AnswerSetVersion.objects.filter(pk=1).update(number=F("number") + 1, token=new_token(), changed_at=now)
    if not updated:
        version, created = AnswerSetVersion.objects.get_or_create(
            pk=1, defaults={"number": 1, "token": new_token(), "changed_at": now})
        if not created:
            AnswerSetVersion.objects.filter(pk=1).update(number=F("number") + 1, token=new_token(), changed_at=now)
    if encode and settings.BOT_ENCODER != "none":
        queue.enqueue("bot.encode_vectors")
    if not queue.is_immediate():  # inline, warming would only move the wait into the editor's request
        queue.enqueue("bot.warm_indexes")
    return AnswerSetVersion.objects.get(pk=1)


def current_answer_version() -> tuple[int, str]:
    row = AnswerSetVersion.objects.filter(pk=1).values_list("number", "token").first()
    return (row[0], row[1]) if row else (0, "")


# --- canned answers -------------------------------------------------------------------------------


def _clean_locale(locale: str) -> str:
    locale = (locale or "").strip().lower()[:2]
    if locale not in LANGUAGE_CODES:
        raise CurationError(_("Unknown language %(language)r: use one of %(languages)s.") % {
            "language": locale, "languages": ", ".join(LANGUAGE_CODES)})
    return locale


def _clean_variants(variants: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for text in variants:
        text = " ".join((text or "").split())[:500]
        if text and text.lower() not in seen:
            seen[text.lower()] = text
    return list(seen.values())


@transaction.atomic
def answer_create(*, title: str, text: str, locale: str = "pt", tags: str = "", active: bool = True,
                  variants: Sequence[str] = (), inboxes: Iterable[Any] = (),
                  kind: str = CannedAnswer.Kind.TEXT) -> CannedAnswer:
    title, text = (title or "").strip(), (text or "").strip()
    if not title:
        raise CurationError(_("An answer needs a title."))
    if not text:
        raise CurationError(_("An answer needs a text."))
    if kind not in CannedAnswer.Kind.values:
        raise CurationError(_("Unknown answer kind %(kind)r.") % {"kind": kind})
    answer = CannedAnswer.objects.create(title=title[:200], text=text, locale=_clean_locale(locale),
                                         tags=(tags or "").strip()[:255], active=active, kind=kind)
    QuestionVariant.objects.bulk_create(QuestionVariant(answer=answer, text=v) for v in _clean_variants(variants))
    if inboxes:
        answer.inboxes.set(inboxes)
    bump_answer_version()
    return answer


@transaction.atomic
def answer_update(*, answer: CannedAnswer, variants: Sequence[str] | None = None,
                  inboxes: Iterable[Any] | None = None, **fields: Any) -> CannedAnswer:
    """Change fields (title, text, locale, tags, active); ``variants`` replaces the variants.
    Two admins saving at once: the last write wins per row, and each bumps the version."""
    allowed = {"title", "text", "locale", "tags", "active", "kind"}
    if "kind" in fields and fields["kind"] not in CannedAnswer.Kind.values:
        raise CurationError(f"Unknown answer kind {fields['kind']!r}.")
    unknown = set(fields) - allowed
    if unknown:
        raise CurationError(_("Cannot change %(fields)s.") % {"fields": ", ".join(sorted(unknown))})
    if "locale" in fields:
        fields["locale"] = _clean_locale(fields["locale"])
    for key in ("title", "text"):
        if key in fields and not (fields[key] or "").strip():
            raise CurationError(_("An answer needs a %(field)s.") % {"field": key})
    for field, value in fields.items():
        setattr(answer, field, value.strip() if isinstance(value, str) else value)
    answer.save()
    if variants is not None:
        answer.variants.all().delete()
        QuestionVariant.objects.bulk_create(QuestionVariant(answer=answer, text=v) for v in _clean_variants(variants))
    if inboxes is not None:
        answer.inboxes.set(inboxes)
    bump_answer_version()
    return answer


@transaction.atomic
def answer_delete(*, answer: CannedAnswer) -> None:
    answer.delete()
    bump_answer_version()


@transaction.atomic
def variant_add(*, answer: CannedAnswer, texts: Sequence[str], locale: str = "") -> list[QuestionVariant]:
    """Add question variants, skipping ones the answer already has (case-insensitive)."""
    existing = {t.lower() for t in answer.variants.values_list("text", flat=True)}
    new = [t for t in _clean_variants(texts) if t.lower() not in existing]
    if locale:
        locale = _clean_locale(locale)
    created = QuestionVariant.objects.bulk_create(QuestionVariant(answer=answer, text=t, locale=locale) for t in new)
    bump_answer_version()
    return created


@transaction.atomic
def answer_used(*, answer_id: int) -> None:
    CannedAnswer.objects.filter(pk=answer_id).update(usage_count=F("usage_count") + 1)


# --- settings ---------------------------------------------------------------------------------


def settings_for(inbox) -> BotSettings:
    """The inbox's settings row, or unsaved defaults (reading never writes)."""
    found = BotSettings.objects.filter(inbox=inbox).first()
    return found or BotSettings(inbox=inbox)


@transaction.atomic
def settings_update(*, inbox, **fields: Any) -> BotSettings:
    settings_row, _ = BotSettings.objects.get_or_create(inbox=inbox)
    for field, value in fields.items():
        if not hasattr(settings_row, field) or field in ("id", "inbox", "inbox_id"):
            raise CurationError(_("Unknown bot setting %(field)s.") % {"field": field})
        setattr(settings_row, field, value)
    settings_row.full_clean()
    settings_row.save()
    return settings_row


# --- decisions, feedback, unanswered questions --------------------------------------------------


def decision_log(*, conversation, message, question: str, language: str, action: str, reason: str,
                 candidates: Sequence[dict[str, Any]] = (), answer_id: int | None = None, reply=None) -> BotDecisionLog:
    return BotDecisionLog.objects.create(
        conversation=conversation, message=message, question=question[:5000], language=language,
        action=action, reason=reason, candidates=list(candidates), answer_id=answer_id, reply=reply,
    )


def decision_log_set_reply(*, log: BotDecisionLog, reply) -> BotDecisionLog:
    """Link a logged answer to the message that carried it (sent after the log, whose id its
    feedback buttons hold)."""
    BotDecisionLog.objects.filter(pk=log.pk).update(reply=reply)
    log.reply = reply
    return log


@transaction.atomic
def feedback_record(*, log_id: int, conversation, helpful: bool) -> BotDecisionLog | None:
    """Record a 👍/👎 on an answer the bot gave in this conversation. Counted once: a second
    tap on the same answer changes nothing. Returns None for a log of another conversation."""
    log = BotDecisionLog.objects.select_for_update().filter(pk=log_id, conversation=conversation).first()
    if log is None:
        return None
    if log.helpful is None:
        log.helpful = helpful
        log.save(update_fields=["helpful"])
        if log.answer_id:
            counter = "helpful_count" if helpful else "not_helpful_count"
            CannedAnswer.objects.filter(pk=log.answer_id).update(**{counter: F(counter) + 1})
    return log


@transaction.atomic
def unanswered_record(*, question: str, language: str = "", reason: str = "") -> UnansweredQuestion | None:
    """Count a question the bot could not answer, grouped by its normalized text."""
    key = normalize(question)[:500]
    if not key:
        return None
    now = timezone.now()
    row = UnansweredQuestion.objects.select_for_update().filter(key=key).first()
    if row is None:
        row, created = UnansweredQuestion.objects.get_or_create(
            key=key, defaults={"example": question[:2000], "language": language, "last_reason": reason,
                               "first_seen": now, "last_seen": now})
        if created:
            return row
    UnansweredQuestion.objects.filter(pk=row.pk).update(
        count=F("count") + 1, last_seen=now, last_reason=reason, resolved=False, example=question[:2000])
    row.refresh_from_db()
    return row


@transaction.atomic
def unanswered_resolve(*, ids: Iterable[int], answer: CannedAnswer | None) -> int:
    return UnansweredQuestion.objects.filter(pk__in=list(ids)).update(resolved=True, answer=answer)


@transaction.atomic
def unanswered_add_as_variants(*, ids: Iterable[int], answer: CannedAnswer) -> list[QuestionVariant]:
    """"Add as variant of …": every question of the group becomes a variant of ``answer``."""
    ids = list(ids)
    rows = list(UnansweredQuestion.objects.filter(pk__in=ids))
    if not rows:
        raise CurationError(_("Those questions were already handled or deleted."))
    created = variant_add(answer=answer, texts=[row.example for row in rows])
    unanswered_resolve(ids=ids, answer=answer)
    return created


