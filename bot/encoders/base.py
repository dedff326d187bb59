"""The sentence-encoder interface of the FAQ bot (pure Python + numpy; no Django).

An encoder turns texts into L2-normalised float32 vectors, one row per text. Subclasses set
``name`` (the registry key), ``version`` (changes whenever the vectors would) and ``dim``, and
implement ``_load`` (called once, lazily, on the first ``encode``) and ``_encode``. Model files
ship inside the encoder's package; nothing is downloaded. Thread counts are set explicitly:
an encoder left on its library's default can take every core of a shared worker.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np


class EncoderUnavailable(Exception):
    """The encoder's package is missing or its model failed to load."""


class Encoder:
    name: str = ""
    version: str = ""
    dim: int = 0

    def __init__(self, *, threads: int = 1) -> None:
        self.threads = max(1, int(threads))
        self._lock = threading.Lock()
        self._loaded = False

    def _load(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def _encode(self, texts: list[str]) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def load(self) -> "Encoder":
        """Load the model now (``encode`` does it on first use). Raises ``EncoderUnavailable``."""
        if not self._loaded:
            with self._lock:
                if not self._loaded:
                    try:
                        self._load()
                    except EncoderUnavailable:
                        raise
                    except Exception as exc:  # a broken wheel, a missing file, a bad platform
                        raise EncoderUnavailable(f"{self.name}: {type(exc).__name__}: {exc}") from exc
                    self._loaded = True
        return self

    @property
    def key(self) -> str:
        """``name@version``: what stored vectors are keyed by."""
        return f"{self.name}@{self.version}"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of ``texts``: float32, shape (len(texts), dim), rows of unit length
        (a zero row for a text the model gives nothing for)."""
        self.load()
        texts = [t if isinstance(t, str) else str(t) for t in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = np.asarray(self._encode(texts), dtype=np.float32).reshape(len(texts), -1)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)
