"""Messages the app itself adds to a conversation: system lines and private notes."""

from __future__ import annotations

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from .. import system_messages
from ..locale import catalog_language, customer_language
from ..models import Conversation, Message
from .broadcast import broadcast_message
from .errors import ServiceError


def add_system_message(*, conversation: Conversation, text: str = "", code: str = "", params: dict | None = None,
                       metadata: dict | None = None, private: bool = False) -> Message:
    """A system line. With ``code`` (see inbox.system_messages) each reader sees it in their own
    language; ``text`` then defaults to the English rendering."""
    metadata = dict(metadata or {})
    if code:
        language = catalog_language(customer_language(conversation.contact, conversation.inbox))
        with translation.override(language):
            customer_text = system_messages.render(code, params)
        metadata["system"] = {"code": code, "params": params or {}, "customer_text": customer_text}
        text = text or system_messages.render_english(code, params)
    message = Message.objects.create(
        conversation=conversation, inbox_id=conversation.inbox_id, direction=Message.Direction.OUTGOING,
        sender_kind=Message.SenderKind.SYSTEM, text=text, is_private_note=private, metadata=metadata,
    )
    message = Message.objects.select_related("conversation", "inbox", "author").get(pk=message.pk)
    broadcast_message(message)
    return message


@transaction.atomic
def add_note(*, conversation: Conversation, author, text: str) -> Message:
    if not text.strip():
        raise ServiceError(_("A note cannot be empty."))
    message = Message.objects.create(
        conversation=conversation, inbox_id=conversation.inbox_id, direction=Message.Direction.OUTGOING,
        sender_kind=Message.SenderKind.AGENT, author=author, text=text, is_private_note=True,
    )
    message = Message.objects.select_related("conversation", "inbox", "author").get(pk=message.pk)
    broadcast_message(message)
    return message

