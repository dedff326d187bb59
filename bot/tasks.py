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


@queue.register("bot.encode_vectors")
@db_task()
def encode_vectors() -> int:
    """Store the sentence vectors of answer titles and variants that have none yet (after an
    admin's edit or a CSV import; never on a customer's path), then mark the answer set
    changed so every process rebuilds its index with them. Returns how many were encoded."""
    from django.conf import settings
    from django.db import transaction

    from . import encoders, services, vectors

    encoder = encoders.get_encoder(settings.BOT_ENCODER, threads=settings.BOT_ENCODER_THREADS)
    if encoder is None:
        return 0
    count = vectors.encode_missing(encoder)
    if count:
        with transaction.atomic():
            services.bump_answer_version(encode=False)
    return count
