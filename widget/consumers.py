"""The visitor's websocket (``/ws/widget/?inbox=<public id>&token=<visitor token>``).

Checks the page's origin against the inbox's allowed origins (refused before the handshake
completes, code 4403) and the visitor token (close code 4401: the widget then starts a new
anonymous session). The consumer joins only the visitor's own ``conversation-<id>`` group and
forwards only the events a customer may see. Everything the visitor does goes through
``inbox.services``.

Server → widget frames: ``{"event": name, "data": {...}}`` with names ``ready``, ``ack``,
``error``, ``conversation`` (the visitor's conversation changed: fetch history),
``message.created``, ``message.updated``, ``conversation.status``, ``typing``, ``pong``.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qs

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.generic.websocket import JsonWebsocketConsumer

from channels_adapters.webchat import inbound_from_widget

from inbox import events, services
from inbox.models import ChannelKind, Inbox
from inbox.presenters import agent_name, message_payload

from . import auth as widget_auth

logger = logging.getLogger(__name__)

CLOSE_FORBIDDEN = 4403
CLOSE_BAD_TOKEN = 4401
CLOSE_NO_INBOX = 4404


class WidgetConsumer(events.LiveEventsMixin, JsonWebsocketConsumer):
    inbox: Inbox | None = None
    visitor_id: str = ""
    conversation_id: int | None = None
    client_ip: str = ""

    # --- connection ---------------------------------------------------------------------------

    def connect(self):
        params = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        public_id = (params.get("inbox") or [""])[0]
        token = (params.get("token") or [""])[0]
        headers = dict(self.scope.get("headers") or [])
        origin = headers.get(b"origin", b"").decode("latin-1")
        self.client_ip = (self.scope.get("client") or ["unknown"])[0] or "unknown"
        self.inbox = Inbox.objects.filter(public_id=public_id, enabled=True, channel_kind=ChannelKind.WEBCHAT).first()
        if self.inbox is None:
            self.close(code=CLOSE_NO_INBOX)
            return
        if not self.inbox.origin_allowed(origin):
            # Refused before accepting: a page on another site never gets a socket.
            self.close(code=CLOSE_FORBIDDEN)
            return
        visitor_id = widget_auth.read_token(token, inbox=self.inbox)
        self.accept()
        if visitor_id is None:
            self.send_json({"event": "error", "data": {
                "code": "bad_token", "message": "Your chat session expired. Starting a new one."}})
            self.close(code=CLOSE_BAD_TOKEN)
            return
        self.visitor_id = visitor_id
        conversation = widget_auth.visitor_conversation(inbox=self.inbox, visitor_id=visitor_id)
        self._join(conversation.pk if conversation else None)
        self.send_json({"event": "ready", "data": self._state(conversation)})

    def disconnect(self, code):
        if self.conversation_id is not None:
            async_to_sync(self.channel_layer.group_discard)(events.conversation_group(self.conversation_id),
                                                            self.channel_name)

    def _join(self, conversation_id: int | None) -> bool:
        """Follow the visitor's conversation (a new one starts after a resolved one)."""
        if conversation_id == self.conversation_id:
            return False
        if self.conversation_id is not None:
            async_to_sync(self.channel_layer.group_discard)(events.conversation_group(self.conversation_id),
                                                            self.channel_name)
        self.conversation_id = conversation_id
        if conversation_id is not None:
            async_to_sync(self.channel_layer.group_add)(events.conversation_group(conversation_id), self.channel_name)
        return True

    def _state(self, conversation) -> dict:
        return {
            "conversation_id": conversation.pk if conversation else None,
            "status": conversation.status if conversation else None,
            "assignee_name": agent_name(conversation.assignee) if conversation and conversation.assignee_id else "",
        }

    # --- from the visitor ---------------------------------------------------------------------

    def receive_json(self, content, **kwargs):
        if not self.visitor_id or not isinstance(content, dict):
            return
        action = content.get("action")
        handler = {
            "message": self._on_message,
            "typing": self._on_typing,
            "seen": self._on_seen,
            "sync": self._on_sync,
            "ping": lambda c: self.send_json({"event": "pong", "data": {}}),
        }.get(action)
        if handler is None:
            self._error("bad_action", f"Unknown action {str(action)[:40]!r}.")
            return
        handler(content)

    def _error(self, code: str, message: str, **extra) -> None:
        self.send_json({"event": "error", "data": {"code": code, "message": message, **extra}})

    def _on_message(self, content: dict) -> None:
        client_id = content.get("client_id")
        if (widget_auth.rate_limited("message-visitor", self.visitor_id)
                or widget_auth.rate_limited("message-ip", self.client_ip)):
            self._error("rate_limited", "You are sending messages too quickly. Please wait a minute and try again.",
                        client_id=client_id)
            return
        try:
            inbound = inbound_from_widget(
                visitor_id=self.visitor_id, client_id=client_id, text=content.get("text", ""),
                quick_reply_payload=content.get("quick_reply_payload", ""),
            )
        except ValueError as exc:
            self._error("invalid", str(exc), client_id=client_id)
            return
        if self.conversation_id is None and widget_auth.rate_limited("conversation-ip", self.client_ip):
            self._error("rate_limited", "Too many new conversations from your network. Please try again later.",
                        client_id=client_id)
            return
        result = services.receive_inbound(inbox=self.inbox, inbound=inbound)
        if result.message is None:
            self._error("not_stored", "The message could not be stored.", client_id=client_id)
            return
        changed = self._join(result.conversation.pk if result.conversation else None)
        self.send_json({"event": "ack", "data": {
            "client_id": client_id, "duplicate": not result.created,
            "message": message_payload(result.message, for_customer=True)}})
        if changed:
            # Events of the new conversation (the bot's answer, "Ana joined") were broadcast
            # before this socket joined its group: the widget fetches them from the history.
            self.send_json({"event": "conversation", "data": self._state(result.conversation)})

    def _on_typing(self, content: dict) -> None:
        if self.conversation_id is None or widget_auth.rate_limited("typing-visitor", self.visitor_id):
            return
        contact = widget_auth.visitor_contact(visitor_id=self.visitor_id)
        conversation = widget_auth.visitor_conversation(inbox=self.inbox, visitor_id=self.visitor_id)
        if conversation is None:
            return
        services.typing(conversation=conversation, who="contact", is_typing=bool(content.get("typing", True)),
                        name=str(contact) if contact else "")

    def _on_seen(self, content: dict) -> None:
        widget_auth.mark_seen(inbox=self.inbox, visitor_id=self.visitor_id, up_to=content.get("up_to"))

    def _on_sync(self, content: dict) -> None:
        """Another tab of the same visitor started or changed the conversation."""
        conversation = widget_auth.visitor_conversation(inbox=self.inbox, visitor_id=self.visitor_id)
        self._join(conversation.pk if conversation else None)
        self.send_json({"event": "conversation", "data": self._state(conversation)})

    # --- to the visitor -----------------------------------------------------------------------

    async def live_event(self, message):
        name, data = message.get("event"), message.get("data") or {}
        if name in ("message.created", "message.updated"):
            if data.get("conversation_id") != self.conversation_id or data.get("is_private_note"):
                return
            await self.send_frame({"event": name, "data": data})
        elif name == "conversation.status":
            if data.get("id") != self.conversation_id:
                return
            payload = {"id": data["id"], "status": data.get("status"), "assignee_name": data.get("assignee_name", "")}
            if payload["status"] == "pending" and not payload["assignee_name"]:
                payload["availability"] = await database_sync_to_async(widget_auth.availability)(inbox=self.inbox)
            await self.send_frame({"event": name, "data": payload})
        elif name == "typing":
            if data.get("conversation_id") != self.conversation_id or data.get("who") != "agent":
                return
            await self.send_frame({"event": "typing", "data": {
                "typing": bool(data.get("typing")), "name": data.get("name", "")}})
