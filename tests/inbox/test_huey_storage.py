"""The embedded task queue (inbox/huey_storage.py): an enqueue wakes a waiting worker."""

from __future__ import annotations

import threading

from inbox.huey_storage import WakingSqliteHuey, WakingSqliteStorage


def test_an_enqueue_wakes_a_worker_waiting_on_an_empty_queue(tmp_path):
    # A minute-long wait: only the wake-up can end it before the join below gives up.
    storage = WakingSqliteStorage(name="t", filename=str(tmp_path / "tasks.sqlite3"), read_timeout=60)
    got = []
    worker = threading.Thread(target=lambda: got.append(storage.dequeue()))
    worker.start()
    storage.enqueue(b"task-1")
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert got == [b"task-1"]
    storage.read_timeout = 0.01
    assert storage.dequeue() is None  # taken once


def test_the_huey_class_uses_it(tmp_path):
    huey = WakingSqliteHuey("t", filename=str(tmp_path / "tasks.sqlite3"))
    assert isinstance(huey.storage, WakingSqliteStorage)
    assert huey.storage.blocking  # Huey's worker then adds no sleep of its own
