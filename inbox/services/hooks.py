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

import contextlib
import datetime as dt
import functools
import logging
import threading
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from .. import queue
from ..models import Conversation, Inbox, Message
from .routing import hand_off

logger = logging.getLogger(__name__)


#: Messages whose handlers share one write transaction on SQLite (``run_inbound_handlers_for_many``).
HANDLERS_PER_TRANSACTION = 10

#: The batch being collected in this thread (``collect_handler_runs``).
_collecting = threading.local()


@functools.cache
def _load(paths: tuple[str, ...]) -> tuple[Callable[..., Any], ...]:
    return tuple(import_string(path) for path in paths)


def inbound_handlers() -> tuple[Callable[..., Any], ...]:
    return _load(tuple(getattr(settings, "INBOUND_MESSAGE_HANDLERS", ())))


def resolved_handlers() -> tuple[Callable[..., Any], ...]:
    return _load(tuple(getattr(settings, "CONVERSATION_RESOLVED_HANDLERS", ())))


def conversation_starts_with_handler(inbox: Inbox) -> bool:
    """Whether a new conversation of ``inbox`` is taken by a handler (the bot) first; asked once
    per inbox and batch inside ``collect_handler_runs``."""
    known = getattr(_collecting, "starts", None)
    if known is not None and inbox.pk in known:
        return known[inbox.pk]
    answer = False
    for handler in inbound_handlers():
        starts = getattr(handler, "starts_conversation", None)
        if starts is not None and starts(inbox):
            answer = True
            break
    if known is not None:
        known[inbox.pk] = answer
    return answer


@contextlib.contextmanager
def collect_handler_runs():
    """Inside this block (one batch of webhook events, in its transaction), new customer
    messages are not given a handler task each: on leaving it, one task per batch is enqueued
    (after the commit) for all of them, so a handler's ``prepare_many`` sees them together (the
    bot encodes their questions in one call)."""
    outer = getattr(_collecting, "runs", None)
    if outer is not None:  # nested: the outer block enqueues
        yield
        return
    _collecting.runs = runs = {True: [], False: []}
    _collecting.starts = {}
    try:
        yield
    finally:
        _collecting.runs = _collecting.starts = None
    for auto_reply, ids in runs.items():
        if ids:
            queue.enqueue("inbox.run_inbound_handlers_batch", ids, auto_reply)


def queue_handlers(message_id: int, *, auto_reply: bool = True) -> None:
    """The handlers for a message just stored: in the batch's task inside
    ``collect_handler_runs``, else a task of its own (both after the commit)."""
    runs = getattr(_collecting, "runs", None)
    if runs is not None:
        runs[bool(auto_reply)].append(message_id)
    else:
        queue.enqueue("inbox.run_inbound_handlers", message_id, auto_reply)


def warm_up_handlers() -> None:
    """Let each handler load what it needs before the first customer (the bot: its sentence
    encoder and indexes); called when a worker process's pump starts."""
    for handler in inbound_handlers():
        warm_up = getattr(handler, "warm_up", None)
        if warm_up is not None:
            warm_up()


def run_inbound_handlers_for(message_id: int, *, auto_reply: bool = True) -> bool:
    """The handlers for one stored message (see ``run_inbound_handlers_for_many``)."""
    return bool(run_inbound_handlers_for_many([message_id], auto_reply=auto_reply))


def run_inbound_handlers_for_many(message_ids: list[int], *, auto_reply: bool = True) -> int:
    """The task's entry point: the handlers for stored messages, oldest first, each message in
    one transaction that holds its conversation's row (PostgreSQL), so two messages of one
    conversation are answered one at a time. The handlers' ``prepare_many`` (or ``prepare``)
    runs first for all of them, outside any transaction (the bot's matcher). Once per message
    (``handled_at``, claimed inside that transaction). Returns how many were handled."""
    messages = list(Message.objects.select_related("conversation__inbox", "conversation__contact", "inbox")
                    .filter(pk__in=message_ids, handled_at__isnull=True).order_by("pk"))
    if not messages:
        return 0  # gone, or a second run (the sweep, a redelivered task): nothing twice
    for handler in inbound_handlers():
        if not auto_reply and getattr(handler, "replies_automatically", False):
            continue
        prepare_many, prepare = getattr(handler, "prepare_many", None), getattr(handler, "prepare", None)
        try:
            if prepare_many is not None:
                prepare_many(messages)  # CPU work (the bot's matcher) outside the write transaction
            elif prepare is not None:
                for message in messages:
                    prepare(message)
        except Exception:
            logger.exception("inbound handler %r could not prepare messages %s", handler, message_ids)
    handled = 0
    # SQLite has one writer at a time: HANDLERS_PER_TRANSACTION messages take the write lock
    # once, each in a savepoint (more would hold it long enough to delay the pump's next batch).
    # PostgreSQL: a transaction per message, so a conversation's row is not held while the rest
    # of the batch is answered.
    step = HANDLERS_PER_TRANSACTION if connection.vendor == "sqlite" else 1
    for start in range(0, len(messages), step):
        with transaction.atomic() if step > 1 else contextlib.nullcontext():
            for message in messages[start:start + step]:
                try:
                    handled += _handle_one(message, auto_reply=auto_reply)
                except Exception:  # a database error on one message: the sweep runs it again later
                    logger.exception("inbound handlers for message %s failed", message.pk)
    return handled


def _handle_one(message: Message, *, auto_reply: bool) -> bool:
    with transaction.atomic():
        if connection.features.has_select_for_update:  # SQLite: the write lock serialises already
            Conversation.objects.select_for_update().filter(pk=message.conversation_id).values_list("pk").first()
        if not Message.objects.filter(pk=message.pk, handled_at__isnull=True).update(handled_at=timezone.now()):
            return False  # another run got here first
        run_inbound_handlers(message, auto_reply=auto_reply)
        return True


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
