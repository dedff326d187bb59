"""The embedded task queue without polling: Huey's SQLite storage, woken by its own process.

Huey's SQLite consumer polls: an idle worker sleeps 0.1 s, then 0.115 s, ... up to 10 s between
looks at the queue, so the first webhook after a quiet minute waited seconds before anyone read
it. In embedded mode the web server enqueues and runs the worker threads in the same process
(``manage.py serve``), so an enqueue can wake a waiting worker directly: ``dequeue`` waits on a
semaphore that every ``enqueue`` releases, and the storage says it is ``blocking`` so Huey's
worker does not add its own sleep. Tasks enqueued by another process (``manage.py shell``, a
separate ``run_huey``) are still seen within ``read_timeout`` (1 s).

Scale-out uses ``RedisHuey``, whose ``BRPOP`` already blocks until a task arrives.
"""

from __future__ import annotations

import threading

from huey import SqliteHuey
from huey.storage import SqliteStorage

_wakeups = threading.Semaphore(0)


class WakingSqliteStorage(SqliteStorage):
    blocking = True

    def __init__(self, *args, read_timeout: float = 1.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.read_timeout = read_timeout

    def _create_connection(self):
        conn = super()._create_connection()
        # WAL with synchronous=NORMAL, like the main database: durable across a crash of the
        # process, no fsync per enqueue. A task lost to a power cut is found again by the sweep
        # (the database, not the queue, records what is left to do).
        conn.execute("pragma synchronous=1")
        return conn

    def enqueue(self, data, priority=None):
        super().enqueue(data, priority)
        _wakeups.release()

    def dequeue(self):
        data = super().dequeue()
        if data is None and _wakeups.acquire(timeout=self.read_timeout):
            data = super().dequeue()
        return data


class WakingSqliteHuey(SqliteHuey):
    storage_class = WakingSqliteStorage
