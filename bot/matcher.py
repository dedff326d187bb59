"""The FAQ bot's matcher: finds the canned answers closest to a customer's question.

Pure Python + numpy + rapidfuzz; no Django. Build one ``MatcherIndex`` per answer set
(``MatcherIndex.build(entries)``), then call ``index.match(text)``.

How a question is scored (each step kept because it helped in cross-validation on
Banking77 train.csv; figures in bench/README.md):

1. Text is folded and stemmed (``bot.text``); features are word stems, adjacent stem pairs
   and character 3/4-grams of the content words (typos still share most n-grams).
2. Features are TF-IDF weighted (sublinear tf, IDF over answers, not variants, so a word
   shared by all variants of one answer is not penalised), L2-normalised per feature group.
3. Sparse cosine against every variant and against each answer's centroid (sum of its
   variants) through an inverted index; an answer's score mixes its best variant and its
   centroid.
4. The short list is re-scored with rapidfuzz (token_set_ratio against the answer's
   variants) and blended in.
5. ``confidence`` is a logistic function of the top score and the margin to the runner-up,
   fitted by cross-validation on train.csv (``bot.evaluation.fit_calibration``), so it reads
   as "probability the top answer is right" whatever the answer set.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Iterable

import numpy as np
from rapidfuzz import fuzz

from bot.text import fold, normalize, stem, STOPWORDS


@dataclasses.dataclass(frozen=True)
class Entry:
    """One question variant of a canned answer (the answer's title may be one too)."""

    answer_id: int | str
    text: str
    locale: str = ""


@dataclasses.dataclass(frozen=True)
class Candidate:
    answer_id: int | str
    confidence: float  # calibrated probability that this answer is right, 0..1
    score: float  # raw blended similarity
    matched_text: str  # the variant closest to the question


@dataclasses.dataclass(frozen=True)
class MatcherConfig:
    """Scoring knobs. Defaults chosen by cross-validation on train.csv (bench/README.md)."""

    w_word: float = 1.0
    w_bigram: float = 0.3
    w_char: float = 1.0
    char_ngrams: tuple[int, ...] = (3, 4)
    centroid_weight: float = 0.5  # answer score = (1-c) * best variant + c * centroid
    fuzz_weight: float = 0.15
    shortlist: int = 10
    idf_by_answer: bool = True


DEFAULT_CONFIG = MatcherConfig()

# Logistic calibration: confidence = 1 / (1 + exp(-(A + B * top + C * margin))), where ``top``
# is the best answer's score and ``margin`` its lead over the runner-up. Fitted with
# ``bot.evaluation.fit_calibration`` on Banking77 train.csv only (first-k index, k in 5/10/20,
# the other train rows of each category as questions, several offsets); see bench/README.md.
CALIB_A = -6.0
CALIB_B = 10.0
CALIB_C = 10.0


def _features(text: str, cfg: MatcherConfig) -> tuple[dict[str, float], str]:
    """Weighted, group-normalised feature vector of a text, and its normalised form."""
    norm = normalize(text)
    words = norm.split()
    raw_words: list[str]
    if not words:
        # Only stopwords ("how are you"): still compare what is there rather than nothing.
        words = [stem(w) for w in fold(text).split()]
        raw_words = fold(text).split()
    else:
        raw_words = [w for w in fold(text).split() if w not in STOPWORDS]
    if not words:
        return {}, ""
    groups: list[tuple[float, Counter[str]]] = []
    groups.append((cfg.w_word, Counter("w:" + w for w in words)))
    if cfg.w_bigram and len(words) > 1:
        groups.append((cfg.w_bigram, Counter(f"b:{a}_{b}" for a, b in zip(words, words[1:]))))
    if cfg.w_char:
        grams: Counter[str] = Counter()
        for w in raw_words:
            padded = f" {w} "
            for n in cfg.char_ngrams:
                for i in range(max(1, len(padded) - n + 1)):
                    grams["c:" + padded[i : i + n]] += 1
        groups.append((cfg.w_char, grams))
    feats: dict[str, float] = {}
    for weight, counts in groups:
        if weight <= 0 or not counts:
            continue
        for key, tf in counts.items():
            feats[key] = (1.0 + math.log(tf)) * weight
    return feats, " ".join(words)


def _group_normalise(vec: dict[int, float], group_of: np.ndarray, weights: dict[int, float]) -> dict[int, float]:
    norms: dict[int, float] = {}
    for fid, v in vec.items():
        g = int(group_of[fid])
        norms[g] = norms.get(g, 0.0) + v * v
    return {fid: v * math.sqrt(weights[int(group_of[fid])] / norms[int(group_of[fid])]) for fid, v in vec.items()}


_GROUP_CODE = {"w": 0, "b": 1, "c": 2}


class _Inverted:
    """Column-major sparse matrix: for each feature, the rows holding it and their weights."""

    def __init__(self, rows: list[dict[int, float]], n_features: int):
        cols, rws, vals = [], [], []
        for r, vec in enumerate(rows):
            for fid, v in vec.items():
                cols.append(fid)
                rws.append(r)
                vals.append(v)
        cols_a = np.asarray(cols, dtype=np.int64)
        order = np.argsort(cols_a, kind="stable")
        self.rows = np.asarray(rws, dtype=np.int32)[order]
        self.vals = np.asarray(vals, dtype=np.float32)[order]
        self.indptr = np.zeros(n_features + 1, dtype=np.int64)
        np.add.at(self.indptr, cols_a + 1, 1)
        np.cumsum(self.indptr, out=self.indptr)
        self.n_rows = len(rows)

    def dot(self, query: dict[int, float]) -> np.ndarray:
        parts_r, parts_v = [], []
        for fid, q in query.items():
            s, e = self.indptr[fid], self.indptr[fid + 1]
            if e > s:
                parts_r.append(self.rows[s:e])
                parts_v.append(self.vals[s:e] * q)
        if not parts_r:
            return np.zeros(self.n_rows, dtype=np.float64)
        return np.bincount(np.concatenate(parts_r), weights=np.concatenate(parts_v), minlength=self.n_rows)


class MatcherIndex:
    """An immutable search index over one answer set. Rebuild it when answers change.

    Instances pickle cleanly (plain dicts and numpy arrays), and ``build`` is fast enough
    (< 1 s at 10k variants) to simply rebuild in each process.
    """

    def __init__(self) -> None:
        self.cfg = DEFAULT_CONFIG
        self.answer_ids: list[int | str] = []
        self.variant_answer = np.zeros(0, dtype=np.int32)  # answer index of each variant
        self.variant_text: list[str] = []  # original text
        self.variant_norm: list[str] = []  # normalised text, for rapidfuzz
        self.answer_variants: list[list[int]] = []
        self.vocab: dict[str, int] = {}
        self.idf = np.zeros(0)
        self.group_of = np.zeros(0, dtype=np.int8)
        self.group_weight: dict[int, float] = {}
        self.variants: _Inverted | None = None
        self.centroids: _Inverted | None = None

    @property
    def size(self) -> int:
        """Number of question variants in the index."""
        return len(self.variant_text)

    @classmethod
    def build(cls, entries: Iterable[Entry], config: MatcherConfig | None = None) -> "MatcherIndex":
        self = cls()
        cfg = self.cfg = config or DEFAULT_CONFIG
        self.group_weight = {0: cfg.w_word, 1: cfg.w_bigram, 2: cfg.w_char}
        answer_pos: dict[int | str, int] = {}
        raw: list[tuple[int, dict[str, float]]] = []
        for entry in entries:
            feats, norm = _features(entry.text, cfg)
            if not feats:
                continue  # a variant with no words cannot match anything
            a = answer_pos.setdefault(entry.answer_id, len(answer_pos))
            if a == len(self.answer_ids):
                self.answer_ids.append(entry.answer_id)
                self.answer_variants.append([])
            self.answer_variants[a].append(len(self.variant_text))
            self.variant_text.append(entry.text)
            self.variant_norm.append(norm)
            raw.append((a, feats))
        n_answers = len(self.answer_ids)
        if not raw:
            return self
        vocab = self.vocab
        for _, feats in raw:
            for key in feats:
                if key not in vocab:
                    vocab[key] = len(vocab)
        n_feat = len(vocab)
        self.group_of = np.fromiter((_GROUP_CODE[k[0]] for k in vocab), dtype=np.int8, count=n_feat)
        # Document frequency counted over answers (or variants): see module docstring.
        df = np.zeros(n_feat, dtype=np.float64)
        if cfg.idf_by_answer:
            seen: dict[int, set[int]] = {}
            for a, feats in raw:
                seen.setdefault(a, set()).update(vocab[k] for k in feats)
            for ids in seen.values():
                df[list(ids)] += 1
            n_docs = n_answers
        else:
            for _, feats in raw:
                df[[vocab[k] for k in feats]] += 1
            n_docs = len(raw)
        self.idf = np.log((n_docs + 1) / (df + 1)) + 1.0
        idf = self.idf
        rows: list[dict[int, float]] = []
        centroid: list[dict[int, float]] = [dict() for _ in range(n_answers)]
        for a, feats in raw:
            vec = {vocab[k]: v * idf[vocab[k]] for k, v in feats.items()}
            vec = _group_normalise(vec, self.group_of, self.group_weight)
            rows.append(vec)
            c = centroid[a]
            for fid, v in vec.items():
                c[fid] = c.get(fid, 0.0) + v
        centroid = [_group_normalise(c, self.group_of, self.group_weight) for c in centroid]
        self.variant_answer = np.asarray([a for a, _ in raw], dtype=np.int32)
        self.variants = _Inverted(rows, n_feat)
        self.centroids = _Inverted(centroid, n_feat)
        return self

    def _query_vector(self, text: str) -> tuple[dict[int, float], str]:
        feats, norm = _features(text, self.cfg)
        vec = {}
        for key, v in feats.items():
            fid = self.vocab.get(key)
            if fid is not None:  # unseen features add to no dot product, only to the norm
                vec[fid] = v * self.idf[fid]
        # Unseen features still count in the norm (with the largest IDF) so a question made
        # of words no answer uses gets a low score instead of a perfect partial match.
        unseen_idf = float(self.idf.max()) if len(self.idf) else 1.0
        norms: dict[int, float] = {}
        for key, v in feats.items():
            g = _GROUP_CODE[key[0]]
            fid = self.vocab.get(key)
            w = v * (self.idf[fid] if fid is not None else unseen_idf)
            norms[g] = norms.get(g, 0.0) + w * w
        out = {}
        for fid, v in vec.items():
            g = int(self.group_of[fid])
            out[fid] = v * math.sqrt(self.group_weight[g] / norms[g])
        return out, norm

    def raw_scores(self, text: str) -> tuple[np.ndarray, np.ndarray, str]:
        """Per-answer blended scores before the rapidfuzz step, best variant of each answer."""
        n_answers = len(self.answer_ids)
        if self.variants is None or n_answers == 0:
            return np.zeros(0), np.zeros(0, dtype=np.int64), ""
        q, norm = self._query_vector(text)
        if not q:
            return np.zeros(n_answers), np.full(n_answers, -1, dtype=np.int64), norm
        vs = self.variants.dot(q)
        total_w = sum(self.group_weight[g] for g in set(int(self.group_of[f]) for f in q)) or 1.0
        # Best variant per answer: sort by (answer, score) once, take the last of each group.
        order = np.lexsort((vs, self.variant_answer))
        last = np.r_[np.nonzero(np.diff(self.variant_answer[order]))[0], len(order) - 1]
        best_var = np.full(n_answers, -1, dtype=np.int64)
        best_var[self.variant_answer[order[last]]] = order[last]
        best = vs[best_var]
        cs = self.centroids.dot(q)
        c = self.cfg.centroid_weight
        weights_sum = sum(self.group_weight.values())
        scores = ((1 - c) * best + c * cs) / weights_sum
        del total_w
        return scores, best_var, norm

    def match(self, text: str, limit: int = 5) -> list[Candidate]:
        """Best answers for ``text``, best first, one per answer. [] if nothing can match."""
        if limit <= 0 or not self.answer_ids:
            return []
        scores, best_var, norm = self.raw_scores(text)
        if not norm or best_var.size == 0 or not np.any(scores > 0):
            return []
        cfg = self.cfg
        m = min(len(scores), max(cfg.shortlist, limit + 1))
        # Deterministic ordering: score desc, then answer position.
        short = np.lexsort((np.arange(len(scores)), -scores))[:m]
        final: list[tuple[float, int, int]] = []
        for a in short:
            a = int(a)
            fz, fz_var = 0.0, int(best_var[a])
            if cfg.fuzz_weight:
                for v in self.answer_variants[a]:
                    r = fuzz.token_set_ratio(norm, self.variant_norm[v]) / 100.0
                    if r > fz:
                        fz, fz_var = r, v
            s = (1 - cfg.fuzz_weight) * float(scores[a]) + cfg.fuzz_weight * fz
            var = int(best_var[a]) if best_var[a] >= 0 else fz_var
            final.append((s, a, var))
        final.sort(key=lambda t: (-t[0], t[1]))
        top = final[0][0]
        second = final[1][0] if len(final) > 1 else 0.0
        out = []
        for i, (s, a, var) in enumerate(final[:limit]):
            runner = second if i == 0 else top
            conf = confidence(s, s - runner)
            out.append(Candidate(self.answer_ids[a], conf, round(s, 6), self.variant_text[var]))
        return out


def confidence(score: float, margin: float) -> float:
    """Calibrated probability that an answer with this score and lead is the right one.

    For candidates after the first, ``margin`` is negative (distance below the top), which
    keeps confidences sorted like the ranking.
    """
    z = CALIB_A + CALIB_B * score + CALIB_C * margin
    z = max(-50.0, min(50.0, z))
    return round(1.0 / (1.0 + math.exp(-z)), 6)
