"""Matcher latency on synthetic answer sets of growing size (pure Python; no Django).

Used by ``bot_eval --latency``; figures in bench/README.md.
"""

from __future__ import annotations

import gc
import random
import resource
import time
from collections.abc import Sequence
from pathlib import Path

from bot.evaluation import CachedEncoder, _pct, read_rows
from bot.matcher import Entry, MatcherIndex, encoder_input


def synthetic_entries(source_texts: Sequence[str], n_variants: int, per_answer: int = 10, seed: int = 7, locale: str = "") -> list[Entry]:
    """A deterministic answer set of ``n_variants`` made by recombining words of real questions."""
    rng = random.Random(seed)
    words = [t.split() for t in source_texts if t.split()]
    out = []
    for i in range(n_variants):
        a, b = rng.choice(words), rng.choice(words)
        cut_a, cut_b = rng.randint(1, len(a)), rng.randint(0, len(b) - 1)
        out.append(Entry(i // per_answer, " ".join(a[:cut_a] + b[cut_b:]), locale))
    return out


def latency_benchmark(train: str | Path, sizes: Sequence[int] = (1000, 10000, 100000), n_questions: int = 500, seed: int = 11, freeze_gc: bool = True, encoder=None, locale: str = "") -> list[dict[str, float]]:
    """Build time and match latency (p50/p99 ms) per synthetic index size, one process/core.

    With an ``encoder`` the variants are encoded first (untimed: stored vectors in the app),
    the build is from those vectors, and the latency includes encoding each question.
    ``cpu_p50_ms`` / ``cpu_p99_ms``: the same in CPU time of the thread (on a shared machine
    the wall clock includes waiting for the core)."""
    texts = [t for t, _ in read_rows(train)]
    rng = random.Random(seed)
    questions = [rng.choice(texts) for _ in range(n_questions)]
    rows = []
    for size in sizes:
        entries = synthetic_entries(texts, size, locale=locale)
        vectors = None
        if encoder is not None:
            vectors = encoder.encode([encoder_input(e.text) for e in entries])
            if isinstance(encoder, CachedEncoder):
                encoder.bypass = True
        t0, c0 = time.perf_counter(), time.process_time()
        index = MatcherIndex.build(entries, encoder=encoder, vectors=vectors)
        build, build_cpu = time.perf_counter() - t0, time.process_time() - c0
        # Long-lived servers should gc.freeze() after start-up; without it, gen-2 collections
        # that walk every object in the process land on random requests (bench/README.md).
        if freeze_gc:
            gc.collect()
            gc.freeze()
        for q in questions[:20]:  # warm-up
            index.match(q)
        lat, cpu = [], []
        for q in questions:
            t0, c0 = time.perf_counter(), time.thread_time()
            index.match(q)
            lat.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.thread_time() - c0) * 1000)
        lat.sort()
        cpu.sort()
        if freeze_gc:
            gc.unfreeze()
        if isinstance(encoder, CachedEncoder):
            encoder.bypass = False
        rows.append({"variants": size, "build_s": build, "build_cpu_s": build_cpu, "p50_ms": _pct(lat, 50), "p99_ms": _pct(lat, 99),
                     "cpu_p50_ms": _pct(cpu, 50), "cpu_p99_ms": _pct(cpu, 99), "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})
    return rows
