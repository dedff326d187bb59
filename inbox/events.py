"""The only module that pushes real-time events (Zulip's ``send_event``).

Services call ``send_event_on_commit``: the event leaves after the transaction commits, so a
listener never hears of a row it cannot read yet, and a rolled-back change sends nothing. Events
go through the channel layer, so they reach consumers in every server process when the layer is
Redis.

Groups:
- ``inbox-<id>``: every agent tab of a member of that inbox;
- ``agent-<user id>``: every tab of one agent (notifications, unread counts);
- ``conversation-<id>``: the customer's widget tabs for that conversation.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def inbox_group(inbox_id: int) -> str:
    return f"inbox-{inbox_id}"


def agent_group(user_id: int) -> str:
    return f"agent-{user_id}"


def conversation_group(conversation_id: int) -> str:
    return f"conversation-{conversation_id}"


def send_event(groups: Iterable[str], event_type: str, payload: dict[str, Any]) -> None:
    """Send now. Consumers receive ``{"type": "inbox.event", "event": event_type, "data": payload,
    "group": group}``; the group lets a consumer drop what arrives after it left that group."""
    layer = get_channel_layer()
    if layer is None:
        return
    for group in groups:
        message = {"type": "inbox.event", "event": event_type, "data": payload, "group": group}
        try:
            async_to_sync(layer.group_send)(group, message)
        except Exception:  # a broken layer must not break the write that already committed
            logger.exception("could not send %s to %s", event_type, group)


def send_event_on_commit(groups: Iterable[str], event_type: str, payload: dict[str, Any]) -> None:
    groups = list(groups)
    transaction.on_commit(lambda: send_event(groups, event_type, payload))
