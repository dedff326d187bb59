"""The bot's place in the write path: an entry of ``settings.INBOUND_MESSAGE_HANDLERS``
(see ``inbox.services.hooks``). ``inbox`` never imports the bot; it calls this handler.

The inbound handlers run in the worker after the customer's message committed and was
broadcast (task ``inbox.run_inbound_handlers``), so the matcher and the sentence encoder never
delay the message on the agents' screens. ``prepare`` runs the matcher before the handlers'
transaction opens; ``__call__`` decides and writes inside it.
"""

from __future__ import annotations

from . import engine
from . import services as bot_services


class BotHandler:
    """Takes new conversations of inboxes where the bot is on, and answers their messages
    while the conversation is in ``bot`` status."""

    replies_automatically = True

    def starts_conversation(self, inbox) -> bool:
        return engine.bot_enabled_for(inbox)

    def prepare(self, message) -> None:
        """Run the matcher before the handlers' transaction opens (see ``inbox.services.hooks``)."""
        conversation = message.conversation
        text = (message.text or "").strip()
        if conversation.status == conversation.Status.BOT and text:
            message.bot_prematched = engine.prematch(
                text, inbox=conversation.inbox, language=engine.customer_language(conversation, message))

    def prepare_many(self, messages) -> None:
        """``prepare`` for a batch of messages: the questions of each inbox encoded in one call,
        the inbox's bot settings read once (kept on each message as ``bot_settings``)."""
        by_inbox: dict[int, list] = {}
        for message in messages:
            conversation = message.conversation
            text = (message.text or "").strip()
            if conversation.status == conversation.Status.BOT and text:
                by_inbox.setdefault(conversation.inbox_id, []).append(
                    (message, text, engine.customer_language(conversation, message)))
        for items in by_inbox.values():
            inbox = items[0][0].conversation.inbox
            settings_row = bot_services.settings_for(inbox)
            results = engine.prematch_many([text for _, text, _ in items], inbox=inbox,
                                           languages=[language for _, _, language in items])
            for (message, _, _), prematched in zip(items, results):
                message.bot_prematched = prematched
                message.bot_settings = settings_row

    def warm_up(self) -> None:
        """Load the encoder and the indexes when a worker starts (``inbox.services.hooks``)."""
        engine.warm_up()

    def __call__(self, message) -> bool:
        conversation = message.conversation
        if conversation.status != conversation.Status.BOT:
            return False
        engine.handle_incoming(conversation=conversation, message=message,
                               automated=bool((message.metadata or {}).get("automated")))
        return True

    def __repr__(self) -> str:
        return "bot.handlers.answer"


#: The object named in settings.
answer = BotHandler()
