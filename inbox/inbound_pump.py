"""The webhook pump: stored raw events are the queue; pump threads in each worker process drain it.

The webhook request verifies the signature, inserts the raw ``WebhookEvent`` row and answers:
no task is enqueued, nothing else is written (``inbox.webhooks``). The row *is* the queue
entry. Each worker process (``manage.py serve`` with its in-process worker on the embedded
default, ``manage.py run_huey`` on scale-out; started by Huey's startup hook in
``inbox.tasks``) runs ``WEBHOOK_PUMP_THREADS`` pump threads (1 on SQLite, which has one writer;
3 on PostgreSQL, where a message's statements are network round trips spent outside the GIL).
They take waiting rows in passes (``inbound_batch.process_waiting_events``: on PostgreSQL each
event claimed with ``FOR UPDATE SKIP LOCKED`` in a transaction of its own, so pumps in any
process take disjoint events; on SQLite a pass is one transaction under the write lock), and a
process that dies mid-pass leaves its uncommitted rows ``received`` for the next pump (the
claim is the transaction: the database rolls it back).

Waking the pumps without polling: ``nudge()`` (called by the request after the insert) sets an
in-process event, so the embedded server's own pumps start at once; on PostgreSQL it also sends
``NOTIFY inbox_webhooks``, which the first pump of every other process ``LISTEN``s for (one
listening connection per process) and passes on to its siblings. A pump that hears nothing
looks anyway every ``WEBHOOK_PUMP_IDLE_SECONDS`` (SQLite with the worker in another process, a
lost notification). Under ``HUEY_IMMEDIATE`` (tests) ``nudge()`` processes inline.
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
_pumps: list[Pump] = []


def idle_seconds() -> float:
    return float(getattr(settings, "WEBHOOK_PUMP_IDLE_SECONDS", 1.0))


def pump_threads() -> int:
    """``WEBHOOK_PUMP_THREADS``, or by default 1 on SQLite (one writer) and 3 on PostgreSQL."""
    configured = getattr(settings, "WEBHOOK_PUMP_THREADS", None)
    if configured:
        return max(1, int(configured))
    return 3 if connection.vendor == "postgresql" else 1


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

    def __init__(self, number: int = 0) -> None:
        super().__init__(name=f"webhook-pump-{number}", daemon=True)
        #: The first pump of a process listens for other processes' NOTIFY and wakes the rest.
        self.listens = number == 0
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

        if self.listens:
            # The bot's encoder and indexes, loaded before the first customer's question, beside
            # the pumps (which store messages meanwhile: they need neither).
            threading.Thread(target=_warm_up, args=(hooks,), name="handlers-warm-up", daemon=True).start()
        while not self.stopping.is_set():
            # Cleared before looking, not before sleeping: a nudge that comes after this look
            # found nothing is still set when the pump goes to wait, so it is never slept through.
            _wakeup.clear()
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
                    _wakeup.set()  # the siblings too
                    return
            except Exception:
                logger.warning("webhook pump: lost its LISTEN connection; polling until it is back")
                self._close_listener()
                return
            waited += 0.05

    def _listen(self):
        if not self.listens or connection.vendor != "postgresql":
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


def start() -> list[Pump]:
    """Start this process's pumps (once; later calls return the running ones, restarting any
    that died). None under ``HUEY_IMMEDIATE``, where ``nudge`` processes inline."""
    if queue.is_immediate() or not getattr(settings, "WEBHOOK_PUMP", True):
        return []
    with _started_lock:
        wanted = pump_threads()
        while len(_pumps) < wanted:
            _pumps.append(None)
        for number, pump in enumerate(_pumps):
            if pump is None or not pump.is_alive():
                _pumps[number] = Pump(number)
                _pumps[number].start()
        return list(_pumps)


def stop() -> None:
    with _started_lock:
        for pump in _pumps:
            pump.stopping.set()
        _wakeup.set()
        for pump in _pumps:
            pump.stop()
        _pumps.clear()
