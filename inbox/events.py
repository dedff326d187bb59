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

import asyncio
import json
import logging
import os
import threading
import time
from collections.abc import Iterable
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings
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
    "group": group}``; the group lets a consumer drop what arrives after it left that group.

    The embedded layer (``inbox.channel_layer``) takes the message from this thread directly;
    other layers (Redis) get every group in one run on the process's send loop (``_send_loop``).
    """
    layer = get_channel_layer()
    if layer is None:
        return
    groups = list(groups)
    send_now = getattr(layer, "group_send_now", None)
    if send_now is not None:
        for group in groups:
            try:
                send_now(group, _message(event_type, payload, group))
            except Exception:  # a broken layer must not break the write that already committed
                logger.exception("could not send %s to %s", event_type, group)
        return
    try:
        future = asyncio.run_coroutine_threadsafe(_send_all(layer, groups, event_type, payload), _send_loop())
        # Waited for: events of one thread leave in order, and a slow layer slows its writer
        # rather than piling up sends in memory.
        future.result(timeout=SEND_TIMEOUT_SECONDS)
    except Exception:
        logger.exception("could not send %s to %s", event_type, groups)


#: A send that takes longer is given up (logged); the rows are committed already.
SEND_TIMEOUT_SECONDS = 10.0

_loop_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_loop_thread: threading.Thread | None = None
_loop_pid: int | None = None


def _send_loop() -> asyncio.AbstractEventLoop:
    """One event loop per process, in a thread of its own, for the sends of sync code (services
    in request threads, the pumps, worker tasks). ``async_to_sync`` in a thread outside an
    event loop runs each call in a new loop, and channels_redis keeps its connections per loop:
    every broadcast from the worker opened and closed a Redis connection (a fifth of the
    scale-out worker's time, bench/README.md "Scale-out pumps"). Made again after a fork."""
    global _loop, _loop_thread, _loop_pid
    with _loop_lock:
        if _loop is None or _loop_pid != os.getpid() or _loop_thread is None or not _loop_thread.is_alive():
            _loop = asyncio.new_event_loop()
            _loop_thread = threading.Thread(target=_loop.run_forever, name="live-events-send", daemon=True)
            _loop_thread.start()
            _loop_pid = os.getpid()
        return _loop


def _message(event_type: str, payload: dict[str, Any], group: str) -> dict[str, Any]:
    message = {"type": "inbox.event", "event": event_type, "data": payload, "group": group}
    if settings.LIVE_EVENT_TIMING:
        # The broadcast's wall-clock time; the sockets pass it on (bench/load.py measures
        # broadcast -> socket with it).
        message["sent_at"] = time.time()
    return message


async def _send_all(layer, groups: list[str], event_type: str, payload: dict[str, Any]) -> None:
    for group in groups:
        try:
            await layer.group_send(group, _message(event_type, payload, group))
        except Exception:
            logger.exception("could not send %s to %s", event_type, group)


def send_event_on_commit(groups: Iterable[str], event_type: str, payload: dict[str, Any]) -> None:
    groups = list(groups)
    transaction.on_commit(lambda: send_event(groups, event_type, payload))


class LiveEventsMixin:
    """For Channels' sync websocket consumers: ``inbox.event`` messages are handled on the
    event loop by ``async live_event(message)`` instead of going through the one thread that
    every sync consumer's handlers share. Forwarding an event then costs no thread hop and no
    database connection check, and a burst of connects (which do need the database) cannot
    hold up live messages. Other messages go to the sync handlers as before, in order.
    """

    async def __call__(self, scope, receive, send):
        self._async_send = send  # a sync consumer's base_send is wrapped for its thread
        await super().__call__(scope, receive, send)

    async def dispatch(self, message):
        if message.get("type") == "inbox.event":
            await self.live_event(message)
            return
        await super().dispatch(message)

    async def live_event(self, message: dict) -> None:
        raise NotImplementedError

    async def send_frame(self, frame: dict, message: dict | None = None) -> None:
        """Send ``frame``; with ``LIVE_EVENT_TIMING`` on, the ``sent_at`` of the layer
        ``message`` it forwards goes with it."""
        if message is not None and message.get("sent_at") is not None:
            frame = {**frame, "sent_at": message["sent_at"]}
        # json.dumps, as both consumers' encode_json (the async one's is a coroutine).
        await self._async_send({"type": "websocket.send", "text": json.dumps(frame)})
