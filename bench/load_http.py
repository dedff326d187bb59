"""HTTP load driver: Locust (as a library) posts a fixed list of requests and records each one.

Run by ``bench/load.py`` in its own process (Locust patches the standard library with gevent)::

    python -m bench.load_http SPEC.json OUT.json

SPEC: ``{"hosts": [base urls], "users": 32, "rate_per_user": null | requests per second,
"max_seconds": 120, "requests": [{"path", "body", "headers"}, ...]}``. Request ``i`` goes to
``hosts[i % len(hosts)]``. Every request is sent once (no retries): the run ends when the list
is used up or after ``max_seconds``. OUT: ``{"results": [[i, t_start, t_end, status], ...]}``
with wall-clock times (``time.time()``) so they can be compared with database timestamps.
"""

from __future__ import annotations

import itertools
import json
import sys
import time

import gevent
from locust import FastHttpUser, constant, constant_throughput, events, task
from locust.env import Environment
from locust.exception import StopUser


def run(spec: dict) -> dict:
    requests = spec["requests"]
    hosts = spec["hosts"]
    counter = itertools.count()
    results: list[list] = []
    rate = spec.get("rate_per_user")

    class Poster(FastHttpUser):
        host = hosts[0]
        wait_time = constant_throughput(rate) if rate else constant(0)
        # One connection per simulated client, kept alive, as Meta's senders do.
        concurrency = 1
        network_timeout = 60.0
        connection_timeout = 30.0

        @task
        def post(self):
            i = next(counter)
            if i >= len(requests):
                raise StopUser()
            item = requests[i]
            url = hosts[i % len(hosts)] + item["path"]
            start = time.time()
            status = 0
            try:
                with self.client.post(url, data=item["body"].encode(), headers=item.get("headers") or {},
                                      catch_response=True, name=item.get("name", "post")) as response:
                    status = response.status_code or 0
                    if status < 400:
                        response.success()
            except Exception:  # noqa: BLE001 - recorded as status 0
                status = 0
            results.append([i, start, time.time(), status])

    env = Environment(user_classes=[Poster], events=events)
    runner = env.create_local_runner()
    users = min(spec.get("users", 32), max(1, len(requests)))
    runner.start(users, spawn_rate=users)
    deadline = time.time() + spec.get("max_seconds", 120)
    while time.time() < deadline and len(results) < len(requests):
        if runner.user_count == 0 and time.time() > deadline - spec.get("max_seconds", 120) + 2:
            break
        gevent.sleep(0.05)
    runner.quit()
    return {"results": results}


def main(argv: list[str]) -> int:
    spec_path, out_path = argv
    with open(spec_path) as f:
        spec = json.load(f)
    out = run(spec)
    with open(out_path, "w") as f:
        json.dump(out, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
