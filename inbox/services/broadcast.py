"""How the write path announces changes: the payloads agents and visitors receive.

Every function here only queues events with ``events.send_event_on_commit``, so nobody hears
of a row before it is committed.
"""

from __future__ import annotations

from .. import events
from ..models import Conversation, Message
from ..presenters import agent_name, conversation_payload, message_payload


def preview(text: str) -> str:
    return " ".join((text or "").split())[:200]


def display_name(user) -> str:
    return agent_name(user)


def broadcast_message(message: Message, *, event: str = "message.created") -> None:
    conversation = message.conversation
    agent_payload = message_payload(message)
    events.send_event_on_commit([events.inbox_group(conversation.inbox_id)], event, agent_payload)
    if not message.is_private_note:
        events.send_event_on_commit(
            [events.conversation_group(conversation.pk)], event, message_payload(message, for_customer=True)
        )


def broadcast_conversation(conversation: Conversation, *, event: str = "conversation.updated") -> None:
    payload = conversation_payload(conversation)
    events.send_event_on_commit([events.inbox_group(conversation.inbox_id)], event, payload)
    events.send_event_on_commit(
        [events.conversation_group(conversation.pk)],
        "conversation.status",
        {"id": conversation.pk, "status": conversation.status, "assignee_name": payload["assignee_name"]},
    )
