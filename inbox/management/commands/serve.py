"""Run the web server (HTTP + websockets under Daphne) and, in embedded mode, the task worker
in the same process.

Why one process: the embedded in-memory channel layer only reaches websocket consumers of its
own process, so events raised by tasks must be raised there. With ``REDIS_URL`` set, run
``serve --no-worker`` in as many processes as you like plus ``run_huey`` workers.
"""

from __future__ import annotations

import os

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve HTTP and websockets with Daphne (and the task worker in embedded mode)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")
        parser.add_argument("--worker", dest="worker", action="store_true", default=None,
                            help="Run the task worker in this process (default in embedded mode).")
        parser.add_argument("--no-worker", dest="worker", action="store_false")
        parser.add_argument("--workers", type=int, default=settings.HUEY.get("consumer", {}).get("workers", 4))

    def handle(self, *args, host, port, worker, workers, **options):
        from daphne.cli import CommandLineInterface

        run_worker = settings.WORKER_IN_SERVER if worker is None else worker
        consumer = None
        if run_worker:
            from django.utils.module_loading import autodiscover_modules
            from huey.contrib.djhuey import HUEY

            autodiscover_modules("tasks")  # every app's tasks, as run_huey does

            consumer = HUEY.create_consumer(workers=workers, worker_type="thread", periodic=True)
            consumer.start()
            self.stdout.write(f"Task worker running in this process ({workers} threads).")
        try:
            # Daphne drops a websocket whose connect() has not finished in 5 s; under a wave of
            # widget connects (each reads the database) that refused sockets (bench/README.md).
            CommandLineInterface().run(["--bind", host, "--port", str(port),
                                        "--websocket_connect_timeout", os.environ.get("WS_CONNECT_TIMEOUT", "30"),
                                        "config.asgi:application"])
        finally:
            if consumer is not None:
                consumer.stop(graceful=True)
