"""An inbound-message handler for tests that fails on one message, as a broken installed app
would (``INBOUND_MESSAGE_HANDLERS``)."""


class HandlerBroke(Exception):
    pass


def explode_on_boom(message) -> bool:
    if "boom" in (message.text or ""):
        raise HandlerBroke("the handler broke on this message")
    return False


class Recorder:
    """Stands in for the bot (``bot.handlers.answer``): owns every new conversation and records
    each message it would answer, those of conversations in ``bot`` status."""

    replies_automatically = True

    def __init__(self):
        self.seen: list[str] = []

    def __call__(self, message) -> bool:
        if message.conversation.status != "bot":
            return False
        self.seen.append(message.text)
        return True

    def starts_conversation(self, inbox) -> bool:
        return True


recorder = Recorder()
