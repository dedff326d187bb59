"""A per-process cache of matcher indexes, one per inbox, rebuilt when the answer set changes.

Indexes are built from the stored sentence vectors (``bot.vectors``), so a rebuild reads them
instead of encoding anything.

Every lookup reads the answer-set version (one small query) and rebuilds the inbox's index when
it differs from the cached one, so all server and worker processes follow an edit without any
message between them. Thread-safe: builds run under a lock, readers share built indexes
(``MatcherIndex`` is immutable).
"""

from __future__ import annotations

import gc

import threading

from django.conf import settings
from django.db.models import Q

from bot.matcher import Entry, MatcherIndex

from .models import CannedAnswer, QuestionVariant
from .services import current_answer_version

_lock = threading.Lock()
_cache: dict[int | str, tuple[tuple[int, str], MatcherIndex]] = {}
# Indexes of the current version by answer ids: inboxes offering the same answers (the usual
# case: answers without inboxes) share one index instead of each building its own.
_shared: dict[tuple[tuple[int, str], tuple[int, ...]], MatcherIndex] = {}
#: How many indexes this process built; tests read it to see a rebuild happen.
builds = 0


def _key(inbox) -> int | str:
    return inbox.pk if inbox is not None else "all"


def answers_for(inbox):
    """Active answers offered in ``inbox`` (answers without inboxes are offered everywhere)."""
    answers = CannedAnswer.objects.filter(active=True)
    if inbox is not None:
        answers = answers.filter(Q(inboxes__isnull=True) | Q(inboxes=inbox)).distinct()
    return answers


def entries_for(inbox) -> list[Entry]:
    """The matcher entries of an inbox's answers: each title and each question variant."""
    answers = list(answers_for(inbox).values_list("pk", "title", "locale"))
    ids = [pk for pk, _, _ in answers]
    entries = [Entry(pk, title, locale) for pk, title, locale in answers]
    locale_of = {pk: locale for pk, _, locale in answers}
    for answer_id, text, locale in QuestionVariant.objects.filter(answer_id__in=ids).values_list(
            "answer_id", "text", "locale").order_by("answer_id", "pk"):
        entries.append(Entry(answer_id, text, locale or locale_of[answer_id]))
    return entries


def get_index(inbox=None) -> MatcherIndex:
    """The index of ``inbox`` (or of every active answer with ``None``) for the current
    answer set."""
    global builds
    version = current_answer_version()
    key = _key(inbox)
    cached = _cache.get(key)
    if cached is not None and cached[0] == version:
        return cached[1]
    with _lock:
        cached = _cache.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
        entries = entries_for(inbox)
        shared_key = (version, tuple(sorted({e.answer_id for e in entries})))
        index = _shared.get(shared_key)
        if index is None:
            index = _build(entries)
            builds += 1
            for stale in [k for k in _shared if k[0] != version]:
                del _shared[stale]
            _shared[shared_key] = index
            # An index is many long-lived objects; frozen, the garbage collector's full passes
            # stop walking them on every request (they caused the match latency's p99 tail).
            gc.collect()
            gc.freeze()
        # Built from rows read after the version: an edit committed in between bumps the
        # version again, so at worst the next lookup rebuilds once more.
        _cache[key] = (version, index)
        return index


def _build(entries: list[Entry]) -> MatcherIndex:
    """The index of ``entries``, fused with the stored sentence vectors when an encoder is
    configured and loads (``bot.encoders``); words only otherwise. Texts without a stored
    vector yet are asked of the worker (``bot.encode_vectors``), never encoded here."""
    from . import encoders, vectors

    encoder = encoders.get_encoder(settings.BOT_ENCODER, threads=settings.BOT_ENCODER_THREADS)
    if encoder is None or not entries:
        return MatcherIndex.build(entries)
    stored, missing = vectors.vectors_for([e.text for e in entries], encoder)
    if missing:
        from inbox import queue

        queue.enqueue("bot.encode_vectors")
    return MatcherIndex.build(entries, encoder=encoder, vectors=stored)


def clear() -> None:
    with _lock:
        _cache.clear()
        _shared.clear()
