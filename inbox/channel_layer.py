"""The embedded default's channel layer: in-process, thread-safe, and as cheap with 10,000
connected clients as with ten.

Why not Channels' ``InMemoryChannelLayer``: it is meant for tests. Every ``send``,
``receive`` and ``group_send`` scans every channel and every group membership for expired
messages (O(clients) per event, so 5,000 idle widgets slow every live message down), and its
``asyncio.Queue`` objects are not thread-safe: the task worker threads send from their own event
loops, which fails with ``RuntimeError: dictionary changed size during iteration`` or, worse,
puts a message in a queue without waking the loop that waits on it, so the event arrives
seconds later or not at all.

Here:
- a send costs O(members of the group): no scans, no timers, no expiry sweeps;
- each channel is a small mailbox (a list and at most one waiting future) guarded by one lock;
  a sender in another thread or event loop wakes the receiver's loop with
  ``call_soon_threadsafe``, so an event reaches a socket as soon as it is sent;
- :meth:`group_send_now` sends from plain synchronous code (the write path after a commit, the
  worker threads) without starting an event loop per call.

A mailbox holds at most ``capacity`` messages; past that, group messages to it are dropped (as
Channels' layers do) and a direct ``send`` raises ``ChannelFull``. Messages are shared between
the receivers of a group (a shallow copy each): consumers must not change nested values.
Scale-out uses ``channels_redis`` instead (see docs/deployment.md).
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from typing import Any

from channels.exceptions import ChannelFull
from channels.layers import BaseChannelLayer


class _Mailbox:
    __slots__ = ("messages", "waiter")

    def __init__(self) -> None:
        self.messages: list[dict] = []
        self.waiter: asyncio.Future | None = None


def _wake(waiter: asyncio.Future) -> None:
    if not waiter.done():
        waiter.set_result(None)


class LocalChannelLayer(BaseChannelLayer):
    extensions = ["groups", "flush"]

    def __init__(self, capacity: int = 100, channel_capacity=None, **kwargs: Any) -> None:
        super().__init__(capacity=capacity, channel_capacity=channel_capacity, **kwargs)
        self._lock = threading.Lock()
        self._mailboxes: dict[str, _Mailbox] = {}
        self._groups: dict[str, set[str]] = {}

    # --- channels -------------------------------------------------------------------------------

    async def new_channel(self, prefix: str = "specific.") -> str:
        name = f"{prefix}local!{secrets.token_hex(8)}"
        with self._lock:
            self._mailboxes[name] = _Mailbox()
        return name

    def _put(self, channel: str, message: dict) -> bool:
        """Queue ``message`` on ``channel`` and wake its receiver; False if the mailbox is full.
        Call with the lock held."""
        box = self._mailboxes.get(channel)
        if box is None:
            box = self._mailboxes[channel] = _Mailbox()
        if len(box.messages) >= self.get_capacity(channel):
            return False
        box.messages.append(message)
        waiter, box.waiter = box.waiter, None
        if waiter is not None and not waiter.done():
            loop = waiter.get_loop()
            if asyncio._get_running_loop() is loop:
                waiter.set_result(None)
            else:
                loop.call_soon_threadsafe(_wake, waiter)
        return True

    async def send(self, channel: str, message: dict) -> None:
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_channel_name(channel)
        with self._lock:
            if not self._put(channel, dict(message)):
                raise ChannelFull(channel)

    async def receive(self, channel: str) -> dict:
        self.require_valid_channel_name(channel)
        loop = asyncio.get_running_loop()
        while True:
            with self._lock:
                box = self._mailboxes.get(channel)
                if box is None:
                    box = self._mailboxes[channel] = _Mailbox()
                if box.messages:
                    return box.messages.pop(0)
                waiter = box.waiter = loop.create_future()
            try:
                await waiter
            except asyncio.CancelledError:
                with self._lock:
                    if box.waiter is waiter:
                        box.waiter = None
                    # An empty mailbox holds nothing worth keeping: a later send makes a new one.
                    if not box.messages and self._mailboxes.get(channel) is box:
                        del self._mailboxes[channel]
                raise

    # --- groups ---------------------------------------------------------------------------------

    async def group_add(self, group: str, channel: str) -> None:
        self.require_valid_group_name(group)
        self.require_valid_channel_name(channel)
        with self._lock:
            self._groups.setdefault(group, set()).add(channel)

    async def group_discard(self, group: str, channel: str) -> None:
        self.require_valid_group_name(group)
        self.require_valid_channel_name(channel)
        with self._lock:
            members = self._groups.get(group)
            if members is not None:
                members.discard(channel)
                if not members:
                    del self._groups[group]

    def group_send_now(self, group: str, message: dict) -> int:
        """Send to every member of ``group`` from any thread, sync or async; returns how many
        mailboxes took it (full ones are skipped)."""
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_group_name(group)
        delivered = 0
        with self._lock:
            for channel in tuple(self._groups.get(group, ())):
                delivered += self._put(channel, dict(message))
        return delivered

    async def group_send(self, group: str, message: dict) -> None:
        self.group_send_now(group, message)

    # --- flush extension ------------------------------------------------------------------------

    async def flush(self) -> None:
        with self._lock:
            self._mailboxes.clear()
            self._groups.clear()

    async def close(self) -> None:
        pass

    def stats(self) -> dict[str, int]:
        """Counts for tests and the benchmark."""
        with self._lock:
            return {"channels": len(self._mailboxes), "groups": len(self._groups),
                    "queued": sum(len(b.messages) for b in self._mailboxes.values())}
