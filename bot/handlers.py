"""The bot's place in the write path: an entry of ``settings.INBOUND_MESSAGE_HANDLERS``
(see ``inbox.services.hooks``). ``inbox`` never imports the bot; it calls this handler.

The handler only claims the message and asks the worker to answer it (``bot.answer_message``,
enqueued after the inbound transaction commits): the customer's message is stored and
broadcast without waiting for the matcher or the sentence encoder, and the bot's reply
follows through the same write path.
"""

from __future__ import annotations

import logging

from django.db import transaction

from inbox import queue

from . import engine

logger = logging.getLogger(__name__)


class BotHandler:
    """Takes new conversations of inboxes where the bot is on, and answers their messages
    while the conversation is in ``bot`` status."""

    replies_automatically = True

    def starts_conversation(self, inbox) -> bool:
        return engine.bot_enabled_for(inbox)

    def __call__(self, message) -> bool:
        conversation = message.conversation
        if conversation.status != conversation.Status.BOT:
            return False
        queue.enqueue("bot.answer_message", message.pk)
        return True

    def __repr__(self) -> str:
        return "bot.handlers.answer"


def answer_now(message_id: int) -> None:
    """Answer one customer message (the worker's task). Runs once per message: a redelivered
    task finds the decision logged and does nothing. If the bot fails, its partial work is
    rolled back, the message stays, and a conversation still with the bot goes to the agents."""
    from inbox import services as inbox_services
    from inbox.models import Conversation, Message

    from .models import BotDecisionLog

    message = Message.objects.select_related("conversation").filter(pk=message_id).first()
    if message is None or BotDecisionLog.objects.filter(message_id=message_id).exists():
        return
    try:
        with transaction.atomic():
            engine.handle_incoming(conversation=message.conversation, message=message,
                                   automated=bool((message.metadata or {}).get("automated")))
    except Exception:
        logger.exception("the bot failed on message %s", message_id)
        conversation = Conversation.objects.select_related("inbox", "contact").get(pk=message.conversation_id)
        if conversation.status == Conversation.Status.BOT:
            inbox_services.hand_off(conversation=conversation, reason=Conversation.HandoffReason.BOT_ERROR,
                                    detail="see server log")


#: The object named in settings.
answer = BotHandler()
