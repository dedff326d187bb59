"""Stored sentence vectors of question variants and answer titles (``VariantVector``).

The index of an answer set is built from these rows (``vectors_for``), so a process start or
an admin's edit costs a few milliseconds of reading, not minutes of encoding; ``encode_missing``
computes the rows still missing (in the worker after an edit or an import, and in
``manage.py bot_encode``). Only this module writes ``VariantVector``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

import numpy as np
from django.db import transaction

from bot.matcher import encoder_input

from .models import CannedAnswer, QuestionVariant, VariantVector

#: Texts encoded per call and rows read per query.
BATCH = 256
_READ_CHUNK = 500


def text_hash(text: str) -> str:
    """The key of ``text``'s vector: sha256 of what the encoder reads (``encoder_input``)."""
    return hashlib.sha256(encoder_input(text).encode("utf-8")).hexdigest()


def _stored(encoder, hashes: Iterable[str]) -> dict[str, np.ndarray]:
    hashes = list(dict.fromkeys(hashes))
    found: dict[str, np.ndarray] = {}
    rows = VariantVector.objects.filter(encoder=encoder.name, encoder_version=encoder.version)
    for i in range(0, len(hashes), _READ_CHUNK):
        for h, dim, blob in rows.filter(text_hash__in=hashes[i : i + _READ_CHUNK]).values_list("text_hash", "dim", "vector"):
            if dim == encoder.dim:
                found[h] = np.frombuffer(bytes(blob), dtype="<f4")
    return found


def vectors_for(texts: Sequence[str], encoder) -> tuple[np.ndarray, int]:
    """The stored vectors of ``texts`` (one row each, in order) and how many are missing
    (their rows are zero: the matcher leaves them out of the meaning part until encoded)."""
    hashes = [text_hash(t) for t in texts]
    found = _stored(encoder, hashes)
    out = np.zeros((len(texts), encoder.dim), dtype=np.float32)
    missing = 0
    for i, h in enumerate(hashes):
        v = found.get(h)
        if v is None:
            missing += 1
        else:
            out[i] = v
    return out, missing


def all_question_texts() -> list[str]:
    """Every text the matcher indexes: answer titles and question variants (all answers,
    active or not, so re-activating one needs no encoding)."""
    titles = CannedAnswer.objects.values_list("title", flat=True)
    variants = QuestionVariant.objects.values_list("text", flat=True)
    return list(dict.fromkeys([*titles, *variants]))


def encode_missing(encoder, texts: Sequence[str] | None = None,
                   progress: Callable[[int, int], None] | None = None) -> int:
    """Encode and store the texts (default: ``all_question_texts``) that have no vector for
    this encoder version yet; returns how many were encoded. Safe to run twice at once: a
    row another worker stored meanwhile is kept."""
    texts = all_question_texts() if texts is None else list(texts)
    by_hash: dict[str, str] = {}
    for t in texts:
        by_hash.setdefault(text_hash(t), t)
    have = set(_stored(encoder, by_hash))
    todo = [(h, t) for h, t in by_hash.items() if h not in have]
    done = 0
    if progress:
        progress(0, len(todo))
    for i in range(0, len(todo), BATCH):
        batch = todo[i : i + BATCH]
        vectors = encoder.encode([encoder_input(t) for _, t in batch])
        rows = [VariantVector(encoder=encoder.name, encoder_version=encoder.version, text_hash=h, dim=encoder.dim,
                              vector=np.asarray(v, dtype="<f4").tobytes()) for (h, _), v in zip(batch, vectors)]
        with transaction.atomic():
            VariantVector.objects.bulk_create(rows, ignore_conflicts=True)
        done += len(batch)
        if progress:
            progress(done, len(todo))
    return done


def prune(encoder) -> int:
    """Delete vectors of other encoder versions and of texts no longer used; returns how many."""
    keep = {text_hash(t) for t in all_question_texts()}
    stale = VariantVector.objects.exclude(encoder=encoder.name, encoder_version=encoder.version)
    count = stale.count()
    stale.delete()
    unused = [pk for pk, h in VariantVector.objects.values_list("pk", "text_hash") if h not in keep]
    for i in range(0, len(unused), _READ_CHUNK):
        VariantVector.objects.filter(pk__in=unused[i : i + _READ_CHUNK]).delete()
    return count + len(unused)


def semantic_status() -> dict:
    """For the console page: whether questions are matched by meaning too, and why not.
    ``state`` is "ok", "off" (``BOT_ENCODER`` none) or "unavailable" (package missing or the
    model failed to load: the bot matches on words only)."""
    from django.conf import settings

    from bot import encoders

    state, detail = encoders.encoder_status(settings.BOT_ENCODER)
    out = {"state": state, "detail": detail, "stored": 0, "total": 0}
    if state == "ok":
        encoder = encoders.get_encoder(settings.BOT_ENCODER)
        texts = all_question_texts()
        out["total"] = len({text_hash(t) for t in texts})
        out["stored"] = len(_stored(encoder, (text_hash(t) for t in texts)))
    return out
