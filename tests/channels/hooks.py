"""An inbound-message handler for tests that fails on one message, as a broken installed app
would (``INBOUND_MESSAGE_HANDLERS``)."""


class HandlerBroke(Exception):
    pass


def explode_on_boom(message) -> bool:
    if "boom" in (message.text or ""):
        raise HandlerBroke("the handler broke on this message")
    return False
