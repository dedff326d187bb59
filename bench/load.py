"""Load benchmark: the app under signed webhooks, idle widget sockets and agent sockets.

    .venv/bin/python bench/load.py --setup embedded     # manage.py serve: SQLite, in-memory layer, in-process worker
    .venv/bin/python bench/load.py --setup scaleout     # PostgreSQL + Redis, 2 web processes + 1 worker
    .venv/bin/python bench/load.py --setup embedded --smoke --json out.json   # tiny, for the test suite
    .venv/bin/python bench/load.py --sockets-only --server-cpus 1 --driver-cpus 0   # live path and idle sockets only

It starts everything itself on loopback (private PostgreSQL/Redis from tests/servers.py, the
Graph API fake from tests/fakes/graph_api.py), drives the servers from separate processes
(bench/load_http.py with Locust, bench/load_sockets.py with ``websockets``), bounded in count
and time, and prints each figure of issue #16 next to a baseline measured in the same run: a
trivial Django POST view on the same servers (bench/urls.py) and a loopback TCP round trip.
The load average is printed with every phase. See bench/README.md for the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PY = sys.executable

from tests.servers import PostgresServer, RedisServer, free_port  # noqa: E402


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def load() -> str:
    return "load avg " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def pin(cpus: list[int] | None):
    """A ``preexec_fn`` that pins the child to ``cpus`` (None: no pinning)."""
    def apply():
        if cpus:
            os.sched_setaffinity(0, cpus)
    return apply


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def loopback_rtt_ms(rounds: int = 2000) -> float:
    """Median round trip of one byte over a loopback TCP connection (the floor of any figure)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def echo():
        conn, _ = server.accept()
        with conn:
            while data := conn.recv(1):
                conn.sendall(data)

    threading.Thread(target=echo, daemon=True).start()
    client = socket.create_connection(server.getsockname())
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        client.sendall(b"x")
        client.recv(1)
        times.append((time.perf_counter() - start) * 1000)
    client.close()
    server.close()
    return statistics.median(times)


class Stack:
    """The servers under test and their environment."""

    def __init__(self, setup: str, workdir: Path, worker_threads: int, cpus: list[int] | None = None):
        self.setup, self.workdir, self.cpus = setup, workdir, cpus
        self.procs: dict[str, subprocess.Popen] = {}
        self.ports: list[int] = []
        self.pg = self.redis = None
        self.env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_VERSION", "DJANGO_SETTINGS_MODULE")}
        self.env.update({
            "DJANGO_SETTINGS_MODULE": "bench.settings", "SECRET_KEY": "bench-" + os.urandom(8).hex(),
            "ALLOWED_HOSTS": "127.0.0.1,localhost", "DATA_DIR": str(workdir / "data"), "LOG_LEVEL": "WARNING",
            "HUEY_IMMEDIATE": "0", "WORKER_THREADS": str(worker_threads), "PYTHONPATH": str(ROOT),
            "SECURE_COOKIES": "0",
            # Each live event carries its broadcast time: broadcast -> socket apart from POST -> socket.
            "LIVE_EVENT_TIMING": "1",
        })
        for key in ("DATABASE_URL", "REDIS_URL", "TEST_REDIS_URL"):
            self.env.pop(key, None)

    def start_services(self) -> None:
        if self.setup == "scaleout":
            self.pg = PostgresServer().start()
            self.redis = RedisServer().start()
            self.env["DATABASE_URL"] = self.pg.create_database("bench")
            self.env["REDIS_URL"] = self.redis.url()
        graph = subprocess.Popen([PY, "-m", "tests.fakes.graph_api"], cwd=ROOT, env=self.env,
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.procs["graph"] = graph
        self.graph_base = graph.stdout.readline().strip()
        os.environ.update(self.env)
        subprocess.run([PY, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=self.env, check=True)

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "ab")

        def raise_fd_limit():
            import resource

            _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            pin(self.cpus)()

        proc = subprocess.Popen([PY, "manage.py", *args], cwd=ROOT, env=self.env, stdout=log,
                                stderr=subprocess.STDOUT, preexec_fn=raise_fd_limit)
        self.procs[name] = proc
        return proc

    def start_app(self) -> None:
        webs = 1 if self.setup == "embedded" else 2
        ports = [free_port() for _ in range(webs)]
        # Behind a proxy every web process serves the same site; here each has its own port, so
        # each one's origin is trusted by all (the agents' websocket checks scheme, host and port).
        self.env["CSRF_TRUSTED_ORIGINS"] = ",".join(f"http://127.0.0.1:{p}" for p in ports)
        for i, port in enumerate(ports):
            extra = [] if self.setup == "embedded" else ["--no-worker"]
            self._spawn(f"web{i + 1}", ["serve", "--host", "127.0.0.1", "--port", str(port), *extra])
            self.ports.append(port)
        if self.setup == "scaleout":
            self.start_worker()
        for port in self.ports:
            self._wait_http(f"http://127.0.0.1:{port}/bench/echo/")

    def start_worker(self) -> None:
        self._spawn("worker", ["run_huey", "--workers", self.env["WORKER_THREADS"], "--worker-type", "thread"])

    def _wait_http(self, url: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(url, timeout=2).read()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{url} did not answer; see {self.workdir}/*.log")

    @property
    def hosts(self) -> list[str]:
        return [f"http://127.0.0.1:{p}" for p in self.ports]

    @property
    def web_pids(self) -> list[int]:
        return [self.procs[f"web{i + 1}"].pid for i in range(len(self.ports))]

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        for server in (self.redis, self.pg):
            if server is not None:
                server.stop()


class Drivers:
    """Runs the HTTP driver to completion and keeps the socket driver running in the background."""

    def __init__(self, workdir: Path, env: dict, cpus: list[int] | None = None):
        self.workdir, self.env, self.cpus = workdir, env, cpus
        self.socket_proc = None
        self.n = 0

    def http(self, requests: list[dict], *, hosts: list[str], users: int, rate_per_user: float | None = None,
             max_seconds: float = 300) -> list[list]:
        self.n += 1
        spec, out = self.workdir / f"http{self.n}.json", self.workdir / f"http{self.n}.out.json"
        spec.write_text(json.dumps({"hosts": hosts, "users": users, "rate_per_user": rate_per_user,
                                    "max_seconds": max_seconds, "requests": requests}))
        subprocess.run([PY, "-m", "bench.load_http", str(spec), str(out)], cwd=ROOT, env=self.env, check=True,
                       stderr=subprocess.DEVNULL, timeout=max_seconds + 60, preexec_fn=pin(self.cpus))
        return json.loads(out.read_text())["results"]

    def start_sockets(self, widgets: list[dict], agents: list[dict], max_seconds: float) -> dict:
        self.ready, self.stop_file = self.workdir / "sockets.ready", self.workdir / "sockets.stop"
        spec = self.workdir / "sockets.json"
        self.socket_out = self.workdir / "sockets.out.json"
        spec.write_text(json.dumps({"widgets": widgets, "agents": agents, "ready_file": str(self.ready),
                                    "stop_file": str(self.stop_file), "max_seconds": max_seconds}))
        self.socket_proc = subprocess.Popen([PY, "-m", "bench.load_sockets", str(spec), str(self.socket_out)],
                                            cwd=ROOT, env=self.env, preexec_fn=pin(self.cpus))
        return self._wait_file(self.ready)

    def more_widgets(self, widgets: list[dict]) -> dict:
        done = Path(str(self.ready) + ".more.done")
        done.unlink(missing_ok=True)
        tmp = Path(str(self.ready) + ".more.tmp")
        tmp.write_text(json.dumps(widgets))
        tmp.rename(str(self.ready) + ".more")
        return self._wait_file(done)

    def _wait_file(self, path: Path, timeout: float = 600) -> dict:
        deadline = time.monotonic() + timeout
        while not path.exists():
            if self.socket_proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the socket driver stopped or timed out")
            time.sleep(0.1)
        return json.loads(path.read_text())

    def stop_sockets(self) -> dict:
        self.stop_file.touch()
        self.socket_proc.wait(timeout=120)
        return json.loads(self.socket_out.read_text())


def wait_processed(app, tag: str, count: int, public_id: str, since: float, *, bot: bool,
                   timeout: float, quiet: float = 20.0) -> dict:
    """Wait until every message of ``tag`` has its row (and, with the bot, its answer; the last
    answers may be a hand-off, so 3 s without a new one after the last row also ends it), or
    until nothing changed for ``quiet`` seconds (a stall: the figures then show what is missing)."""
    deadline = time.monotonic() + timeout
    last, stable_since = None, time.monotonic()
    while time.monotonic() < deadline:
        rows = app.message_rows(tag)
        replies = app.bot_replies_since(public_id, since) if bot else []
        state = (len(rows), len(replies), app.events_left(public_id))
        if state != last:
            last, stable_since = state, time.monotonic()
        stable = time.monotonic() - stable_since
        if len(rows) >= count and state[2] == 0 and (not bot or len(replies) >= count or stable > 3):
            break
        if stable > quiet:
            break
        time.sleep(0.25)
    return {"rows": rows, "replies": replies}


def summarize_burst(name: str, posts: list[list], done: dict, tag: str, count: int, bot: bool) -> dict:
    ok = [r for r in posts if 200 <= r[3] < 300]
    errors = len(posts) - len(ok)
    span = max(r[2] for r in posts) - min(r[1] for r in posts)
    sent_at = {f"{tag}-{r[0]}": r[1] for r in ok}
    rows = done["rows"]
    lost = [m for m in sent_at if m not in rows]
    duplicates = sum(1 for v in rows.values() if len(v) > 1)
    latency = [min(rows[m]) - t for m, t in sent_at.items() if m in rows]
    ends = [max(v) for v in rows.values()] + (done["replies"] if bot else [])
    first = min(r[1] for r in posts)
    rate = count / (max(ends) - first) if ends else 0.0
    return {"name": name, "post_rps": len(ok) / span if span else 0.0, "errors": errors, "lost": len(lost),
            "duplicates": duplicates, "p50": pct(latency, 50), "p99": pct(latency, 99), "msg_per_s": rate,
            "bot_replies": len(done["replies"]), "count": count}


def match_socket_events(posts: list[list], events: list[list], tag: str) -> dict:
    sent_at = {f"{tag}-{r[0]}": r[1] for r in posts if 200 <= r[3] < 300}
    seen: dict[str, float] = {}
    broadcast: dict[str, float] = {}
    for _index, t, text, _id, *timing in events:
        if f"[{tag}-" in text:
            marker = text[text.rindex("[") + 1:-1]
            if marker not in seen:
                seen[marker] = t
                if timing and timing[0]:
                    broadcast[marker] = (t - timing[0]) * 1000
    latency = [(seen[m] - t) * 1000 for m, t in sent_at.items() if m in seen]
    live = [broadcast[m] for m in sent_at if m in broadcast]
    return {"p50_ms": pct(latency, 50), "p99_ms": pct(latency, 99), "missing": len(sent_at) - len(latency),
            "sent": len(sent_at), "errors": sum(1 for r in posts if not 200 <= r[3] < 300),
            "broadcast_p50_ms": pct(live, 50), "broadcast_p99_ms": pct(live, 99),
            "broadcast_max_ms": max(live) if live else float("nan")}


def reply_requests(targets: list[dict], count: int, token: str, tag: str) -> list[dict]:
    items = []
    for i in range(count):
        target = targets[i % len(targets)]
        items.append({"path": f"/api/conversations/{target['conversation_id']}/messages/", "name": "reply",
                      "body": json.dumps({"text": f"Já vou verificar, um momento [{tag}-{i}]"}),
                      "headers": {"Content-Type": "application/json", "Authorization": f"Token {token}"}})
    return items


def widget_specs(ws_base: list[str], public_id: str, tokens: list[str], origin: str) -> list[dict]:
    return [{"url": f"{ws_base[i % len(ws_base)]}/ws/widget/?inbox={public_id}&token={token}", "origin": origin}
            for i, token in enumerate(tokens)]


def run(args) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    stack = Stack(args.setup, workdir, args.worker_threads, args.server_cpus)
    out: dict = {"setup": args.setup, "phases": {}}
    phases = out["phases"]
    try:
        stack.start_services()
        import django

        django.setup()
        from bench import load_app as app

        widget_total = max(args.widgets + [args.memory_widgets])
        data = app.setup(graph_base=stack.graph_base, visitors=widget_total, reply_targets=args.reply_targets)
        stack.start_app()
        hosts = stack.hosts
        ws_base = [h.replace("http://", "ws://") for h in hosts]
        origin = hosts[0]
        drivers = Drivers(workdir, stack.env, args.driver_cpus)
        print(f"[{args.setup}] servers up: {hosts}; {load()}", flush=True)

        phases["rtt_ms"] = loopback_rtt_ms()
        base = drivers.http(app.echo_requests(args.baseline_count), hosts=hosts, users=args.clients)
        ok = [r for r in base if 200 <= r[3] < 300]
        phases["baseline_rps"] = len(ok) / (max(r[2] for r in base) - min(r[1] for r in base))
        phases["baseline_load"] = load()
        print(f"baseline: echo view {phases['baseline_rps']:.0f} req/s, loopback RTT {phases['rtt_ms']:.3f} ms; "
              f"{load()}", flush=True)

        # One agent tab, on the last web process (the webhooks go to the first one too).
        agent_url = f"{ws_base[-1]}/ws/agent/"
        # The agent socket's origin must be the site it connects to (scheme, host and port).
        agents = [{"url": agent_url, "origin": hosts[-1], "cookie": data["cookie"]}]
        targets = widget_specs(ws_base, data["webchat"], [t["token"] for t in data["reply_targets"]], origin)
        ready = drivers.start_sockets(targets, agents, max_seconds=args.max_seconds)
        drivers.opened = ready["opened"]
        print(f"sockets: {ready}", flush=True)
        live_posts: list[tuple[str, list, str]] = []

        bursts = () if args.sockets_only else (("burst_bot", data["with_bot"], True),
                                               ("burst_nobot", data["without_bot"], False))
        for name, public_id, bot in bursts:
            tag = name.replace("_", "")
            requests = app.webhook_requests(public_id=public_id, count=args.burst, customers=200, tag=tag)
            since = time.time()
            posts = drivers.http(requests, hosts=hosts if args.setup == "scaleout" else hosts[:1], users=args.clients)
            done = wait_processed(app, tag, args.burst, public_id, since, bot=bot, timeout=args.process_timeout)
            phases[name] = summarize_burst(name, posts, done, tag, args.burst, bot)
            phases[name]["load"] = load()
            live_posts.append((name, posts, tag))
            print(f"{name}: {json.dumps(phases[name])}", flush=True)

        def live(name: str, count: int, rate: float) -> None:
            tag = name.replace("_", "")
            users = max(1, int(round(rate)))
            requests = app.webhook_requests(public_id=data["with_bot"], count=count, customers=200, tag=tag)
            posts = drivers.http(requests, hosts=hosts[:1], users=users, rate_per_user=rate / users,
                                 max_seconds=count / rate + 60)
            live_posts.append((name, posts, tag))
            time.sleep(1.0)
            phases.setdefault("load_" + name, load())

        live("live_slow", args.slow_count, 2.0)
        if args.idle_seconds:
            time.sleep(args.idle_seconds)
            live("live_after_idle", 5, 1.0)

        opened = len(targets)
        tokens = data["widget_tokens"]
        memory = []
        for count in sorted(set(args.widgets + [args.memory_widgets])):
            if count > opened - len(targets) and count:
                before = [rss_kb(pid) for pid in stack.web_pids]
                extra = widget_specs(ws_base, data["webchat"], tokens[opened - len(targets):count], origin)
                opened_before = drivers.opened
                start = time.monotonic()
                result = drivers.more_widgets(extra)
                wave_s = time.monotonic() - start
                time.sleep(2.0)
                after = [rss_kb(pid) for pid in stack.web_pids]
                drivers.opened = result["opened"]
                new = result["opened"] - opened_before
                # Divided by the sockets that did open (a refused one costs the server nothing).
                memory.append({"widgets": count, "added": len(extra), "new_open": new, "wave_s": wave_s,
                               "rss_before_kb": before, "rss_after_kb": after,
                               "kb_per_socket": (sum(after) - sum(before)) / max(1, new), **result})
                opened = len(targets) + count
                print(f"widgets: {memory[-1]}; {load()}", flush=True)
            if count in args.widgets:
                live(f"live_fast_{count}", args.live_count, 20.0)
        phases["memory"] = memory

        replies = drivers.http(reply_requests(data["reply_targets"], args.reply_count, data["api_token"], "reply"),
                               hosts=hosts[:1], users=10, rate_per_user=1.0, max_seconds=args.reply_count / 10 + 60)
        time.sleep(2.0)
        phases["load_replies"] = load()
        sockets = drivers.stop_sockets()
        for name, posts, tag in live_posts:
            phases.setdefault("socket", {})[name] = match_socket_events(posts, sockets["agent_events"], tag)
        phases["socket"]["replies"] = match_socket_events(replies, sockets["widget_events"], "reply")
        phases["socket_counts"] = {k: sockets[k] for k in ("opened", "failed_first", "failed", "closed_early",
                                                           "errors")}
        if not args.sockets_only:
            phases["processing"] = app.inbound_processing_cost(public_id=data["with_bot"], count=args.cost_count)
        phases["final_load"] = load()
    finally:
        stack.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"kept {workdir}")
    return out


def report(out: dict) -> None:
    p = out["phases"]
    s = p.get("socket", {})
    print(f"\n=== {out['setup']} ===")
    print(f"baseline: trivial Django POST view {p['baseline_rps']:.0f} req/s ({p['baseline_load']}); "
          f"loopback round trip {p['rtt_ms']:.3f} ms")
    for name in ("burst_bot", "burst_nobot"):
        if name not in p:
            continue
        b = p[name]
        print(f"{name}: {b['count']} webhooks, POST {b['post_rps']:.0f} req/s = {b['post_rps'] / p['baseline_rps']:.2f}"
              f" x baseline, {b['errors']} errors; processed {b['msg_per_s']:.0f} msg/s (bot replies "
              f"{b['bot_replies']}); POST->row p50 {b['p50']:.2f} s p99 {b['p99']:.2f} s; lost {b['lost']}, "
              f"duplicated {b['duplicates']} ({b['load']})")
    for name, fig in s.items():
        print(f"socket {name}: p50 {fig['p50_ms']:.1f} ms p99 {fig['p99_ms']:.1f} ms, missing {fig['missing']} of "
              f"{fig['sent']}, POST errors {fig['errors']}; broadcast->socket p50 {fig['broadcast_p50_ms']:.1f} ms "
              f"p99 {fig['broadcast_p99_ms']:.1f} ms max {fig['broadcast_max_ms']:.1f} ms ({p.get('load_' + name, '')})")
    for m in p.get("memory", []):
        print(f"memory: {m['added']} more idle widgets (total {m['widgets']}): {m['kb_per_socket']:.1f} KB per socket"
              f" opened ({m['new_open']} opened in {m['wave_s']:.1f} s); RSS {m['rss_before_kb']} -> "
              f"{m['rss_after_kb']} KB; open {m['opened']}, refused at first try {m['failed_first']} (all so far), "
              f"failed after retries {m['failed']}")
    report_processing(p.get("processing", {}))
    print(f"sockets: {p['socket_counts']}; {p['final_load']}")


def report_processing(c: dict) -> None:
    """The per-message cost lines (``load_app.inbound_processing_cost``)."""
    for part in ("new", "returning", "bot_task") if c else ():
        f = c[part]
        label = {"new": "inbound message, new customer", "returning": "inbound message, returning customer",
                 "bot_task": "its bot task (in the worker, after the broadcast)"}[part]
        print(f"processing ({c['vendor']}) {label}: {f['ms']:.1f} ms and {f['queries']:.1f} queries per message "
              f"in batches of {c.get('batch', 1)} ({f['statements']:.1f} statements with BEGIN/COMMIT/SAVEPOINT)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setup", choices=["embedded", "scaleout"], default="embedded")
    parser.add_argument("--smoke", action="store_true", help="tiny counts, for the test suite (correctness only)")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--burst", type=int, default=3000)
    parser.add_argument("--baseline-count", type=int, default=3000)
    parser.add_argument("--widgets", default="0,1000,5000", help="idle widget counts for the 20 msg/s runs")
    parser.add_argument("--memory-widgets", type=int, default=10000)
    parser.add_argument("--live-count", type=int, default=500)
    parser.add_argument("--slow-count", type=int, default=40)
    parser.add_argument("--idle-seconds", type=float, default=40)
    parser.add_argument("--reply-targets", type=int, default=50)
    parser.add_argument("--reply-count", type=int, default=500)
    parser.add_argument("--cost-count", type=int, default=40)
    parser.add_argument("--worker-threads", type=int, default=4)
    parser.add_argument("--process-timeout", type=float, default=600)
    parser.add_argument("--max-seconds", type=float, default=1800, help="upper bound for the socket driver")
    parser.add_argument("--sockets-only", action="store_true",
                        help="skip the webhook bursts and the processing cost: live path, replies and idle sockets")
    parser.add_argument("--server-cpus", help="pin the servers to these CPUs (taskset style list: 1 or 0,1)")
    parser.add_argument("--driver-cpus", help="pin the drivers (Locust, websockets) to these CPUs")
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs)")
    args = parser.parse_args(argv)
    args.widgets = [int(x) for x in args.widgets.split(",") if x != ""]
    args.server_cpus = [int(x) for x in args.server_cpus.split(",")] if args.server_cpus else None
    args.driver_cpus = [int(x) for x in args.driver_cpus.split(",")] if args.driver_cpus else None
    if args.smoke:
        args.burst, args.baseline_count, args.widgets, args.memory_widgets = 40, 40, [0, 20], 20
        args.live_count, args.slow_count, args.idle_seconds, args.reply_targets = 20, 4, 0, 3
        args.reply_count, args.cost_count, args.clients, args.process_timeout = 6, 4, 8, 120
    out = run(args)
    report(out)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
