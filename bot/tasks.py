"""Background work of the bot."""

from __future__ import annotations

from huey.contrib.djhuey import db_task

from inbox import queue
from inbox.models import Inbox

from . import index_cache


@queue.register("bot.warm_indexes")
@db_task()
def warm_indexes() -> int:
    """Rebuild the indexes after an edit in the background, so the next customer does not wait
    for it (in embedded mode the worker shares the web server's process and cache; other
    processes still rebuild on their first match). Returns how many were built."""
    before = index_cache.builds
    index_cache.get_index(None)
    for inbox in Inbox.objects.filter(enabled=True):
        index_cache.get_index(inbox)
    return index_cache.builds - before
