"""The SQLite write queue (config/sqlite/base.py): write transactions of one process go in
arrival order, and a ticket is always given back."""

from __future__ import annotations

import threading

from config.sqlite.base import FairLock


def test_tickets_are_served_in_the_order_asked():
    lock = FairLock()
    lock.acquire()  # held by "the worker"
    order: list[int] = []
    started = []

    def writer(n: int) -> None:
        started[n].wait()
        lock.acquire()
        order.append(n)
        lock.release()

    started = [threading.Event() for _ in range(5)]
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(5)]
    for t in threads:
        t.start()
    for n in range(5):  # they ask one after the other
        started[n].set()
        while lock._next_ticket < n + 2:
            pass
    lock.release()
    for t in threads:
        t.join(timeout=10)
    assert order == [0, 1, 2, 3, 4]


def test_a_transaction_gives_its_ticket_back_on_commit_and_on_rollback(tmp_path, django_db_blocker):
    """A file database (the queue skips in-memory ones) outside the test database."""
    from django.db.utils import ConnectionHandler

    handler = ConnectionHandler({"default": {
        "ENGINE": "config.sqlite", "NAME": str(tmp_path / "q.sqlite3"),
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "SQLITE_WRITE_QUEUE": True}}})
    conn = handler["default"]
    with django_db_blocker.unblock():
        try:
            with _Atomic(conn):
                assert conn._holds_write_ticket
                conn.cursor().execute("create table t (x int)")
            assert not conn._holds_write_ticket
            try:
                with _Atomic(conn):
                    conn.cursor().execute("insert into t values (1)")
                    raise RuntimeError("roll back")
            except RuntimeError:
                pass
            assert not conn._holds_write_ticket
            done = threading.Event()

            def another_writer():  # its own connection; would wait for ever if a ticket had leaked
                other = handler["default"]
                with _Atomic(other):
                    other.cursor().execute("insert into t values (2)")
                other.close()
                done.set()

            worker = threading.Thread(target=another_writer)
            worker.start()
            worker.join(timeout=30)
            assert done.is_set()
            assert conn.cursor().execute("select x from t").fetchall() == [(2,)]
        finally:
            conn.close()


class _Atomic:
    """What ``transaction.atomic`` does for an outermost block, for a connection outside
    ``django.db.connections``."""

    def __init__(self, conn):
        self.conn = conn

    def __enter__(self):
        self.conn.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.conn.commit()
        else:
            self.conn.rollback()
        self.conn.set_autocommit(True)


def test_requests_go_before_waiting_background_writers_but_never_starve_them():
    from config.sqlite import base

    lock = FairLock()
    lock.acquire(background=True)  # a batch holds the lock
    order: list[str] = []

    def writer(name: str, background: bool) -> None:
        lock.acquire(background=background)
        order.append(name)
        lock.release()

    def start(name: str, background: bool) -> threading.Thread:
        asked = lock._next_background + lock._next_ticket
        t = threading.Thread(target=writer, args=(name, background))
        t.start()
        while lock._next_background + lock._next_ticket == asked:
            pass
        return t

    threads = [start("batch", True)] + [start(f"request{n}", False) for n in range(base.FOREGROUND_BURST + 2)]
    lock.release()
    for t in threads:
        t.join(timeout=10)
    burst = base.FOREGROUND_BURST
    assert order == [f"request{n}" for n in range(burst)] + ["batch"] + [f"request{n}" for n in range(burst, burst + 2)]
