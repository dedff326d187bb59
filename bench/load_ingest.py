"""Ingest benchmark: the webhook and message-processing half of ``bench/load.py`` alone.

    .venv/bin/python bench/load_ingest.py --setup embedded --burst 1000
    .venv/bin/python bench/load_ingest.py --setup scaleout --burst 1000
    .venv/bin/python bench/load_ingest.py --setup embedded --profile 25   # py-spy on the server during the bot burst
    .venv/bin/python bench/load_ingest.py --profile 25 --profile-bursts bot,nobot --keep-profile /tmp/p.txt
    .venv/bin/python bench/load_ingest.py --hold   # the pump held (WEBHOOK_PUMP=0): the requests' own cost

Same servers, drivers and figures as ``bench/load.py`` (its ``Stack``, ``Drivers``,
``summarize_burst``): the trivial-view baseline, then a burst of signed WhatsApp webhooks with
the bot on and one with it off, each with POST throughput, POST -> row latency, messages
processed per second, lost and duplicated; then the queries per inbound message. No sockets,
so a run takes a minute or two and can be repeated before and after a change in the same
conditions (run it pinned: ``taskset -c 1``). ``--profile N`` records N seconds of the server
with py-spy from the start of the bot burst (``--profile-bursts`` picks the bursts; with
``--keep-profile``, py-spy's collapsed stacks are copied there, ``-bot`` / ``-nobot`` added to the
name; ``baseline`` in ``--profile-bursts`` records the trivial view's run too;
``bench/profile_areas.py`` sums them by area). Each burst also prints the server's CPU time
(user + system, from ``/proc``) per message, the baseline its CPU per request. ``--hold`` starts the server without its pump
(``WEBHOOK_PUMP=0``), so a burst measures the webhook request alone, processing held: compare
its POST ratio with a normal run's to tell the request's own cost from the processing's share
of the core (the held events are left unprocessed; the run ends after the POSTs).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import Drivers, Stack, load, report_processing, summarize_burst, wait_processed  # noqa: E402


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(args) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    stack = Stack(args.setup, workdir, args.worker_threads)
    if args.hold:
        stack.env["WEBHOOK_PUMP"] = "0"
    out: dict = {"setup": args.setup, "phases": {}, "hold": args.hold}
    phases = out["phases"]
    try:
        stack.start_services()
        import django

        django.setup()
        from bench import load_app as app

        data = app.setup(graph_base=stack.graph_base, visitors=0, reply_targets=0)
        stack.start_app()
        hosts = stack.hosts
        drivers = Drivers(workdir, stack.env)
        server = stack.procs["worker" if args.setup == "scaleout" else "web1"].pid
        cpu_before = cpu_seconds(stack.procs["web1"].pid)
        if args.profile and "baseline" in args.profile_bursts.split(","):
            spy = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(stack.procs["web1"].pid),
                                    "--duration", str(int(args.profile)), "--rate", "50", "--format", "raw", "--output",
                                    str(workdir / "profile-baseline.txt"), "--nonblocking"], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL,
                                   preexec_fn=lambda: os.sched_setaffinity(0, range(os.cpu_count() or 1)))
        else:
            spy = None
        base = drivers.http(app.echo_requests(args.baseline_count), hosts=hosts, users=args.clients)
        phases["baseline_cpu_ms"] = (cpu_seconds(stack.procs["web1"].pid) - cpu_before) * 1000 / args.baseline_count
        if spy is not None:
            spy.wait(timeout=args.profile + 60)
            if args.keep_profile and (workdir / "profile-baseline.txt").exists():
                kept = Path(args.keep_profile)
                shutil.copy(workdir / "profile-baseline.txt", kept.with_name(f"{kept.stem}-baseline{kept.suffix}"))
        ok = [r for r in base if 200 <= r[3] < 300]
        phases["baseline_rps"] = len(ok) / (max(r[2] for r in base) - min(r[1] for r in base))
        phases["baseline_load"] = load()
        for name, public_id, bot in (("burst_bot", data["with_bot"], True), ("burst_nobot", data["without_bot"], False)):
            if name == "burst_nobot" and (args.bot_only or args.hold):
                continue
            tag = name.replace("_", "") + str(int(time.time()) % 100000)
            requests = app.webhook_requests(public_id=public_id, count=args.burst, customers=200, tag=tag)
            spy = None
            profiled = name.removeprefix("burst_") in args.profile_bursts.split(",")
            if args.profile and profiled:
                spy = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(server), "--duration", str(int(args.profile)),
                                        "--rate", "50", "--format", "raw", "--output", str(workdir / "profile.txt"),
                                        "--nonblocking"], stdout=subprocess.DEVNULL,
                                       stderr=open(workdir / "py-spy.log", "wb"),
                                       # the sampler itself off the pinned core where it can be
                                       preexec_fn=lambda: os.sched_setaffinity(0, range(os.cpu_count() or 1)))
            since = time.time()
            cpu_before = cpu_seconds(server)
            posts = drivers.http(requests, hosts=hosts if args.setup == "scaleout" else hosts[:1], users=args.clients)
            if args.hold:
                done = {"rows": {}, "replies": []}
            else:
                done = wait_processed(app, tag, args.burst, public_id, since, bot=bot, timeout=args.process_timeout)
            if bot and not args.hold:
                # The replies' sends to the Graph API fake run after the answers are stored; wait
                # for them (bounded), so the next burst does not share the core with them.
                drain_deadline = time.monotonic() + args.process_timeout
                while app.sends_pending(public_id) and time.monotonic() < drain_deadline:
                    time.sleep(0.25)
                phases[name + "_sent"] = {"seconds": time.time() - since, "pending": app.sends_pending(public_id)}
            cpu_ms = (cpu_seconds(server) - cpu_before) * 1000
            phases[name] = summarize_burst(name, posts, done, tag, args.burst, bot)
            phases[name]["cpu_ms_per_msg"] = cpu_ms / args.burst
            phases[name]["server"] = "worker" if args.setup == "scaleout" else "server"
            phases[name]["load"] = load()
            statuses: dict = {}
            for r in posts:
                statuses[r[3]] = statuses.get(r[3], 0) + 1
            phases[name]["statuses"] = statuses
            post_ms = sorted((r[2] - r[1]) * 1000 for r in posts)
            phases[name]["post_ms_p50_p99"] = [post_ms[len(post_ms) // 2], post_ms[int(len(post_ms) * 0.99)]]
            if phases[name]["errors"]:
                for log in sorted(workdir.glob("*.log")):
                    lines = [ln for ln in log.read_text(errors="replace").splitlines()
                             if "Error" in ln or "error" in ln or "Traceback" in ln]
                    print(f"{log.name}: {len(lines)} error lines; last: {lines[-5:]}", flush=True)
            if spy is not None:
                spy.wait(timeout=args.profile + 60)
                out["profile"] = str(workdir / "profile.txt")
                print((workdir / "py-spy.log").read_text()[-2000:], flush=True)
                if args.keep_profile and (workdir / "profile.txt").exists():
                    kept = Path(args.keep_profile)
                    shutil.copy(workdir / "profile.txt", kept.with_name(f"{kept.stem}-{name.removeprefix('burst_')}{kept.suffix}"))
        if not args.hold:
            phases["processing"] = app.inbound_processing_cost(public_id=data["with_bot"], count=args.cost_count)
        phases["final_load"] = load()
    finally:
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return out


def report(out: dict) -> None:
    p = out["phases"]
    print(f"\n=== ingest {out['setup']} ===")
    print(f"baseline: trivial Django POST view {p['baseline_rps']:.0f} req/s, web server CPU "
          f"{p['baseline_cpu_ms']:.1f} ms per request ({p['baseline_load']})")
    for name in ("burst_bot", "burst_nobot"):
        if name not in p:
            continue
        b = p[name]
        if out.get("hold"):
            print(f"{name} (processing held, WEBHOOK_PUMP=0): {b['count']} webhooks, POST {b['post_rps']:.0f} req/s = "
                  f"{b['post_rps'] / p['baseline_rps']:.2f} x baseline, {b['errors']} errors; POST time p50 "
                  f"{b['post_ms_p50_p99'][0]:.0f} ms p99 {b['post_ms_p50_p99'][1]:.0f} ms; server CPU "
                  f"{b['cpu_ms_per_msg']:.1f} ms per request ({b['load']})")
            continue
        print(f"{name}: {b['count']} webhooks, POST {b['post_rps']:.0f} req/s = {b['post_rps'] / p['baseline_rps']:.2f}"
              f" x baseline, {b['errors']} errors; processed {b['msg_per_s']:.0f} msg/s (bot replies "
              f"{b['bot_replies']}); POST->row p50 {b['p50']:.2f} s p99 {b['p99']:.2f} s; lost {b['lost']}, "
              f"duplicated {b['duplicates']}; POST time p50 {b['post_ms_p50_p99'][0]:.0f} ms p99 "
              f"{b['post_ms_p50_p99'][1]:.0f} ms, statuses {b['statuses']}; {b['server']} CPU "
              f"{b['cpu_ms_per_msg']:.1f} ms per message ({b['load']})")
        if name + "_sent" in p:
            sent = p[name + "_sent"]
            print(f"{name}: every reply sent to the Graph API fake {sent['seconds']:.1f} s after the first POST = "
                  f"{b['count'] / sent['seconds']:.0f} msg/s end to end ({sent['pending']} not sent); the CPU figure "
                  f"above counts the sends too")
    if "processing" in p:
        report_processing(p["processing"])
    print(f"final: {p['final_load']}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setup", choices=["embedded", "scaleout"], default="embedded")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--baseline-count", type=int, default=1000)
    parser.add_argument("--cost-count", type=int, default=20)
    parser.add_argument("--worker-threads", type=int, default=4)
    parser.add_argument("--process-timeout", type=float, default=600)
    parser.add_argument("--bot-only", action="store_true", help="skip the burst without the bot")
    parser.add_argument("--profile", type=float, default=0, help="seconds of py-spy on the server (bot burst)")
    parser.add_argument("--profile-bursts", default="bot",
                        help="what to profile, comma-separated: bot, nobot (the bursts), baseline (the trivial view)")
    parser.add_argument("--keep-profile", help="copy py-spy's raw (collapsed) stacks here (-bot / -nobot added)")
    parser.add_argument("--hold", action="store_true",
                        help="no pump (WEBHOOK_PUMP=0): one burst, the webhook requests alone, nothing processed")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args(argv)
    out = run(args)
    report(out)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
