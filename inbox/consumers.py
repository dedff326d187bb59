"""The agents' websocket: live events for the inboxes an agent belongs to, typing and presence.

Thin by design: permissions come from ``inbox.selectors``, every change from ``inbox.services``.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.generic.websocket import JsonWebsocketConsumer
from django.utils import translation

from . import delivery_errors, events, selectors, services, system_messages
from .locale import language_for_scope
from .membership import EVENT as MEMBERSHIP_CHANGED
from .presenters import agent_name

#: Close code for "log in first" (the page sends the agent to the login form).
UNAUTHENTICATED = 4401


class AgentConsumer(events.LiveEventsMixin, JsonWebsocketConsumer):
    """Joins ``inbox-<id>`` for each inbox of the agent and ``agent-<user id>``; forwards each
    ``inbox.event`` as ``{"event", "data"}``. Accepts ``{"action": "typing" | "presence" |
    "heartbeat"}`` from the page."""

    def connect(self) -> None:
        self.user = self.scope.get("user")
        self.joined: list[str] = []
        if self.user is None or not self.user.is_authenticated or not self.user.is_active:
            # Accept first so the browser sees the 4401 code (a refused handshake has none).
            self.accept()
            self.close(code=UNAUTHENTICATED)
            return
        self.display_name = agent_name(self.user)
        self.language = language_for_scope(self.scope, self.user)
        inbox_ids = list(selectors.inboxes_for(self.user).values_list("pk", flat=True))
        self.joined = [events.inbox_group(pk) for pk in inbox_ids] + [events.agent_group(self.user.pk)]
        for group in self.joined:
            async_to_sync(self.channel_layer.group_add)(group, self.channel_name)
        # Presence and groups are in place before the accept, so a page that sees the socket
        # open also receives every event from then on.
        services.agent_connected(user=self.user, channel_name=self.channel_name)
        self.accept()

    def disconnect(self, code: int) -> None:
        for group in getattr(self, "joined", []):
            async_to_sync(self.channel_layer.group_discard)(group, self.channel_name)
        user = getattr(self, "user", None)
        if user is not None and user.is_authenticated:
            services.agent_disconnected(user=user, channel_name=self.channel_name)

    def receive_json(self, content: Any, **kwargs) -> None:
        if not isinstance(content, dict) or not self.joined:
            return
        action = content.get("action")
        if action == "typing":
            self._typing(content)
        elif action == "presence":
            presence = content.get("presence")
            if presence in ("online", "away"):
                services.agent_heartbeat(user=self.user, channel_name=self.channel_name, presence=presence)
        elif action == "heartbeat":
            services.agent_heartbeat(user=self.user, channel_name=self.channel_name)
        else:
            self.send_json({"event": "error", "data": {"error": f"Unknown action {action!r}."}})

    def _typing(self, content: dict) -> None:
        try:
            conversation_id = int(content.get("conversation_id"))
        except (TypeError, ValueError):
            return
        conversation = selectors.conversations_for(self.user).filter(pk=conversation_id).first()
        if conversation is None:
            return  # not this agent's conversation: say nothing, broadcast nothing
        services.typing(conversation=conversation, who="agent", is_typing=bool(content.get("typing")),
                        name=self.display_name, user_id=self.user.pk)

    def _sync_groups(self) -> None:
        """Membership changed (``inbox.membership``): join the inboxes the agent now belongs to
        and leave the others, so a removed agent hears nothing more of that inbox."""
        wanted = [events.inbox_group(pk) for pk in selectors.inboxes_for(self.user).values_list("pk", flat=True)]
        wanted.append(events.agent_group(self.user.pk))
        for group in set(self.joined) - set(wanted):
            async_to_sync(self.channel_layer.group_discard)(group, self.channel_name)
        for group in set(wanted) - set(self.joined):
            async_to_sync(self.channel_layer.group_add)(group, self.channel_name)
        self.joined = wanted

    def _membership_changed(self) -> None:
        self.user.refresh_from_db()
        self._sync_groups()

    async def live_event(self, message: dict) -> None:
        if message.get("event") == MEMBERSHIP_CHANGED:
            await database_sync_to_async(self._membership_changed)()  # the page hears of it too
        elif message.get("group") and message["group"] not in self.joined:
            return  # sent to a group this socket has just left
        data = message.get("data", {})
        if message.get("event") == "typing" and data.get("who") == "agent" and (
            data.get("user_id") == self.user.pk
        ):
            return  # this agent's own typing, from another of their tabs
        if isinstance(data, dict) and "system" in (data.get("metadata") or {}):
            # One event reaches agents of several languages: each reads the line in their own.
            with translation.override(self.language):
                data = {**data, "text": system_messages.text_of(data)}
        if isinstance(data, dict) and data.get("delivery_error_code"):
            with translation.override(self.language):
                data = {**data, "delivery_error_reason": delivery_errors.reason_of_payload(data)}
        await self.send_frame({"event": message.get("event"), "data": data}, message)
