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

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings

from channels_adapters.webchat import inbound_from_widget

from inbox import events, services
from inbox.models import ChannelKind, Inbox
from inbox.presenters import agent_name, message_payload

from . import auth as widget_auth

logger = logging.getLogger(__name__)

CLOSE_FORBIDDEN = 4403
CLOSE_BAD_TOKEN = 4401
CLOSE_NO_INBOX = 4404

_connect_pool: ThreadPoolExecutor | None = None


def _in_connect_pool(func):
    """``func`` run by ``database_sync_to_async`` in the widget connects' own thread pool
    (``settings.WS_CONNECT_THREADS`` threads). A wave of thousands of connects (a server restart,
    a campaign) then neither queues behind the one thread Channels' sync code shares nor holds
    up the visitors' and agents' work in it; Daphne drops a socket whose connect has not
    finished in time, and did so for 15-25 % of a wave when connects shared that thread."""
    global _connect_pool
    if _connect_pool is None:
        _connect_pool = ThreadPoolExecutor(max_workers=settings.WS_CONNECT_THREADS, thread_name_prefix="ws-connect")
    return database_sync_to_async(func, thread_sensitive=False, executor=_connect_pool)


def _state(conversation) -> dict:
    return {
        "conversation_id": conversation.pk if conversation else None,
        "status": conversation.status if conversation else None,
        "assignee_name": agent_name(conversation.assignee) if conversation and conversation.assignee_id else "",
    }


@dataclass
class _Arrival:
    """What a connect found: why to refuse (a close code), or the visitor and their state."""

    refuse: int | None = None
    inbox_id: int | None = None
    visitor_id: str | None = None
    state: dict = field(default_factory=dict)


def _arrival(*, public_id: str, origin: str, token: str) -> _Arrival:
    inbox = Inbox.objects.filter(public_id=public_id, enabled=True, channel_kind=ChannelKind.WEBCHAT).first()
    if inbox is None:
        return _Arrival(refuse=CLOSE_NO_INBOX)
    if not inbox.origin_allowed(origin):
        return _Arrival(refuse=CLOSE_FORBIDDEN)
    visitor_id = widget_auth.read_token(token, inbox=inbox)
    if visitor_id is None:
        return _Arrival(inbox_id=inbox.pk)
    conversation = widget_auth.visitor_conversation(inbox=inbox, visitor_id=visitor_id)
    return _Arrival(inbox_id=inbox.pk, visitor_id=visitor_id, state=_state(conversation))


#: ``_Reply.follow`` when the handler leaves the socket's conversation as it is.
_KEEP = object()


@dataclass
class _Reply:
    """A visitor action's outcome: the conversation to follow (``_KEEP``: unchanged), the
    frames to send, and one more frame to send only if the conversation did change."""

    follow: object = _KEEP
    frames: list = field(default_factory=list)
    if_changed: dict | None = None


def _availability(inbox_id: int) -> dict:
    return widget_auth.availability(inbox=Inbox.objects.get(pk=inbox_id))


class WidgetConsumer(events.LiveEventsMixin, AsyncJsonWebsocketConsumer):
    """Async: an idle widget costs the event loop a few objects and no thread. Its database
    work runs in threads: the connect's reads in the connects' pool (``_in_connect_pool``), the
    visitor's actions through ``database_sync_to_async`` (one at a time per socket, in order).
    Only ids are kept per socket (not the inbox row): memory per idle socket is what counts
    with thousands of them."""

    inbox_id: int | None = None
    visitor_id: str = ""
    conversation_id: int | None = None
    client_ip: str = ""
    channel_name: str | None = None

    async def __call__(self, scope, receive, send):
        """Channels' ``AsyncConsumer.__call__``, except that the channel-layer channel is made
        when the socket first joins a conversation's group. Most visitors never write: their
        socket then waits on the websocket alone (no layer channel, no receive task, no
        ``asyncio.wait`` per message), which is most of what an idle socket costs beyond the
        server's own objects. Messages from both sources are still handled one at a time."""
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.base_send = self._async_send = send
        from_socket = from_layer = None
        try:
            while True:
                if self.channel_name is None:
                    await self.dispatch(await receive())
                    continue
                if from_socket is None:
                    from_socket = asyncio.ensure_future(receive())
                if from_layer is None:
                    from_layer = asyncio.ensure_future(self.channel_layer.receive(self.channel_name))
                done, _ = await asyncio.wait((from_socket, from_layer), return_when=asyncio.FIRST_COMPLETED)
                if from_socket in done:
                    task, from_socket = from_socket, None
                    await self.dispatch(task.result())
                if from_layer in done:
                    task, from_layer = from_layer, None
                    await self.dispatch(task.result())
        except StopConsumer:
            pass
        finally:
            for task in (from_socket, from_layer):
                if task is not None:
                    task.cancel()
                    try:
                        await task
                    except asyncio.CancelledError:
                        pass

    # --- connection ---------------------------------------------------------------------------

    async def connect(self):
        params = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        headers = dict(self.scope.get("headers") or [])
        self.client_ip = (self.scope.get("client") or ["unknown"])[0] or "unknown"
        arrival = await _in_connect_pool(_arrival)(
            public_id=(params.get("inbox") or [""])[0], token=(params.get("token") or [""])[0],
            origin=headers.get(b"origin", b"").decode("latin-1"))
        if arrival.refuse is not None:
            # Refused before accepting: a page on another site never gets a socket.
            await self.close(code=arrival.refuse)
            return
        self.inbox_id = arrival.inbox_id
        await self.accept()
        if arrival.visitor_id is None:
            await self.send_json({"event": "error", "data": {
                "code": "bad_token", "message": "Your chat session expired. Starting a new one."}})
            await self.close(code=CLOSE_BAD_TOKEN)
            return
        self.visitor_id = arrival.visitor_id
        await self._join(arrival.state["conversation_id"])
        await self.send_json({"event": "ready", "data": arrival.state})

    async def disconnect(self, code):
        if self.conversation_id is not None:
            await self.channel_layer.group_discard(events.conversation_group(self.conversation_id), self.channel_name)

    async def _join(self, conversation_id: int | None) -> bool:
        """Follow the visitor's conversation (a new one starts after a resolved one)."""
        if conversation_id == self.conversation_id:
            return False
        if self.conversation_id is not None:
            await self.channel_layer.group_discard(events.conversation_group(self.conversation_id), self.channel_name)
        self.conversation_id = conversation_id
        if conversation_id is not None:
            if self.channel_name is None:
                self.channel_name = await self.channel_layer.new_channel()
            await self.channel_layer.group_add(events.conversation_group(conversation_id), self.channel_name)
        return True

    # --- from the visitor ---------------------------------------------------------------------

    async def receive_json(self, content, **kwargs):
        if not self.visitor_id or not isinstance(content, dict):
            return
        action = content.get("action")
        if action == "ping":
            await self.send_json({"event": "pong", "data": {}})
            return
        handler = {
            "message": self._on_message,
            "typing": self._on_typing,
            "seen": self._on_seen,
            "sync": self._on_sync,
        }.get(action)
        if handler is None:
            await self.send_json(self._error("bad_action", f"Unknown action {str(action)[:40]!r}."))
            return
        # The handler reads and writes in a thread and says which conversation to follow and
        # what to send; the groups change here, before the frames go out.
        reply = await database_sync_to_async(handler)(content)
        changed = reply.follow is not _KEEP and await self._join(reply.follow)
        for frame in reply.frames:
            await self.send_json(frame)
        if changed and reply.if_changed is not None:
            # Events of the new conversation (the bot's answer, "Ana joined") were broadcast
            # before this socket joined its group: the widget fetches them from the history.
            await self.send_json(reply.if_changed)

    @staticmethod
    def _error(code: str, message: str, **extra) -> dict:
        return {"event": "error", "data": {"code": code, "message": message, **extra}}

    def _inbox(self) -> Inbox:
        return Inbox.objects.get(pk=self.inbox_id)

    # The handlers below run in a thread (database_sync_to_async) and return a _Reply.

    def _on_message(self, content: dict) -> _Reply:
        client_id = content.get("client_id")
        if (widget_auth.rate_limited("message-visitor", self.visitor_id)
                or widget_auth.rate_limited("message-ip", self.client_ip)):
            return _Reply(frames=[self._error(
                "rate_limited", "You are sending messages too quickly. Please wait a minute and try again.",
                client_id=client_id)])
        try:
            inbound = inbound_from_widget(
                visitor_id=self.visitor_id, client_id=client_id, text=content.get("text", ""),
                quick_reply_payload=content.get("quick_reply_payload", ""),
            )
        except ValueError as exc:
            return _Reply(frames=[self._error("invalid", str(exc), client_id=client_id)])
        if self.conversation_id is None and widget_auth.rate_limited("conversation-ip", self.client_ip):
            return _Reply(frames=[self._error(
                "rate_limited", "Too many new conversations from your network. Please try again later.",
                client_id=client_id)])
        result = services.receive_inbound(inbox=self._inbox(), inbound=inbound)
        if result.message is None:
            return _Reply(frames=[self._error("not_stored", "The message could not be stored.", client_id=client_id)])
        return _Reply(
            follow=result.conversation.pk if result.conversation else None,
            frames=[{"event": "ack", "data": {
                "client_id": client_id, "duplicate": not result.created,
                "message": message_payload(result.message, for_customer=True)}}],
            if_changed={"event": "conversation", "data": _state(result.conversation)})

    def _on_typing(self, content: dict) -> _Reply:
        if self.conversation_id is None or widget_auth.rate_limited("typing-visitor", self.visitor_id):
            return _Reply()
        contact = widget_auth.visitor_contact(visitor_id=self.visitor_id)
        conversation = widget_auth.visitor_conversation(inbox=self._inbox(), visitor_id=self.visitor_id)
        if conversation is not None:
            services.typing(conversation=conversation, who="contact", is_typing=bool(content.get("typing", True)),
                            name=str(contact) if contact else "")
        return _Reply()

    def _on_seen(self, content: dict) -> _Reply:
        widget_auth.mark_seen(inbox=self._inbox(), visitor_id=self.visitor_id, up_to=content.get("up_to"))
        return _Reply()

    def _on_sync(self, content: dict) -> _Reply:
        """Another tab of the same visitor started or changed the conversation."""
        conversation = widget_auth.visitor_conversation(inbox=self._inbox(), visitor_id=self.visitor_id)
        return _Reply(follow=conversation.pk if conversation else None,
                      frames=[{"event": "conversation", "data": _state(conversation)}])

    # --- to the visitor -----------------------------------------------------------------------

    async def live_event(self, message):
        name, data = message.get("event"), message.get("data") or {}
        if name in ("message.created", "message.updated"):
            if data.get("conversation_id") != self.conversation_id or data.get("is_private_note"):
                return
            await self.send_frame({"event": name, "data": data}, message)
        elif name == "conversation.status":
            if data.get("id") != self.conversation_id:
                return
            payload = {"id": data["id"], "status": data.get("status"), "assignee_name": data.get("assignee_name", "")}
            if payload["status"] == "pending" and not payload["assignee_name"]:
                payload["availability"] = await database_sync_to_async(_availability)(self.inbox_id)
            await self.send_frame({"event": name, "data": payload}, message)
        elif name == "typing":
            if data.get("conversation_id") != self.conversation_id or data.get("who") != "agent":
                return
            await self.send_frame({"event": "typing", "data": {
                "typing": bool(data.get("typing")), "name": data.get("name", "")}}, message)
