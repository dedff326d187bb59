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
5. Small answer sets (<= ``clf_max_variants`` variants) also get a logistic-regression
   classifier over word and char n-grams (``_Classifier``), fitted at build; an answer's
   score is half its probability and half the similarity above.
6. ``confidence`` is a logistic function of the top score, the margin to the runner-up and
   the question's best plain similarity, fitted by cross-validation on train.csv
   (``bot.evaluation.fit_calibration``), so it reads as "probability the top answer is right"
   whatever the answer set.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from collections import Counter
from collections.abc import Iterable

import numpy as np
from rapidfuzz import fuzz

from bot.text import STOPWORDS, fold, stem


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
    w_bigram: float = 0.15
    w_char: float = 1.0
    char_ngrams: tuple[int, ...] = (3, 4)
    centroid_weight: float = 0.6  # answer score = (1-c) * best variant + c * centroid
    fuzz_weight: float = 0.25
    shortlist: int = 10
    idf_by_answer: bool = True
    soft_temp: float = 0.0  # >0: answer's variant score = soft maximum (log-sum-exp) at this temperature
    fuzz_scorer: str = "token_sort_ratio"
    # Logistic-regression classifier (``_Classifier``), used for answer sets with at most
    # ``clf_max_variants`` variants and ``clf_max_weights`` weights (features x answers).
    use_classifier: bool = True
    clf_max_variants: int = 2000
    clf_max_weights: int = 8_000_000
    clf_c: float = 10.0
    clf_iters: int = 300
    clf_char_lo: int = 2
    clf_char_hi: int = 5
    clf_weight: float = 0.5  # final = clf_weight * probability + (1 - clf_weight) * similarity


DEFAULT_CONFIG = MatcherConfig()

# Logistic calibration: confidence = 1 / (1 + exp(-(A + B*top + C*margin + D*evidence))), where
# ``top`` is the best answer's score, ``margin`` its lead over the runner-up and ``evidence``
# the question's best plain similarity to any answer. Fitted with
# ``bot.evaluation.fit_calibration`` on Banking77 train.csv only (first-k indexes, k in 5/10/20,
# offsets 0/30/60, all 77 / 25 / 8 categories, off-topic questions); see bench/README.md.
# CALIB_CLF is for indexes that use the classifier (small answer sets), CALIB_SIM for the rest.
CALIB_CLF = (-2.2130, -7.2993, 10.7005, 9.0511)
CALIB_SIM = (-3.2283, 2.1622, 9.1776, 3.7138)


@functools.lru_cache(maxsize=65536)
def _char_grams(word: str, ns: tuple[int, ...]) -> tuple[str, ...]:
    padded = f" {word} "
    return tuple("c:" + padded[i : i + n] for n in ns for i in range(max(1, len(padded) - n + 1)))


_stem = functools.lru_cache(maxsize=65536)(stem)


def _features(text: str, cfg: MatcherConfig) -> tuple[dict[str, float], str]:
    """Feature weights (sublinear tf times group weight) of a text, and its normalised form."""
    folded = fold(text).split()
    raw_words = [w for w in folded if w not in STOPWORDS]
    words = [s for s in (_stem(w) for w in raw_words) if s not in STOPWORDS]
    if not words:
        # Only stopwords ("how are you"): still compare what is there rather than nothing.
        raw_words = folded
        words = [_stem(w) for w in folded]
    if not words:
        return {}, ""
    groups: list[tuple[float, Counter[str]]] = [(cfg.w_word, Counter("w:" + w for w in words))]
    if cfg.w_bigram and len(words) > 1:
        groups.append((cfg.w_bigram, Counter(f"b:{a}_{b}" for a, b in zip(words, words[1:]))))
    if cfg.w_char:
        grams: Counter[str] = Counter()
        for w in raw_words:
            grams.update(_char_grams(w, cfg.char_ngrams))
        groups.append((cfg.w_char, grams))
    feats: dict[str, float] = {}
    for weight, counts in groups:
        if weight <= 0:
            continue
        for key, tf in counts.items():
            feats[key] = (1.0 + math.log(tf)) if tf > 1 else 1.0
    return feats, " ".join(words)


_GROUP_CODE = {"w": 0, "b": 1, "c": 2}


def _normalise_rows(rows: np.ndarray, groups: np.ndarray, vals: np.ndarray, n_rows: int, gw: np.ndarray) -> np.ndarray:
    """Scale each (row, feature group) block to L2 norm sqrt(group weight), so a dot product
    is the group-weighted sum of per-group cosines."""
    key = rows.astype(np.int64) * 3 + groups
    sq = np.bincount(key, weights=vals * vals, minlength=n_rows * 3)
    return vals * np.sqrt(gw[groups] / np.maximum(sq[key], 1e-30))


class _Inverted:
    """Column-major sparse matrix: for each feature, the rows holding it and their weights."""

    def __init__(self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, n_rows: int, n_features: int):
        order = np.argsort(cols, kind="stable")
        self.rows = rows[order].astype(np.int32)
        self.vals = vals[order].astype(np.float32)
        self.indptr = np.zeros(n_features + 1, dtype=np.int64)
        np.cumsum(np.bincount(cols, minlength=n_features), out=self.indptr[1:])
        self.n_rows = n_rows

    def dot(self, fids: np.ndarray, q: np.ndarray) -> np.ndarray:
        starts, ends = self.indptr[fids], self.indptr[fids + 1]
        lens = ends - starts
        if not lens.sum():
            return np.zeros(self.n_rows, dtype=np.float64)
        # Gather all posting lists at once: positions start_i .. end_i for every query feature.
        offs = np.repeat(starts - np.r_[0, np.cumsum(lens)[:-1]], lens) + np.arange(lens.sum())
        return np.bincount(self.rows[offs], weights=self.vals[offs] * np.repeat(q, lens), minlength=self.n_rows)



# --- discriminative model for small answer sets ---------------------------------------------

_TOKEN = re.compile(r"\b\w\w+\b")


@functools.lru_cache(maxsize=65536)
def _wb_grams(word: str, lo: int, hi: int) -> tuple[str, ...]:
    """Character n-grams of `` word `` (padded with spaces, so word starts and ends count),
    sizes lo..hi; a word shorter than n yields itself once for that n."""
    w = f" {word} "
    out = []
    for n in range(lo, hi + 1):
        if len(w) <= n:
            out.append(w)
            continue
        out.extend(w[i : i + n] for i in range(len(w) - n + 1))
    return tuple(out)


def _clf_terms(text: str, cfg: "MatcherConfig") -> tuple[list[str], list[str]]:
    """The classifier's two feature groups: stemmed word 1-2-grams (stopwords kept, since
    "card not working" and "card working" differ by one) and char_wb n-grams of folded text."""
    folded = fold(text)
    stems = [_stem(w) for w in _TOKEN.findall(folded)]
    words = stems + [f"{a} {b}" for a, b in zip(stems, stems[1:])]
    chars: list[str] = []
    for w in folded.split():
        chars.extend(_wb_grams(w, cfg.clf_char_lo, cfg.clf_char_hi))
    return words, chars


def _tfidf_rows(docs: list[tuple[list[str], list[str]]], vocab: dict[str, int], grow: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(rows, cols, sublinear tf, group) triplets of ``docs``; new terms join ``vocab`` if ``grow``."""
    rows: list[int] = []
    cols: list[int] = []
    tfs: list[float] = []
    grp: list[int] = []
    for r, groups in enumerate(docs):
        for g, terms in enumerate(groups):
            for term, tf in Counter(terms).items():
                key = (g, term)
                fid = vocab.get(key)  # type: ignore[call-overload]
                if fid is None:
                    if not grow:
                        continue
                    fid = vocab[key] = len(vocab)  # type: ignore[index]
                rows.append(r)
                cols.append(fid)
                tfs.append(1.0 + math.log(tf))
                grp.append(g)
    return (np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64), np.asarray(tfs), np.asarray(grp, dtype=np.int64))


def _lbfgs(fun, x: np.ndarray, max_iter: int, m: int = 10, tol: float = 1e-5) -> tuple[np.ndarray, int]:
    """Minimise a smooth convex ``fun`` (returning value and gradient) by L-BFGS with
    backtracking; small and dependency-free (scipy's L-BFGS-B spends most of its time in
    bound handling this problem does not need)."""
    f, g = fun(x)
    s_hist: list[np.ndarray] = []
    y_hist: list[np.ndarray] = []
    g0 = float(np.abs(g).max()) or 1.0
    it = 0
    for it in range(1, max_iter + 1):
        q = g.copy()
        alphas = []
        for s_, y_ in zip(reversed(s_hist), reversed(y_hist)):
            a = float(s_ @ q) / float(y_ @ s_)
            alphas.append(a)
            q -= a * y_
        if y_hist:
            q *= float(s_hist[-1] @ y_hist[-1]) / float(y_hist[-1] @ y_hist[-1])
        else:
            q /= max(float(np.linalg.norm(g)), 1e-12)
        for (s_, y_), a in zip(zip(s_hist, y_hist), reversed(alphas)):
            q += (a - float(y_ @ q) / float(y_ @ s_)) * s_
        d = -q
        slope = float(g @ d)
        if slope >= 0:  # not a descent direction: restart from steepest descent
            s_hist.clear()
            y_hist.clear()
            d, slope = -g, -float(g @ g)
        t = 1.0
        for _ in range(30):
            x_new = x + t * d
            f_new, g_new = fun(x_new)
            if f_new <= f + 1e-4 * t * slope:
                break
            t *= 0.5
        else:
            break
        s_, y_ = x_new - x, g_new - g
        if float(y_ @ s_) > 1e-12:
            s_hist.append(s_)
            y_hist.append(y_)
            if len(s_hist) > m:
                s_hist.pop(0)
                y_hist.pop(0)
        x, f, g = x_new, f_new, g_new
        if float(np.abs(g).max()) <= tol * g0:
            break
    return x, it


class _Classifier:
    """Multinomial logistic regression over TF-IDF word and char n-grams, fitted at build.

    Few variants per answer make a similarity model treat every word alike; the classifier
    learns which n-grams separate one answer from its neighbours. It is used when the
    answer set is small enough to fit in well under a second (``MatcherConfig.clf_max_*``).
    """

    def __init__(self, docs: list[tuple[list[str], list[str]]], labels: np.ndarray, n_classes: int, cfg: "MatcherConfig"):
        from scipy import sparse

        self.vocab: dict[tuple[int, str], int] = {}
        r, c, tf, g = _tfidf_rows(docs, self.vocab, grow=True)
        n, f = len(docs), len(self.vocab)
        df = np.bincount(c, minlength=f)
        self.idf = np.log((n + 1) / (df + 1.0)) + 1.0
        self.W: np.ndarray | None = None
        if f * n_classes > cfg.clf_max_weights:
            return  # too many weights to hold; the similarity model works alone
        X = sparse.csr_matrix((self._normalise(r, g, tf * self.idf[c], n), (r, c)), shape=(n, f))
        Y = np.zeros((n, n_classes))
        Y[np.arange(n), labels] = 1.0
        # Solved in the span of the variants: the L2-regularised optimum is W = X.T @ A.
        # With K = X @ X.T = U diag(lam) U.T, the coordinates B = sqrt(lam) U.T A turn the
        # problem into a small dense logistic regression on R = U sqrt(lam) (n x rank), as
        # well conditioned as the original, with n x answers unknowns instead of features x answers.
        lam, U = np.linalg.eigh((X @ X.T).toarray())
        keep = lam > 1e-8 * max(float(lam[-1]), 1e-12)
        lam, U = lam[keep], U[:, keep]
        R = U * np.sqrt(lam)
        rank = R.shape[1]
        C = cfg.clf_c
        rows = np.arange(n)

        def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
            B = w[: rank * n_classes].reshape(rank, n_classes)
            Z = R @ B + w[rank * n_classes :]
            Z -= Z.max(axis=1, keepdims=True)
            lse = np.log(np.exp(Z).sum(axis=1))
            P = np.exp(Z - lse[:, None])
            nll = float((lse - Z[rows, labels]).sum())
            D = C * (P - Y)
            return C * nll + 0.5 * float((B * B).sum()), np.concatenate([(R.T @ D + B).ravel(), D.sum(axis=0)])

        w, self.iterations = _lbfgs(loss, np.zeros(rank * n_classes + n_classes), cfg.clf_iters)
        A = U @ (w[: rank * n_classes].reshape(rank, n_classes) / np.sqrt(lam)[:, None])
        self.W = np.asarray(X.T @ A, dtype=np.float32)
        self.b = w[rank * n_classes :].astype(np.float32)
        self.cfg = cfg

    @staticmethod
    def _normalise(r: np.ndarray, g: np.ndarray, v: np.ndarray, n: int) -> np.ndarray:
        key = r * 2 + g
        sq = np.bincount(key, weights=v * v, minlength=n * 2)
        return v / np.sqrt(np.maximum(sq[key], 1e-30))

    def proba(self, text: str) -> np.ndarray:
        _, c, tf, g = _tfidf_rows([_clf_terms(text, self.cfg)], self.vocab, grow=False)
        v = self._normalise(np.zeros(len(c), dtype=np.int64), g, tf * self.idf[c], 1)
        z = (v[:, None] * self.W[c]).sum(axis=0) + self.b if len(c) else self.b.astype(np.float64)
        z = np.exp(z - z.max())
        return z / z.sum()


class MatcherIndex:
    """An immutable search index over one answer set. Rebuild it when answers change.

    Instances pickle cleanly (plain lists and numpy arrays), and ``build`` is fast enough
    to simply rebuild in each process.
    """

    def __init__(self) -> None:
        self.cfg = DEFAULT_CONFIG
        self.answer_ids: list[int | str] = []
        self.answer_start = np.zeros(1, dtype=np.int64)  # variants of answer a: start[a]:start[a+1]
        self.variant_text: list[str] = []  # original text, grouped by answer
        self.variant_norm: list[str] = []  # normalised text, for rapidfuzz
        self.vocab: dict[str, int] = {}
        self.idf = np.zeros(0)
        self.group_of = np.zeros(0, dtype=np.int64)
        self.gw = np.zeros(3)
        self.variants: _Inverted | None = None
        self.centroids: _Inverted | None = None
        self.classifier: _Classifier | None = None
        self.calibration: tuple[float, ...] = CALIB_SIM

    @property
    def size(self) -> int:
        """Number of question variants in the index."""
        return len(self.variant_text)

    @classmethod
    def build(cls, entries: Iterable[Entry], config: MatcherConfig | None = None) -> "MatcherIndex":
        self = cls()
        cfg = self.cfg = config or DEFAULT_CONFIG
        self.gw = np.array([cfg.w_word, cfg.w_bigram, cfg.w_char], dtype=np.float64)
        by_answer: dict[int | str, list[tuple[str, dict[str, float], str]]] = {}
        for entry in entries:
            feats, norm = _features(entry.text, cfg)
            if feats:  # a variant with no words cannot match anything
                by_answer.setdefault(entry.answer_id, []).append((entry.text, feats, norm))
        if not by_answer:
            return self
        vocab = self.vocab
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        starts = [0]
        for answer_id, variants in by_answer.items():
            self.answer_ids.append(answer_id)
            for text, feats, norm in variants:
                r = len(self.variant_text)
                self.variant_text.append(text)
                self.variant_norm.append(norm)
                for key, v in feats.items():
                    fid = vocab.get(key)
                    if fid is None:
                        fid = vocab[key] = len(vocab)
                    rows.append(r)
                    cols.append(fid)
                    vals.append(v)
            starts.append(len(self.variant_text))
        self.answer_start = np.asarray(starts, dtype=np.int64)
        n_var, n_ans, n_feat = len(self.variant_text), len(self.answer_ids), len(vocab)
        self.group_of = np.fromiter((_GROUP_CODE[k[0]] for k in vocab), dtype=np.int64, count=n_feat)
        r_a = np.asarray(rows, dtype=np.int64)
        c_a = np.asarray(cols, dtype=np.int64)
        v_a = np.asarray(vals, dtype=np.float64)
        variant_answer = np.repeat(np.arange(n_ans), np.diff(self.answer_start))
        # Document frequency over answers (or variants): see the module docstring.
        if cfg.idf_by_answer:
            pairs = np.unique(variant_answer[r_a] * n_feat + c_a)
            df = np.bincount(pairs % n_feat, minlength=n_feat)
            n_docs = n_ans
        else:
            df = np.bincount(c_a, minlength=n_feat)
            n_docs = n_var
        self.idf = np.log((n_docs + 1) / (df + 1.0)) + 1.0
        v_a = _normalise_rows(r_a, self.group_of[c_a], v_a * self.idf[c_a], n_var, self.gw)
        self.variants = _Inverted(r_a, c_a, v_a, n_var, n_feat)
        # Centroid of each answer: the sum of its (normalised) variant vectors, renormalised.
        key, inv = np.unique(variant_answer[r_a] * n_feat + c_a, return_inverse=True)
        cv = np.bincount(inv, weights=v_a)
        ca, cc = key // n_feat, key % n_feat
        cv = _normalise_rows(ca, self.group_of[cc], cv, n_ans, self.gw)
        self.centroids = _Inverted(ca, cc, cv, n_ans, n_feat)
        if cfg.use_classifier and n_ans > 1 and n_var <= cfg.clf_max_variants:
            docs = [_clf_terms(t, cfg) for t in self.variant_text]
            clf = _Classifier(docs, variant_answer, n_ans, cfg)
            if clf.W is not None:
                self.classifier = clf
                self.calibration = CALIB_CLF
        return self

    def _query_vector(self, text: str) -> tuple[np.ndarray, np.ndarray, str]:
        feats, norm = _features(text, self.cfg)
        if not feats or not self.vocab:
            return np.zeros(0, dtype=np.int64), np.zeros(0), norm
        # Unseen features count in the norm (with the largest IDF) so a question made of
        # words no answer uses gets a low score instead of a perfect partial match.
        unseen_idf = float(self.idf.max())
        fids, groups, vals = [], [], []
        for key, v in feats.items():
            fid = self.vocab.get(key, -1)
            fids.append(fid)
            groups.append(_GROUP_CODE[key[0]])
            vals.append(v * (self.idf[fid] if fid >= 0 else unseen_idf))
        f = np.asarray(fids, dtype=np.int64)
        g = np.asarray(groups, dtype=np.int64)
        v = _normalise_rows(np.zeros(len(f), dtype=np.int64), g, np.asarray(vals), 1, self.gw)
        known = f >= 0
        return f[known], v[known], norm

    def raw_scores(self, text: str) -> tuple[np.ndarray, np.ndarray, str]:
        """Per-answer lexical scores (before rapidfuzz) and the per-variant cosines."""
        n_ans = len(self.answer_ids)
        if self.variants is None or n_ans == 0:
            return np.zeros(0), np.zeros(0), ""
        fids, q, norm = self._query_vector(text)
        if not len(fids):
            return np.zeros(n_ans), np.zeros(self.size), norm
        vs = self.variants.dot(fids, q)
        best = np.maximum.reduceat(vs, self.answer_start[:-1])
        if self.cfg.soft_temp > 0:
            t = self.cfg.soft_temp
            best = 1.0 + t * np.log(np.maximum(np.add.reduceat(np.exp((vs - 1.0) / t), self.answer_start[:-1]), 1e-300))
        cs = self.centroids.dot(fids, q)
        c = self.cfg.centroid_weight
        return ((1 - c) * best + c * cs) / self.gw.sum(), vs, norm

    def match(self, text: str, limit: int = 5) -> list[Candidate]:
        """Best answers for ``text``, best first, one per answer. [] if nothing can match."""
        ranked, evidence = self.ranked(text, limit)
        if not ranked:
            return []
        top = ranked[0][0]
        second = ranked[1][0] if len(ranked) > 1 else 0.0
        out = []
        for i, (s, a, var) in enumerate(ranked[:limit]):
            runner = second if i == 0 else top
            conf = confidence(s, s - runner, self.calibration, evidence)
            out.append(Candidate(self.answer_ids[a], conf, round(s, 6), self.variant_text[var]))
        return out

    def ranked(self, text: str, limit: int = 5) -> tuple[list[tuple[float, int, int]], float]:
        """(score, answer position, best variant) of the short list, best first, and the
        question's best plain similarity to any answer (how on-topic it is at all, an input of
        the calibration: the classifier's probabilities are high even for unrelated text)."""
        if limit <= 0 or not self.answer_ids:
            return [], 0.0
        lex, vs, norm = self.raw_scores(text)
        if not norm or not np.any(lex > 0):
            return [], 0.0
        scores = lex
        cfg = self.cfg
        w = 0.0
        if self.classifier is not None:
            w = cfg.clf_weight
            scores = w * self.classifier.proba(text) + (1 - w) * lex
        m = min(len(scores), max(cfg.shortlist, limit + 1))
        # Top m by score, ties broken by answer position, so results are deterministic.
        part = np.argpartition(-scores, m - 1)[:m] if m < len(scores) else np.arange(len(scores))
        short = part[np.lexsort((part, -scores[part]))]
        scorer = getattr(fuzz, cfg.fuzz_scorer)
        final: list[tuple[float, int, int]] = []
        for a in short.tolist():
            lo, hi = int(self.answer_start[a]), int(self.answer_start[a + 1])
            var = lo + int(np.argmax(vs[lo:hi]))
            fz = 0.0
            if cfg.fuzz_weight:
                for v in range(lo, hi):
                    r = scorer(norm, self.variant_norm[v]) / 100.0
                    if r > fz:
                        fz = r
            final.append((float(scores[a]) + (1 - w) * cfg.fuzz_weight * (fz - float(lex[a])), a, var))
        final.sort(key=lambda t: (-t[0], t[1]))
        return final, float(lex.max())


def confidence(score: float, margin: float, calibration: tuple[float, ...] | None = None, evidence: float = 0.0) -> float:
    """Calibrated probability that an answer with this score and lead is the right one.

    For candidates after the first, ``margin`` is negative (distance below the top), which
    keeps confidences sorted like the ranking. ``evidence`` is the question's best plain
    similarity (``MatcherIndex.ranked``), the same for every candidate of one question.
    """
    a, b, c, d = calibration or CALIB_SIM
    z = a + b * score + c * margin + d * evidence
    z = max(-50.0, min(50.0, z))
    return round(1.0 / (1.0 + math.exp(-z)), 6)
