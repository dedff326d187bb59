"""Where other apps plug into the write path, without ``inbox`` importing them.

Two settings, one shape: a list of dotted paths to handlers, called in order, each of which may
say "handled" (return True) to stop the ones after it.

``INBOUND_MESSAGE_HANDLERS``
    Called with each new customer message (not echoes, not reactions) in the worker, after the
    receiving transaction committed and the message was broadcast (task
    ``inbox.run_inbound_handlers``): a slow handler never delays the message on the agents'
    screens nor holds the database's write lock while the message is stored. The project's list is
    retention's survey/opt-out handler, then the bot. A handler is a callable
    ``handler(message) -> bool``. It may have ``prepare(message)``, called before the
    handlers' transaction opens, for CPU work that needs no lock (the bot's matcher). It may
    also have ``starts_conversation(inbox) -> bool``,
    asked when a customer's message opens a new conversation: the first handler that answers
    True owns it, and the conversation starts in ``bot`` status instead of waiting for agents.
    A handler that raises is logged; the customer's message is kept and, if the conversation
    was with the bot, it goes to the agents. A handler whose ``replies_automatically`` is
    True (the bot) is skipped when the caller asks for no automatic replies.

``CONVERSATION_RESOLVED_HANDLERS``
    Called with the conversation after a resolution commits (satisfaction surveys).
    ``handler(conversation) -> bool``; a handler that raises is logged and the next one runs.

A project without the bot or retention installed lists fewer handlers and works the same.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from ..models import Conversation, Inbox, Message
from .routing import hand_off

logger = logging.getLogger(__name__)


@functools.cache
def _load(paths: tuple[str, ...]) -> tuple[Callable[..., Any], ...]:
    return tuple(import_string(path) for path in paths)


def inbound_handlers() -> tuple[Callable[..., Any], ...]:
    return _load(tuple(getattr(settings, "INBOUND_MESSAGE_HANDLERS", ())))


def resolved_handlers() -> tuple[Callable[..., Any], ...]:
    return _load(tuple(getattr(settings, "CONVERSATION_RESOLVED_HANDLERS", ())))


def conversation_starts_with_handler(inbox: Inbox) -> bool:
    """Whether a new conversation of ``inbox`` is taken by a handler (the bot) first."""
    for handler in inbound_handlers():
        starts = getattr(handler, "starts_conversation", None)
        if starts is not None and starts(inbox):
            return True
    return False


def run_inbound_handlers_for(message_id: int, *, auto_reply: bool = True) -> bool:
    """The task's entry point: the handlers for one stored message, in one transaction that
    holds the conversation's row, so two messages of one conversation are answered one at a time."""
    message = (Message.objects.select_related("conversation__inbox", "conversation__contact", "inbox")
               .filter(pk=message_id, handled_at__isnull=True).first())
    if message is None:
        return False  # gone, or a second run (the sweep, a redelivered task): nothing twice
    for handler in inbound_handlers():
        prepare = getattr(handler, "prepare", None)
        if prepare is not None and (auto_reply or not getattr(handler, "replies_automatically", False)):
            try:
                prepare(message)  # CPU work (the bot's matcher) outside the write transaction
            except Exception:
                logger.exception("inbound handler %r could not prepare message %s", handler, message_id)
    with transaction.atomic():
        Conversation.objects.select_for_update().filter(pk=message.conversation_id).values_list("pk").first()
        if Message.objects.filter(pk=message_id, handled_at__isnull=False).exists():
            return False  # another run got here first
        handled = run_inbound_handlers(message, auto_reply=auto_reply)
        Message.objects.filter(pk=message_id).update(handled_at=timezone.now())
        return handled


def messages_due_for_handlers(*, older_than: dt.datetime, limit: int = 200) -> list[int]:
    """Customer messages whose handler task was lost (a worker killed before it ran), for the
    sweep. Only the last day: an answer later than that would be no answer."""
    return list(Message.objects.filter(
        direction=Message.Direction.INCOMING, sender_kind=Message.SenderKind.CONTACT, handled_at__isnull=True,
        created_at__lte=older_than, created_at__gte=older_than - dt.timedelta(days=1),
    ).values_list("pk", flat=True)[:limit])


def run_inbound_handlers(message: Message, *, auto_reply: bool = True) -> bool:
    """Pass a new customer message through the handlers; True when one handled it."""
    for handler in inbound_handlers():
        if not auto_reply and getattr(handler, "replies_automatically", False):
            continue
        try:
            with transaction.atomic():
                if handler(message):
                    return True
        except Exception:
            logger.exception("inbound handler %r failed on message %s", handler, message.pk)
            _after_handler_failure(message)
            return True
    return False


def _after_handler_failure(message: Message) -> None:
    conversation = Conversation.objects.select_related("inbox", "contact").get(pk=message.conversation_id)
    if conversation.status == Conversation.Status.BOT:
        hand_off(conversation=conversation, reason=Conversation.HandoffReason.BOT_ERROR, detail="see server log")


def run_resolved_handlers(conversation_id: int) -> None:
    """Called after a resolution commits."""
    conversation = Conversation.objects.select_related("inbox", "contact").filter(pk=conversation_id).first()
    if conversation is None:
        return
    for handler in resolved_handlers():
        try:
            if handler(conversation):
                return
        except Exception:
            logger.exception("resolution handler %r failed on conversation %s", handler, conversation_id)
