"""Messages the app itself adds to a conversation: system lines and private notes."""

from __future__ import annotations

from django.db import transaction

from ..models import Conversation, Message
from .broadcast import broadcast_message
from .errors import ServiceError


def add_system_message(*, conversation: Conversation, text: str, metadata: dict | None = None,
                       private: bool = False) -> Message:
    message = Message.objects.create(
        conversation=conversation, inbox_id=conversation.inbox_id, direction=Message.Direction.OUTGOING,
        sender_kind=Message.SenderKind.SYSTEM, text=text, is_private_note=private, metadata=metadata or {},
    )
    message = Message.objects.select_related("conversation", "inbox", "author").get(pk=message.pk)
    broadcast_message(message)
    return message


@transaction.atomic
def add_note(*, conversation: Conversation, author, text: str) -> Message:
    if not text.strip():
        raise ServiceError("A note cannot be empty.")
    message = Message.objects.create(
        conversation=conversation, inbox_id=conversation.inbox_id, direction=Message.Direction.OUTGOING,
        sender_kind=Message.SenderKind.AGENT, author=author, text=text, is_private_note=True,
    )
    message = Message.objects.select_related("conversation", "inbox", "author").get(pk=message.pk)
    broadcast_message(message)
    return message

