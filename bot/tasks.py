"""Background work of the bot."""

from __future__ import annotations

from huey.contrib.djhuey import db_task


@db_task()
def warm_indexes() -> int:
    """Rebuild the indexes after an edit in the background, so the next customer does not wait
    for it (in embedded mode the worker shares the web server's process and cache; other
    processes still rebuild on their first match). Returns how many were built."""
    from inbox.models import Inbox

    from . import index_cache

    before = index_cache.builds
    index_cache.get_index(None)
    for inbox in Inbox.objects.filter(enabled=True):
        index_cache.get_index(inbox)
    return index_cache.builds - before
