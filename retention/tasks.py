"""Periodic retention work on Huey. Tasks only call ``surveys``/``followups``, which call
services; the database records what is left to do, so a missed run loses nothing."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

logger = logging.getLogger(__name__)


@db_periodic_task(crontab(minute="*"))
def send_due_surveys_task() -> None:
    from .surveys import send_due_surveys

    sent = send_due_surveys()
    if sent:
        logger.info("surveys sent: %s", sent)


@db_periodic_task(crontab(minute="*/5"))
def run_followups_task() -> None:
    from .followups import run_due

    counts = run_due()
    if counts:
        logger.info("follow-ups: %s", counts)
