"""Benchmark and calibration for the FAQ matcher (pure Python; no Django).

Protocol (see /work/shared/data/README.md): each category of a train CSV is one canned
answer whose variants are its first k rows in file order; every row of a questions CSV is a
question whose right answer is its category; category ``oos`` means "should hand off".

Thresholds, weights and calibration constants are chosen with ``cross_validate`` /
``fit_calibration``, which use train.csv alone: the index is built from k rows of each
category taken at several offsets, and the remaining train rows are the questions.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import resource
import time
import tracemalloc
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from bot.matcher import Candidate, Entry, MatcherConfig, MatcherIndex, encoder_input
from bot.policy import DEFAULT_THRESHOLDS, Thresholds, decide

OOS = "oos"


def read_rows(path: str | Path) -> list[tuple[str, str]]:
    """(text, category) rows of a ``text,category`` CSV; blank texts are skipped."""
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or "text" not in reader.fieldnames or "category" not in reader.fieldnames:
            raise ValueError(f"{path}: expected a CSV with columns text,category")
        return [(r["text"], r["category"]) for r in reader if (r["text"] or "").strip()]


def group_by_category(rows: Iterable[tuple[str, str]]) -> "OrderedDict[str, list[str]]":
    groups: OrderedDict[str, list[str]] = OrderedDict()
    for text, cat in rows:
        groups.setdefault(cat, []).append(text)
    return groups


def load_first_k(path: str | Path, k: int = 10, offset: int = 0, locale: str = "") -> list[Entry]:
    """Entries for the first-k protocol: rows ``offset..offset+k`` of each category, in file
    order; ``locale``: the answers' language (as an admin sets it on each answer)."""
    if k <= 0:
        raise ValueError("k must be positive")
    groups = group_by_category(read_rows(path))
    return [Entry(cat, t, locale) for cat, texts in groups.items() if cat != OOS for t in texts[offset : offset + k]]


def file_language(path: str | Path, k: int = 10) -> str:
    """The language most of a train file's first-k rows are in (``intents.guess_language``):
    the locale its answers get in the benchmark, read from the train file only."""
    from bot.intents import guess_language

    votes: dict[str, int] = {}
    for e in load_first_k(path, k):
        lang = guess_language(e.text)
        votes[lang] = votes.get(lang, 0) + 1
    return max(votes, key=lambda lang: (votes[lang], lang)) if votes else ""


@dataclasses.dataclass
class QuestionResult:
    text: str
    expected: str
    predicted: str
    confidence: float
    decision: str  # answer | suggest | handoff
    top_score: float
    margin: float
    seconds: float


@dataclasses.dataclass
class Figures:
    questions: int
    in_scope: int
    top1_accuracy: float  # over in-scope questions
    answered_share: float  # at the default thresholds, over all questions
    answered_precision: float
    suggest_share: float
    suggest_contains_right: float  # share of suggested in-scope questions whose right answer was offered
    coverage_at_90: float  # share of all questions (oos included: they can never be answered right)
    coverage_at_90_in_scope: float  # the same cut, as a share of the in-scope questions (bench/README.md)
    oos_questions: int
    oos_answered: float  # share of oos questions answered (lower is better)
    latency_p50_ms: float
    latency_p99_ms: float
    build_seconds: float
    index_size: int
    peak_memory_mb: float
    encoder: str = "none"
    encode_p50_ms: float = 0.0  # encoding one question alone (part of the latency above)
    encode_p99_ms: float = 0.0
    encoder_rss_mb: float = 0.0  # resident memory the loaded encoder adds to the process
    # The same latencies in CPU time of the thread: on a shared, busy machine the wall-clock
    # figures above include waiting for the core; these do not.
    latency_cpu_p50_ms: float = 0.0
    latency_cpu_p99_ms: float = 0.0
    encode_cpu_p50_ms: float = 0.0
    encode_cpu_p99_ms: float = 0.0
    build_cpu_seconds: float = 0.0  # a second build from the same vectors, tracemalloc off

    def lines(self) -> list[str]:
        out = []
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            out.append(f"{f.name:26s} {v:.4f}" if isinstance(v, float) else f"{f.name:26s} {v}")
        return out


def decision_bucket(action: str) -> str:
    """greeting/thanks are not answers from the answer set, so they count as hand-offs."""
    return action if action in ("answer", "suggest") else "handoff"


class CachedEncoder:
    """An encoder that remembers every text's vector: cross-validation builds the same
    variants into many indexes, and a benchmark should time the matcher, not re-encoding."""

    def __init__(self, encoder):
        self.inner = encoder
        self.name, self.version, self.dim = encoder.name, encoder.version, encoder.dim
        self.key = encoder.key
        self.cache: dict[str, np.ndarray] = {}
        self.bypass = False  # True: every call goes to the real encoder (latency runs)

    def encode(self, texts):
        texts = list(texts)
        if self.bypass:
            return self.inner.encode(texts)
        missing = list(dict.fromkeys(t for t in texts if t not in self.cache))
        if missing:
            for t, v in zip(missing, self.inner.encode(missing)):
                self.cache[t] = v
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self.cache[t] for t in texts])


def rss_mb() -> float:
    """Resident memory of this process now (Linux), else its peak."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * resource.getpagesize() / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_encoder(name: str | None, threads: int = 1):
    """(``CachedEncoder`` or None for "none", MB of resident memory loading it added)."""
    if not name or name == "none":
        return None, 0.0
    from bot import encoders

    before = rss_mb()
    encoder = encoders.create(name, threads=threads).load()
    encoders.limit_blas_threads(threads)  # as the app does (bot.encoders.get_encoder)
    return CachedEncoder(encoder), rss_mb() - before


def run_questions(index: MatcherIndex, questions: Sequence[tuple[str, str]], thresholds: Thresholds = DEFAULT_THRESHOLDS) -> list[QuestionResult]:
    results = []
    for text, expected in questions:
        t0 = time.perf_counter()
        cands = index.match(text, limit=3)
        dt = time.perf_counter() - t0
        d = decide(text, cands, thresholds)
        top = cands[0] if cands else None
        margin = (cands[0].score - cands[1].score) if len(cands) > 1 else (cands[0].score if cands else 0.0)
        results.append(
            QuestionResult(
                text=text,
                expected=expected,
                predicted=str(top.answer_id) if top else "",
                confidence=top.confidence if top else 0.0,
                decision=decision_bucket(d.action),
                top_score=top.score if top else 0.0,
                margin=margin,
                seconds=dt,
            )
        )
        results[-1].suggested = [str(c.answer_id) for c in d.candidates] if d.action == "suggest" else []  # type: ignore[attr-defined]
    return results


def coverage_at_precision(results: Sequence[QuestionResult], precision: float = 0.9) -> float:
    """Largest share of questions answerable (highest confidence first) at >= ``precision``."""
    if not results:
        return 0.0
    order = sorted(results, key=lambda r: -r.confidence)
    right = np.cumsum([r.predicted == r.expected and r.expected != OOS for r in order])
    n = np.arange(1, len(order) + 1)
    ok = np.nonzero(right / n >= precision)[0]
    return float((ok[-1] + 1) / len(order)) if len(ok) else 0.0


def summarize(results: Sequence[QuestionResult], build_seconds: float = 0.0, index_size: int = 0, peak_mb: float = 0.0) -> Figures:
    n = len(results)
    ins = [r for r in results if r.expected != OOS]
    oos = [r for r in results if r.expected == OOS]
    answered = [r for r in results if r.decision == "answer"]
    suggested = [r for r in ins if r.decision == "suggest"]
    lat = sorted(r.seconds * 1000 for r in results) or [0.0]
    return Figures(
        questions=n,
        in_scope=len(ins),
        top1_accuracy=_share(sum(r.predicted == r.expected for r in ins), len(ins)),
        answered_share=_share(len(answered), n),
        answered_precision=_share(sum(r.predicted == r.expected for r in answered), len(answered)),
        suggest_share=_share(sum(r.decision == "suggest" for r in results), n),
        suggest_contains_right=_share(sum(r.expected in getattr(r, "suggested", []) for r in suggested), len(suggested)),
        coverage_at_90=coverage_at_precision(results, 0.9),
        coverage_at_90_in_scope=coverage_at_precision(results, 0.9) * _share(n, len(ins)),
        oos_questions=len(oos),
        oos_answered=_share(sum(r.decision == "answer" for r in oos), len(oos)),
        latency_p50_ms=_pct(lat, 50),
        latency_p99_ms=_pct(lat, 99),
        build_seconds=build_seconds,
        index_size=index_size,
        peak_memory_mb=peak_mb,
    )


def evaluate(train: str | Path, test: str | Path, k: int = 10, thresholds: Thresholds = DEFAULT_THRESHOLDS, config: MatcherConfig | None = None, encoder=None,
             locale: str = "") -> tuple[Figures, list[QuestionResult]]:
    """The benchmark: build from first-k of ``train`` (answers in ``locale``), ask every row of
    ``test``. With an ``encoder``, the variants are encoded first (as stored vectors would be)
    and the build time is the index build from those vectors; question latency includes
    encoding."""
    entries = load_first_k(train, k, locale=locale)
    questions = read_rows(test)
    vectors = encoder.encode([encoder_input(e.text) for e in entries]) if encoder is not None else None
    tracemalloc.start()
    t0 = time.perf_counter()
    index = MatcherIndex.build(entries, config, encoder=encoder, vectors=vectors)
    build = time.perf_counter() - t0
    results = run_questions(index, questions, thresholds)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # Latency measured with tracemalloc off (it slows allocation-heavy code several times),
    # each question encoded afresh (a cache would hide the encoder's cost).
    if isinstance(encoder, CachedEncoder):
        encoder.bypass = True
    c0 = time.process_time()
    MatcherIndex.build(entries, config, encoder=encoder, vectors=vectors)
    build_cpu = time.process_time() - c0
    enc_lat, cpu_lat, enc_cpu = [], [], []
    for r in results:
        t0, c0 = time.perf_counter(), time.thread_time()
        index.match(r.text, limit=3)
        r.seconds = time.perf_counter() - t0
        cpu_lat.append((time.thread_time() - c0) * 1000)
        if index.fused:
            t0, c0 = time.perf_counter(), time.thread_time()
            index.question_vector(r.text)
            enc_lat.append((time.perf_counter() - t0) * 1000)
            enc_cpu.append((time.thread_time() - c0) * 1000)
    if isinstance(encoder, CachedEncoder):
        encoder.bypass = False
    figures = summarize(results, build, index.size, peak / 2**20)
    cpu_lat.sort()
    figures.build_cpu_seconds = build_cpu
    figures.latency_cpu_p50_ms, figures.latency_cpu_p99_ms = _pct(cpu_lat, 50), _pct(cpu_lat, 99)
    if encoder is not None:
        enc_cpu.sort()
        figures.encode_cpu_p50_ms, figures.encode_cpu_p99_ms = _pct(enc_cpu, 50), _pct(enc_cpu, 99)
        enc_lat.sort()
        figures.encoder = encoder.key if index.fused else f"{encoder.key} (failed: words only)"
        figures.encode_p50_ms, figures.encode_p99_ms = _pct(enc_lat, 50), _pct(enc_lat, 99)
    return figures, results


def write_rows(results: Iterable[QuestionResult], path: str | Path) -> None:
    """One CSV row per question: text,expected,predicted,confidence,decision."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "expected", "predicted", "confidence", "decision"])
        for r in results:
            w.writerow([r.text, r.expected, r.predicted, f"{r.confidence:.4f}", r.decision])


# --- cross-validation on train data only ---------------------------------------------------


def cv_folds(train: str | Path, k: int = 10, offsets: Sequence[int] = (0, 30, 60), per_category: int = 20,
             locale: str = "") -> list[tuple[list[Entry], list[tuple[str, str]]]]:
    """Folds over train.csv: k rows per category at ``offset`` form the index; up to
    ``per_category`` other rows of that category (spread over the file) are the questions."""
    groups = group_by_category(read_rows(train))
    groups.pop(OOS, None)
    folds = []
    for off in offsets:
        entries, questions = [], []
        for cat, texts in groups.items():
            chosen = texts[off : off + k] if off + k <= len(texts) else texts[:k]
            entries += [Entry(cat, t, locale) for t in chosen]
            rest = [t for t in texts if t not in chosen]
            step = max(1, len(rest) // per_category)
            questions += [(t, cat) for t in rest[::step][:per_category]]
        folds.append((entries, questions))
    return folds


def default_offsets(train: str | Path) -> tuple[int, ...]:
    """Row offsets of the cross-validation folds: 0/30/60 for a file with many rows per
    category (Banking77: 127 at the median), 0/10/20 for small ones (pt_pt: 22, where 30
    and 60 would fall back to the first rows and repeat one fold)."""
    sizes = sorted(len(v) for c, v in group_by_category(read_rows(train)).items() if c != OOS)
    return (0, 30, 60) if sizes and sizes[len(sizes) // 2] >= 80 else (0, 10, 20)


def cross_validate(train: str | Path, k: int = 10, config: MatcherConfig | None = None, offsets: Sequence[int] = (0, 30, 60), thresholds: Thresholds = DEFAULT_THRESHOLDS, encoder=None,
                   locale: str = "") -> tuple[Figures, list[QuestionResult]]:
    all_results: list[QuestionResult] = []
    for entries, questions in cv_folds(train, k, offsets, locale=locale):
        index = MatcherIndex.build(entries, config, encoder=encoder)
        all_results += run_questions(index, questions, thresholds)
    return summarize(all_results), all_results


def choose_thresholds(results: Sequence[QuestionResult], target_precision: float = 0.92) -> float:
    """Lowest confidence threshold whose answered questions reach ``target_precision``."""
    order = sorted(results, key=lambda r: -r.confidence)
    right = np.cumsum([r.predicted == r.expected for r in order])
    n = np.arange(1, len(order) + 1)
    ok = np.nonzero(right / n >= target_precision)[0]
    return float(order[ok[-1]].confidence) if len(ok) else 1.0


def _share(a: int, b: int) -> float:
    return a / b if b else 0.0


def _pct(sorted_values: Sequence[float], p: float) -> float:
    if not sorted_values:
        return 0.0
    i = min(len(sorted_values) - 1, max(0, math.ceil(p / 100 * len(sorted_values)) - 1))
    return float(sorted_values[i])


# The calibration fit lives in bot.calibration_fit (it uses the folds above); its names stay
# reachable from here, where the benchmark and older callers look for them.
_FIT_NAMES = ("OFF_TOPIC", "calibration_features", "cross_validate_oos", "fit_calibration", "fit_fused_calibration",
              "fit_logistic", "oos_folds")


def __getattr__(name: str):
    if name in _FIT_NAMES:
        from bot import calibration_fit

        return getattr(calibration_fit, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "Candidate",
    "Figures",
    "QuestionResult",
    "choose_thresholds",
    "coverage_at_precision",
    "cross_validate",
    "evaluate",
    "fit_calibration",
    "load_first_k",
    "read_rows",
    "write_rows",
]
