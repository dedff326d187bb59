"""SQLite with a first-come, first-served queue for write transactions inside one process.

The embedded default runs the web server and the task worker threads in one process, all
writing to one SQLite file. SQLite lets one writer in at a time; the others wait in SQLite's
busy handler, which sleeps and retries (1, 2, 5 ... 100 ms). Under a burst the worker threads,
which start their next transaction the moment the last one commits, kept winning, and webhook
requests waited for seconds (profiled in bench/README.md). Here each write transaction
(Django's ``atomic``, ``BEGIN IMMEDIATE``) first takes a ticket from a fair lock shared by
every connection of the process to the same file, so writers go in arrival order and a waiting
one is woken the moment the lock is free; request threads go before background writers (the
worker's threads, the webhook pump), whose transactions are long (see ``FairLock``). Writers in other processes still meet SQLite's own
busy timeout. Off under tests (a test's outer transaction would hold the ticket while a
server thread waits for it): set ``SQLITE_WRITE_QUEUE`` in the database OPTIONS to choose.

ENGINE ``config.sqlite``; everything else is Django's SQLite backend.
"""

from __future__ import annotations

import threading

from django.db.backends.sqlite3 import base


#: Request writes served in a row while a background writer waits, before it goes.
FOREGROUND_BURST = 16


class FairLock:
    """A ticket lock with two lanes, each served in the order asked: request threads first, then
    background writers (threads whose ``background_writer`` attribute is true: the task worker's
    threads and the webhook pump). A request's write is one short INSERT; a background batch
    holds the lock for many rows, so requests that arrive while one waits go before it, up to
    ``FOREGROUND_BURST`` in a row (so a flood of requests never starves the processing)."""

    def __init__(self) -> None:
        self._condition = threading.Condition(threading.Lock())
        self._next_ticket = 0
        self._serving = 0
        self._next_background = 0
        self._serving_background = 0
        self._held = False
        self._streak = 0  # foreground grants while a background writer waited

    def _background_waiting(self) -> bool:
        return self._serving_background < self._next_background

    def _foreground_waiting(self) -> bool:
        return self._serving < self._next_ticket

    def acquire(self, background: bool = False) -> None:
        with self._condition:
            if background:
                ticket = self._next_background
                self._next_background += 1
                while (self._held or ticket != self._serving_background
                       or (self._foreground_waiting() and self._streak < FOREGROUND_BURST)):
                    self._condition.wait()
                self._serving_background += 1
                self._streak = 0
            else:
                ticket = self._next_ticket
                self._next_ticket += 1
                while (self._held or ticket != self._serving
                       or (self._background_waiting() and self._streak >= FOREGROUND_BURST)):
                    self._condition.wait()
                self._serving += 1
                if self._background_waiting():
                    self._streak += 1
            self._held = True

    def release(self) -> None:
        with self._condition:
            self._held = False
            self._condition.notify_all()


_queues: dict[str, FairLock] = {}
_queues_lock = threading.Lock()


def write_queue_for(name: str) -> FairLock:
    with _queues_lock:
        return _queues.setdefault(name, FairLock())


class DatabaseWrapper(base.DatabaseWrapper):
    _holds_write_ticket = False

    def get_connection_params(self):
        params = super().get_connection_params()
        value = params.pop("SQLITE_WRITE_QUEUE", True)
        # From a DATABASE_URL query string the value is text.
        self._write_queue_on = value.strip().lower() not in ("0", "false", "no", "off") if isinstance(
            value, str) else bool(value)
        return params

    def _start_transaction_under_autocommit(self):
        if getattr(self, "_write_queue_on", False) and not self.is_in_memory_db():
            background = getattr(threading.current_thread(), "background_writer", False)
            write_queue_for(str(self.settings_dict["NAME"])).acquire(background=background)
            self._holds_write_ticket = True
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._release_write_ticket()
            raise

    def _release_write_ticket(self) -> None:
        if self._holds_write_ticket:
            self._holds_write_ticket = False
            write_queue_for(str(self.settings_dict["NAME"])).release()

    def _commit(self):
        try:
            return super()._commit()
        finally:
            self._release_write_ticket()

    def _rollback(self):
        try:
            return super()._rollback()
        finally:
            self._release_write_ticket()

    def _close(self):
        try:
            return super()._close()
        finally:
            self._release_write_ticket()
