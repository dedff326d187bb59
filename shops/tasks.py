"""Shop work on Huey: process a stored webhook, run an import page by page, reconcile every
15 minutes, and pick up imports a dead worker left behind every minute."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from inbox import queue

logger = logging.getLogger(__name__)


@queue.register("shops.process_event")
@db_task()
def process_shop_event(event_id: int) -> None:
    from .services import event_process

    event_process(event_id)


@queue.register("shops.run_sync")
@db_task()
def run_shop_sync(sync_id: int) -> None:
    from .services import sync_run

    sync_run(sync_id)


@db_periodic_task(crontab(minute="*/15"))
def reconcile_shops_task() -> None:
    from .services import reconcile_all

    started = reconcile_all()
    if started:
        logger.info("shop reconciles started: %s", started)


@db_periodic_task(crontab(minute="*"))
def resume_shop_syncs_task() -> None:
    from .services import syncs_resume_stale

    syncs_resume_stale()
