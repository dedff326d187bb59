"""System lines on conversations ("Ana joined the conversation"), stored as a code plus
parameters and rendered in the reader's language: the page, the API and each agent's live
events show every agent their own language (docs/i18n.md).

``Message.metadata["system"] = {"code": ..., "params": {...}}``; ``Message.text`` keeps the
English rendering for search, exports and readers of the raw data. Other apps register their
own codes (retention registers its survey lines in its AppConfig.ready).
"""

from __future__ import annotations

from typing import Any, Callable

from django.utils import translation
from django.utils.translation import gettext, gettext_noop

from .models import Conversation

#: code -> English msgid with %(name)s parameters (extracted by makemessages).
MESSAGES: dict[str, str] = {
    "agent_joined": gettext_noop("%(agent)s joined the conversation"),
    "handoff": gettext_noop("Handed off to agents: %(reason)s"),
    "handoff_detail": gettext_noop("Handed off to agents: %(reason)s (%(detail)s)"),
    "status": gettext_noop("%(who)s set the conversation to %(status)s"),
}


def _status_label(value: str) -> str:
    return str(Conversation.Status(value).label).lower() if value in Conversation.Status.values else value


def _reason_label(value: str) -> str:
    return str(Conversation.HandoffReason(value).label) if value in Conversation.HandoffReason.values else value


#: Parameters that hold a code of their own, shown by its label in the reader's language.
PARAM_LABELS: dict[str, Callable[[str], str]] = {
    "status": _status_label,
    "reason": _reason_label,
    "who": lambda value: value or gettext("System"),
}


def register(code: str, msgid: str) -> None:
    """Add a code (another app's system line); ``msgid`` must be marked with gettext_noop."""
    MESSAGES[code] = msgid


def render(code: str, params: dict[str, Any] | None, fallback: str = "") -> str:
    """The line ``code`` in the active language; ``fallback`` for unknown codes or bad params."""
    msgid = MESSAGES.get(code)
    if msgid is None:
        return fallback
    values = {key: PARAM_LABELS[key](value) if key in PARAM_LABELS else value for key, value in (params or {}).items()}
    try:
        return gettext(msgid) % values
    except (KeyError, TypeError, ValueError):
        return fallback


def render_english(code: str, params: dict[str, Any] | None) -> str:
    with translation.override("en"):
        return render(code, params)


def text_of(message) -> str:
    """What a reader sees for ``message`` (a Message or a message payload dict)."""
    metadata = message.get("metadata") if isinstance(message, dict) else message.metadata
    text = message.get("text", "") if isinstance(message, dict) else message.text
    system = (metadata or {}).get("system")
    if not isinstance(system, dict):
        return text
    return render(system.get("code", ""), system.get("params"), fallback=text)
