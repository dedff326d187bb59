"""Agents' presence: one row per open socket, refreshed by heartbeats."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from .. import events
from ..models import AgentConnection
from .broadcast import display_name

PRESENCE_TIMEOUT = dt.timedelta(seconds=90)


def agent_connected(*, user, channel_name: str) -> None:
    AgentConnection.objects.update_or_create(channel_name=channel_name, defaults={
        "user": user, "presence": AgentConnection.Presence.ONLINE, "last_seen": timezone.now()})
    _broadcast_presence(user)


def agent_heartbeat(*, user, channel_name: str, presence: str | None = None) -> None:
    fields: dict[str, Any] = {"last_seen": timezone.now()}
    if presence in AgentConnection.Presence.values:
        fields["presence"] = presence
    updated = AgentConnection.objects.filter(channel_name=channel_name, user=user).update(**fields)
    if not updated:
        agent_connected(user=user, channel_name=channel_name)
    elif presence:
        _broadcast_presence(user)


def agent_disconnected(*, user, channel_name: str) -> None:
    AgentConnection.objects.filter(channel_name=channel_name).delete()
    _broadcast_presence(user)


def agent_presence(*, user) -> str:
    cutoff = timezone.now() - PRESENCE_TIMEOUT
    states = set(AgentConnection.objects.filter(user=user, last_seen__gte=cutoff).values_list("presence", flat=True))
    if "online" in states:
        return "online"
    return "away" if states else "offline"


def _broadcast_presence(user) -> None:
    payload = {"user_id": user.pk, "presence": agent_presence(user=user), "name": display_name(user)}
    groups = [events.inbox_group(pk) for pk in user.inboxes.values_list("pk", flat=True)]
    events.send_event_on_commit(groups, "agent.presence", payload)


# --- inbox bookkeeping ----------------------------------------------------------------------------

