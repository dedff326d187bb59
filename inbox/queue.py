"""Enqueue background work by name.

The write path and the pipelines never import task modules: they ask for work by name here,
and each app's ``tasks.py`` registers its Huey tasks under those names with ``@register``.
Task modules import services, never the other way, so no import circle can form
(see docs/architecture.md, "Which way the imports run").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.db import transaction

_tasks: dict[str, Any] = {}


def register(name: str) -> Callable[[Any], Any]:
    """Decorator for a Huey task (put it above ``@db_task()``): makes it enqueueable as ``name``."""

    def decorator(task: Any) -> Any:
        _tasks[name] = task
        return task

    return decorator


def task(name: str) -> Any:
    try:
        return _tasks[name]
    except KeyError:
        raise LookupError(f"no task registered as {name!r}: is its app installed and its tasks module imported?") from None


def enqueue(name: str, *args: Any, delay: float | None = None, eta: dt.datetime | None = None,
            after_commit: bool = True) -> None:
    """Run the task ``name`` with ``args`` in the worker.

    By default it is enqueued when the current transaction commits (at once outside a
    transaction), so the worker never looks for a row it cannot see yet, and a rollback
    enqueues nothing. ``delay`` (seconds) or ``eta`` schedule it for later.
    """

    def send() -> None:
        target = task(name)
        if eta is not None:
            target.schedule(args=args, eta=eta)
        elif delay is not None:
            target.schedule(args=args, delay=delay)
        else:
            target(*args)

    if after_commit:
        transaction.on_commit(send)
    else:
        send()


def is_immediate() -> bool:
    """Whether tasks run inline (tests, ``HUEY_IMMEDIATE``)."""
    from huey.contrib.djhuey import HUEY

    return bool(HUEY.immediate)
