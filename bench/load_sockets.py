"""Websocket driver: idle widget sockets and listening agent sockets (the ``websockets`` library).

Run by ``bench/load.py`` in its own process::

    python -m bench.load_sockets SPEC.json OUT.json

SPEC: ``{"widgets": [{"url", "origin"}], "agents": [{"url", "origin", "cookie"}],
"ready_file", "stop_file", "max_seconds", "open_concurrency"}``. Opens every socket, writes
``ready_file`` (JSON: how many opened, how many failed), records every ``message.created``
event until ``stop_file`` exists or ``max_seconds`` pass, then writes OUT:
``{"agent_events": [[agent, t, text, message id]], "widget_events": [[widget, t, text, id]],
"opened", "failed", "closed_early"}``. More sockets can be asked for while running: a file
``ready_file + ".more"`` with a JSON list of widget specs is picked up and answered with
``ready_file + ".more.done"``.

A refused connect is retried as the widget does (``widget/static/widget.js``: exponential
backoff from 1 s with jitter, here at most ``retries`` times, 3 by default): ``failed_first``
counts connects refused at the first try, ``failed`` those still refused after the retries.
With ``LIVE_EVENT_TIMING`` on in the servers, each event carries the server's ``sent_at`` (the
broadcast) and the events record it: broadcast -> socket is measured apart from POST -> socket.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import resource
import sys
import time

import websockets

_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (_hard, _hard))


class Driver:
    def __init__(self, spec: dict):
        self.spec = spec
        self.agent_events: list[list] = []
        self.widget_events: list[list] = []
        self.opened = 0
        self.failed = 0
        self.failed_first = 0
        self.closed_early = 0
        self.errors: list[str] = []
        self.sockets: list = []
        self.stopping = False

    async def _listen(self, ws, index: int, sink: list) -> None:
        try:
            async for raw in ws:
                now = time.time()
                try:
                    frame = json.loads(raw)
                except ValueError:
                    continue
                if frame.get("event") == "message.created":
                    data = frame.get("data") or {}
                    sink.append([index, now, data.get("text", ""), data.get("id"), frame.get("sent_at")])
        except websockets.ConnectionClosed:
            pass
        if not self.stopping:
            self.closed_early += 1

    async def _open(self, item: dict, index: int, sink: list, semaphore: asyncio.Semaphore,
                    wait_for_ready: bool) -> None:
        headers = {"Origin": item["origin"]}
        if item.get("cookie"):
            headers["Cookie"] = item["cookie"]
        retries = self.spec.get("retries", 3)
        for attempt in range(retries + 1):
            if attempt:
                # widget.js: min(30 s, 1 s * 2^n) * (0.5 .. 1), outside the open semaphore.
                await asyncio.sleep(min(30.0, 2 ** (attempt - 1)) * (0.5 + random.random() / 2))
            async with semaphore:
                try:
                    ws = await websockets.connect(item["url"], additional_headers=headers, open_timeout=60,
                                                  ping_interval=None, max_queue=None, compression=None)
                    if wait_for_ready:
                        # The widget says "ready" once it has joined its conversation's group.
                        await asyncio.wait_for(ws.recv(), timeout=60)
                    break
                except Exception as exc:  # noqa: BLE001 - counted, the run goes on
                    if attempt == 0:
                        self.failed_first += 1
                    if len(self.errors) < 5:
                        self.errors.append(f"{type(exc).__name__}: {exc}"[:200])
        else:
            self.failed += 1
            return
        self.opened += 1
        self.sockets.append(ws)
        asyncio.ensure_future(self._listen(ws, index, sink))

    async def open_widgets(self, widgets: list[dict], start: int) -> None:
        semaphore = asyncio.Semaphore(self.spec.get("open_concurrency", 100))
        await asyncio.gather(*(self._open(w, start + i, self.widget_events, semaphore, True)
                               for i, w in enumerate(widgets)))

    async def run(self) -> dict:
        spec = self.spec
        widgets = spec.get("widgets", [])
        await self.open_widgets(widgets, 0)
        count = len(widgets)
        semaphore = asyncio.Semaphore(10)
        await asyncio.gather(*(self._open(a, i, self.agent_events, semaphore, False)
                               for i, a in enumerate(spec.get("agents", []))))
        await asyncio.sleep(0.5)  # agents join their groups before accepting; let it settle
        self._write(spec["ready_file"], self.counts())
        deadline = time.monotonic() + spec.get("max_seconds", 600)
        more = spec["ready_file"] + ".more"
        while time.monotonic() < deadline and not os.path.exists(spec["stop_file"]):
            if os.path.exists(more):
                with open(more) as f:
                    extra = json.load(f)
                os.unlink(more)
                await self.open_widgets(extra, count)
                count += len(extra)
                self._write(more + ".done", self.counts())
            await asyncio.sleep(0.05)
        self.stopping = True
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)
        return {"agent_events": self.agent_events, "widget_events": self.widget_events, **self.counts()}

    def counts(self) -> dict:
        return {"opened": self.opened, "failed_first": self.failed_first, "failed": self.failed,
                "closed_early": self.closed_early, "errors": self.errors}

    @staticmethod
    def _write(path: str, data: dict) -> None:
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(data, f)
        os.replace(tmp, path)


def main(argv: list[str]) -> int:
    spec_path, out_path = argv
    with open(spec_path) as f:
        spec = json.load(f)
    out = asyncio.run(Driver(spec).run())
    with open(out_path, "w") as f:
        json.dump(out, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
