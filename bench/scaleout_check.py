"""Scale-out check: 2 web processes and 1 worker on PostgreSQL + Redis (tests/scaleout runs it).

    .venv/bin/python bench/scaleout_check.py --json out.json

1. a customer message posted to web 1 reaches an agent connected to web 2;
2. an agent typing on web 2 reaches the visitor's widget on web 1, and the visitor's typing
   reaches an agent on web 1; an agent connecting on web 1 shows as present on web 2;
3. the worker is killed (SIGKILL) in the middle of a burst and started again: every message is
   stored exactly once.

Prints and writes JSON with what was seen; exits non-zero if a check failed. Bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import websockets  # noqa: E402

from bench.load import Stack  # noqa: E402


def post(url: str, item: dict) -> int:
    request = urllib.request.Request(url + item["path"], data=item["body"].encode(), headers=item["headers"])
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


async def next_event(ws, predicate, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        try:
            frame = json.loads(await asyncio.wait_for(ws.recv(), remaining))
        except asyncio.TimeoutError:
            return None
        if predicate(frame):
            return frame


async def live_checks(app, data: dict, hosts: list[str], second_cookie: str, second_user_id: int) -> dict:
    ws1, ws2 = (h.replace("http://", "ws://") for h in hosts)
    origin = hosts[0]
    results = {}
    target = data["reply_targets"][0]
    # An agent socket's origin must be the very site it connects to (inbox/ws_origin.py).
    agent_on_2 = await websockets.connect(f"{ws2}/ws/agent/", additional_headers={
        "Origin": hosts[1], "Cookie": data["cookie"]})
    widget_on_1 = await websockets.connect(
        f"{ws1}/ws/widget/?inbox={data['webchat']}&token={target['token']}", additional_headers={"Origin": origin})
    ready = json.loads(await widget_on_1.recv())
    results["widget_ready"] = ready.get("event") == "ready" and ready["data"]["conversation_id"] == target[
        "conversation_id"]

    # 1. A webhook received by web 1 reaches the agent on web 2.
    item = app.webhook_requests(public_id=data["without_bot"], count=1, customers=1, tag="cross")[0]
    status = await asyncio.to_thread(post, hosts[0], item)
    frame = await next_event(agent_on_2, lambda f: f.get("event") == "message.created"
                             and "[cross-0]" in (f.get("data") or {}).get("text", ""))
    results["message_across_processes"] = status == 200 and frame is not None

    # 2. Presence: a second agent connecting on web 1 is announced on web 2.
    agent_on_1 = await websockets.connect(f"{ws1}/ws/agent/", additional_headers={
        "Origin": origin, "Cookie": second_cookie})
    frame = await next_event(agent_on_2, lambda f: f.get("event") == "agent.presence"
                             and f["data"].get("user_id") == second_user_id and f["data"].get("presence") == "online")
    results["presence_across_processes"] = frame is not None

    # 3. Typing both ways: agent on web 2 -> widget on web 1; widget on web 1 -> agent on web 1 and 2.
    await agent_on_2.send(json.dumps({"action": "typing", "conversation_id": target["conversation_id"],
                                      "typing": True}))
    frame = await next_event(widget_on_1, lambda f: f.get("event") == "typing" and f["data"].get("typing"))
    results["agent_typing_reaches_widget"] = frame is not None
    await widget_on_1.send(json.dumps({"action": "typing", "typing": True}))
    frame = await next_event(agent_on_2, lambda f: f.get("event") == "typing"
                             and f["data"].get("who") == "contact")
    results["visitor_typing_reaches_agent"] = frame is not None
    for ws in (agent_on_2, agent_on_1, widget_on_1):
        await ws.close()
    return results


def worker_kill_check(app, stack: Stack, data: dict, count: int, timeout: float) -> dict:
    """A burst over both web processes; the worker is killed once a fifth is stored, then
    started again. Everything must be stored exactly once."""
    items = app.webhook_requests(public_id=data["without_bot"], count=count, customers=50, tag="kill")
    with ThreadPoolExecutor(16) as pool:
        futures = [pool.submit(post, stack.hosts[i % 2], item) for i, item in enumerate(items)]
        killed_at = None
        deadline = time.monotonic() + timeout
        while killed_at is None and time.monotonic() < deadline:
            stored = len(app.message_rows("kill"))
            if stored >= count // 5:
                stack.procs["worker"].kill()
                stack.procs["worker"].wait()
                killed_at = stored
            time.sleep(0.05)
        statuses = [f.result() for f in futures]
    stack.start_worker()
    rows = {}
    while time.monotonic() < deadline:
        rows = app.message_rows("kill")
        if len(rows) >= count and app.events_left(data["without_bot"]) == 0:
            break
        time.sleep(1.0)
    return {"posted": count, "post_errors": sum(1 for s in statuses if s != 200), "killed_after_rows": killed_at,
            "stored": len(rows), "duplicates": sum(1 for v in rows.values() if len(v) > 1),
            "lost": sum(1 for i in range(count) if f"kill-{i}" not in rows)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=300)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="scaleout-check-"))
    stack = Stack("scaleout", workdir, worker_threads=4)
    try:
        stack.start_services()
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.test import Client

        from bench import load_app as app
        from inbox.models import Inbox

        data = app.setup(graph_base=stack.graph_base, visitors=0, reply_targets=1)
        second = get_user_model().objects.create_user("bench-agent-2", password="x-" + workdir.name)
        for inbox in Inbox.objects.all():
            inbox.members.add(second)
        client = Client()
        client.force_login(second)
        second_cookie = f"sessionid={client.cookies['sessionid'].value}"
        stack.start_app()
        results = asyncio.run(live_checks(app, data, stack.hosts, second_cookie, second.pk))
        results["worker_killed_mid_burst"] = worker_kill_check(app, stack, data, args.burst, args.timeout)
    finally:
        stack.stop()
    kill = results["worker_killed_mid_burst"]
    ok = all(v for k, v in results.items() if isinstance(v, bool)) and kill["lost"] == 0 and kill[
        "duplicates"] == 0 and kill["post_errors"] == 0 and kill["killed_after_rows"] is not None
    results["ok"] = ok
    print(json.dumps(results, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
