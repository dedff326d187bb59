"""The webhook pump: stored raw events are the queue; a thread per worker process drains it.

The webhook request verifies the signature, inserts the raw ``WebhookEvent`` row and answers:
no task is enqueued, nothing else is written (``inbox.webhooks``). The row *is* the queue
entry. One pump thread per worker process (``manage.py serve`` with its in-process worker on
the embedded default, ``manage.py run_huey`` on scale-out; started by Huey's startup hook in
``inbox.tasks``) takes waiting rows in batches (``inbound_batch.process_waiting_events``: one
transaction per batch, the rows claimed inside it with ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, under SQLite's write lock on SQLite), so several processes take disjoint batches,
and a process that dies mid-batch leaves its rows ``received`` for the next pump (the claim is
the transaction: the database rolls it back).

Waking the pump without polling: ``nudge()`` (called by the request after the insert) sets an
in-process event, so the embedded server's own pump starts at once; on PostgreSQL it also sends
``NOTIFY inbox_webhooks``, which the pumps of other processes ``LISTEN`` for. A pump that hears
nothing looks anyway every ``WEBHOOK_PUMP_IDLE_SECONDS`` (SQLite with the worker in another
process, a lost notification). Under ``HUEY_IMMEDIATE`` (tests) ``nudge()`` processes inline.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import close_old_connections, connection, transaction

from . import queue

logger = logging.getLogger(__name__)

CHANNEL = "inbox_webhooks"

_wakeup = threading.Event()
_started_lock = threading.Lock()
_pump: Pump | None = None


def idle_seconds() -> float:
    return float(getattr(settings, "WEBHOOK_PUMP_IDLE_SECONDS", 1.0))


def nudge() -> None:
    """Tell the pumps a raw event is waiting, once it is committed (at once in autocommit, as in
    the webhook request)."""
    transaction.on_commit(_nudge_now)


def _nudge_now() -> None:
    if queue.is_immediate():
        from .inbound_batch import process_waiting_events

        while process_waiting_events():
            pass
        return
    _wakeup.set()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, '')", [CHANNEL])


class Pump(threading.Thread):
    """Drains waiting raw events, batch after batch, until none is left; then waits for a nudge."""

    def __init__(self) -> None:
        super().__init__(name="webhook-pump", daemon=True)
        # Not a background writer in the embedded SQLite write queue (config/sqlite/base.py): its
        # batches queue with the requests, before the worker's threads (the bot's answers, sends),
        # so a message is stored as fast as it arrives whatever the bot is doing.
        self.background_writer = False
        self.stopping = threading.Event()
        self.batches = 0
        self._listener = None

    def run(self) -> None:
        from .inbound_batch import process_waiting_events
        from .services import hooks

        # The bot's encoder and indexes, loaded before the first customer's question, beside the
        # pump (which stores messages meanwhile: they need neither).
        threading.Thread(target=_warm_up, args=(hooks,), name="handlers-warm-up", daemon=True).start()
        while not self.stopping.is_set():
            try:
                taken = process_waiting_events()
            except Exception:  # a database hiccup: wait a little and look again
                logger.exception("webhook pump: a batch failed")
                taken = 0
                self.stopping.wait(1.0)
            if taken:
                self.batches += 1
                continue
            close_old_connections()  # an idle pump gives its pooled connection back
            self._wait(idle_seconds())

    def _wait(self, timeout: float) -> None:
        _wakeup.clear()
        listener = self._listen()
        if listener is None:
            _wakeup.wait(timeout)
            return
        # Both the in-process event and PostgreSQL's notifications: wait on the socket in short
        # slices so an in-process nudge is seen within 50 ms even without NOTIFY.
        waited = 0.0
        while waited < timeout and not _wakeup.is_set() and not self.stopping.is_set():
            try:
                if any(True for _ in listener.notifies(timeout=0.05, stop_after=1)):
                    return
            except Exception:
                logger.warning("webhook pump: lost its LISTEN connection; polling until it is back")
                self._close_listener()
                return
            waited += 0.05

    def _listen(self):
        if connection.vendor != "postgresql":
            return None
        if self._listener is None or self._listener.closed:
            import psycopg

            db = connection.settings_dict
            params = {"dbname": db["NAME"], "user": db["USER"], "password": db["PASSWORD"], "host": db["HOST"],
                      "port": db["PORT"]}
            try:
                self._listener = psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True)
                self._listener.execute(f"LISTEN {CHANNEL}")
            except Exception:
                logger.warning("webhook pump: cannot LISTEN; polling every %.1f s", idle_seconds(), exc_info=True)
                self._listener = None
        return self._listener

    def _close_listener(self) -> None:
        if self._listener is not None:
            try:
                self._listener.close()
            except Exception:
                pass
            self._listener = None

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        _wakeup.set()
        self.join(timeout)
        self._close_listener()


def _warm_up(hooks) -> None:
    try:
        hooks.warm_up_handlers()
    except Exception:
        logger.exception("warming up the inbound handlers failed")
    finally:
        close_old_connections()


def start() -> Pump | None:
    """Start this process's pump (once; later calls return the running one). Not under
    ``HUEY_IMMEDIATE``, where ``nudge`` processes inline."""
    global _pump
    if queue.is_immediate() or not getattr(settings, "WEBHOOK_PUMP", True):
        return None
    with _started_lock:
        if _pump is None or not _pump.is_alive():
            _pump = Pump()
            _pump.start()
        return _pump


def stop() -> None:
    global _pump
    with _started_lock:
        if _pump is not None:
            _pump.stop()
            _pump = None
