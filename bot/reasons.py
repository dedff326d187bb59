"""Why the bot did what it did, as a person reads it (decision and hand-off reason codes)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

REASONS = {
    "asked_for_human": _("the customer asked for a person"),
    "greeting_only": _("only a greeting"),
    "thanks_only": _("only thanks"),
    "no_answers": _("no canned answers"),
    "confident": _("confident"),
    "close_candidates": _("close candidates"),
    "medium_confidence": _("medium confidence"),
    "repeated_misses": _("missed several times"),
    "low_confidence": _("low confidence"),
    "not_helpful": _("the answer did not help"),
    "suggestion_chosen": _("a suggestion was chosen"),
    "automated": _("automated message"),
    "bot_disabled": _("the bot is off"),
}


def reason_label(code: str) -> str:
    """The reason in the active language; unknown codes as they are."""
    return str(REASONS.get(code, code))
