"""Sum py-spy's collapsed stacks (``--format raw``) by task and by area.

    .venv/bin/python bench/profile_areas.py /tmp/p-bot.txt [--cpu-ms-per-msg 25]

A sample's *task* is the outermost piece of the app it ran in (the webhook request, the pump's
batch, the handlers' task, a send ...), found by the first frame, from the root, that matches
``TASKS``. Its *area* is where the time was spent, found by the innermost frame that matches
``AREAS`` (SQLite's C calls under ``execute``, the ORM building SQL, the bot's matcher, the
sentence encoder, ...). With ``--cpu-ms-per-msg`` (the benchmark's server CPU per message) each
share is also printed as milliseconds per message.
"""

from __future__ import annotations

import argparse
import collections
import re
import sys

#: Outermost match wins: (name, frame pattern).
TASKS = [
    ("webhook request", r"\(inbox/webhooks\.py"),
    ("trivial view", r"\(bench/urls\.py"),
    ("pump: inbound batch", r"process_waiting_events \("),
    ("handlers task (bot)", r"run_inbound_handlers_for_many \("),
    ("send (deliver_message)", r"deliver_message \(inbox/tasks\.py"),
    ("other huey task", r"Huey\._execute \("),
    ("huey consumer loop", r"huey/consumer\.py"),
    ("daphne / twisted / asyncio", r"(daphne/|twisted/|autobahn/|asyncio/)"),
    ("request (other Django)", r"django/core/handlers/"),
]

#: Innermost match wins: (name, frame pattern), tried leaf-first on every frame.
AREAS = [
    ("logging", r"\(logging/"),
    ("sqlite: execute (C, commit)", r"^(execute|executemany|commit|_commit|rollback|fetchmany|fetchone|__next__) \(django/db/backends/(sqlite3|utils)"),
    ("sqlite write queue (config/sqlite)", r"\(config/sqlite/"),
    ("ORM: SQL compile", r"\(django/db/models/sql/"),
    ("ORM: model instances (from_db, __init__, save)", r"\(django/db/models/(base|fields/|query_utils)"),
    ("ORM: querysets", r"\(django/db/models/(query|manager|lookups|expressions|deletion)\.py"),
    ("ORM: transactions, savepoints", r"\(django/db/(transaction|backends/base/base)\.py"),
    ("ORM: connection, cursor wrappers", r"\(django/db/"),
    ("Django signals", r"\(django/dispatch/"),
    ("broadcast: channel layer", r"\(inbox/channel_layer\.py|\(channels/"),
    ("broadcast: payloads", r"\(inbox/(presenters|events|delivery_errors|system_messages)\.py|services/broadcast\.py"),
    ("serialization (json)", r"\(json/"),
    ("encoder (onnx / numpy)", r"\(bot/encoders|onnxruntime|\(numpy/|\(tokenizers"),
    ("bot matcher", r"\(bot/(matcher|text|intents|policy)\.py"),
    ("bot engine", r"\(bot/"),
    ("HTTP to the Graph fake", r"\((requests|urllib3|http/client|socket|ssl)\b|channels_adapters/(meta|whatsapp)"),
    ("adapters: parse, verify", r"\(channels_adapters/"),
    ("phone numbers", r"phonenumbers|\(inbox/phones\.py"),
    ("i18n / translations", r"\(django/utils/translation|gettext"),
    ("huey (queue, storage)", r"\(huey/|inbox/(huey_storage|queue)\.py"),
    ("Django request handling", r"\(django/(core|middleware|http|urls|contrib)|\(asgiref/"),
    ("daphne / twisted / asyncio", r"\((daphne|twisted|autobahn|asyncio|selectors)/|\(selectors\.py"),
    ("inbox services (own code)", r"\(inbox/"),
    ("threading, waits", r"\(threading\.py|\(queue\.py"),
]

#: A sample whose innermost frame is one of these is a thread waiting (a lock, a condition, an
#: idle executor), not CPU: counted apart, left out of the shares.
WAITS = r"^(Condition\.wait|Thread\._wait_for_tstate_lock|_worker \(concurrent/futures/thread\.py:81\)|EpollSelector\.select|Event\.wait|Semaphore\.acquire)"


def parse(path: str):
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.rstrip("\n")
        if not line:
            continue
        stack, _, count = line.rpartition(" ")
        try:
            yield stack.split(";"), int(count)
        except ValueError:
            continue


def classify(frames: list[str]) -> tuple[str, str]:
    task = next((name for frame in frames for name, pattern in TASKS if re.search(pattern, frame)), "other")
    area = next((name for frame in reversed(frames) for name, pattern in AREAS if re.search(pattern, frame)), "other")
    return task, area


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile")
    parser.add_argument("--cpu-ms-per-msg", type=float, default=0.0)
    parser.add_argument("--top", type=int, default=25, help="self-time functions to list")
    parser.add_argument("--task", help="only samples of this task (for the function lists)")
    args = parser.parse_args(argv)
    by_task: collections.Counter = collections.Counter()
    by_area: collections.Counter = collections.Counter()
    by_task_area: collections.Counter = collections.Counter()
    leaf: collections.Counter = collections.Counter()
    cumulative: collections.Counter = collections.Counter()
    total = waits = 0
    for frames, count in parse(args.profile):
        if re.search(WAITS, frames[-1]):
            waits += count
            continue
        task, area = classify(frames)
        total += count
        by_task[task] += count
        by_area[area] += count
        by_task_area[task, area] += count
        if args.task and task != args.task:
            continue
        leaf[frames[-1]] += count
        for frame in set(frames):
            cumulative[frame] += count
    if not total:
        print("no samples")
        return 1

    def share(n: int) -> str:
        ms = f", {n / total * args.cpu_ms_per_msg:5.2f} ms/msg" if args.cpu_ms_per_msg else ""
        return f"{n:6d} {100 * n / total:5.1f} %{ms}"

    print(f"{total} samples of running threads (pinned to one core, so about the CPU's share); "
          f"{waits} more of threads waiting, left out")
    print("\nby task:")
    for task, n in by_task.most_common():
        print(f"  {share(n)}  {task}")
        for (t, area), m in by_task_area.most_common():
            if t == task and m / total >= 0.005:
                print(f"      {share(m)}  {area}")
    print("\nby area (all tasks):")
    for area, n in by_area.most_common():
        print(f"  {share(n)}  {area}")
    print(f"\ntop self time{' in ' + args.task if args.task else ''}:")
    for frame, n in leaf.most_common(args.top):
        print(f"  {share(n)}  {frame}")
    print("\ntop cumulative (own code):")
    own = [(f, n) for f, n in cumulative.most_common() if re.search(r"\((inbox|bot|channels_adapters|retention|config)/", f)]
    for frame, n in own[: args.top]:
        print(f"  {share(n)}  {frame}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
