"""A tiny deterministic encoder for tests: hashed character 3-grams of the folded text.

It understands nothing (no synonyms, no languages) but gives stable vectors in microseconds
with no model file, so the stored-vector and fusion code can be tested without the real one.
"""

from __future__ import annotations

import zlib

import numpy as np

from bot.text import fold

from .base import Encoder


class HashingEncoder(Encoder):
    name = "hashing"
    version = "1"
    dim = 64

    def _load(self) -> None:
        pass

    def _encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            padded = f" {fold(text)} "
            for j in range(len(padded) - 2):
                h = zlib.crc32(padded[j : j + 3].encode("utf-8"))
                out[i, h % self.dim] += 1.0 if h & 0x80000000 else -1.0
        return out
