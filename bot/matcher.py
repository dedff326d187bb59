"""The FAQ bot's matcher: finds the canned answers closest to a customer's question.

Pure Python + numpy + rapidfuzz; no Django. Build one ``MatcherIndex`` per answer set
(``MatcherIndex.build(entries)``), then call ``index.match(text)``.

How a question is scored (each step kept because it helped in cross-validation on
Banking77 train.csv; figures in bench/README.md):

1. Text is folded and stemmed (``bot.text``); features are word stems, adjacent stem pairs
   and character 3/4-grams of the content words (typos still share most n-grams). A build
   extracts them for all variants at once (``_sim_features``); a question goes through the
   same function, so both sides always agree.
2. Features are TF-IDF weighted (sublinear tf, IDF over answers, not variants, so a word
   shared by all variants of one answer is not penalised), L2-normalised per feature group.
3. Sparse cosine against every variant and against each answer's centroid (sum of its
   variants) through an inverted index; an answer's score mixes its best variant and its
   centroid.
4. The short list is re-scored with rapidfuzz (token_set_ratio against the answer's
   variants) and blended in.
5. Small answer sets (within ``clf_max_variants`` and the ``clf_max_work`` budget, which
   keep a build under about half a second) also get a logistic-regression classifier over
   word and char n-grams (``_Classifier``), fitted at build in the top ``clf_rank``
   directions of the variants' span; an answer's score is half its probability and half
   the similarity above.
6. ``confidence`` is a logistic function of the top score, the margin to the runner-up and
   the question's best plain similarity, fitted by cross-validation on train.csv
   (``bot.evaluation.fit_calibration``), so it reads as "probability the top answer is right"
   whatever the answer set.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Iterable

import numpy as np
from rapidfuzz import fuzz, process

from bot.text import STOPWORDS, fold, fold_many, stem


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
    spell_score: float = 0.0  # >0: correct unknown question words to the closest known one at this rapidfuzz ratio
    spell_max_words: int = 3
    # Logistic-regression classifier (``_Classifier``), used for answer sets with at most
    # ``clf_max_variants`` variants, ``clf_max_weights`` weights (features x answers) and
    # ``clf_max_work`` multiply-adds per pass (variants x rank x answers): the budget that keeps
    # a build under about half a second on one core (bench/README.md, round 3).
    use_classifier: bool = True
    clf_max_variants: int = 1200
    clf_max_work: int = 40_000_000
    clf_max_weights: int = 8_000_000
    clf_c: float = 10.0
    clf_iters: int = 300
    clf_tol: float = 1e-3  # L-BFGS stops when the largest gradient entry fell by this factor
    clf_ftol: float = 1e-5  # ... or an iteration gained less than this share of the loss
    clf_rank: int = 256  # directions of the variants' span kept (top eigenvectors of the Gram matrix)
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


def _normalise_rows(rows: np.ndarray, groups: np.ndarray, vals: np.ndarray, n_rows: int, gw: np.ndarray) -> np.ndarray:
    """Scale each (row, feature group) block to L2 norm sqrt(group weight), so a dot product
    is the group-weighted sum of per-group cosines."""
    key = rows.astype(np.int64) * 3 + groups
    sq = np.bincount(key, weights=vals * vals, minlength=n_rows * 3)
    return vals * np.sqrt(gw[groups] / np.maximum(sq[key], 1e-30))


class _Inverted:
    """Column-major sparse matrix: for each feature, the rows holding it and their weights."""

    def __init__(self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, n_rows: int, n_features: int):
        from scipy import sparse

        m = sparse.csc_matrix((vals, (rows, cols)), shape=(n_rows, n_features))
        self.rows = m.indices.astype(np.int32)
        self.vals = m.data.astype(np.float32)
        self.indptr = m.indptr.astype(np.int64)
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


def _lbfgs(fun, x: np.ndarray, max_iter: int, m: int = 10, tol: float = 1e-5, ftol: float = 1e-7) -> tuple[np.ndarray, int]:
    """Minimise a smooth convex ``fun`` (returning value and gradient) by L-BFGS with
    backtracking; small and dependency-free (scipy's L-BFGS-B spends most of its time in
    bound handling this problem does not need). Stops when the largest gradient entry fell
    by ``tol`` or an iteration gained less than ``ftol`` of the value (float32 products make
    the last digits noise)."""
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
        gained = f - f_new
        x, f, g = x_new, f_new, g_new
        if float(np.abs(g).max()) <= tol * g0 or gained <= ftol * abs(f):
            break
    return x, it


def _top_eig(K: np.ndarray, rank: int, power: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues and orthonormal Ritz vectors of the ``rank`` largest eigenpairs of the
    symmetric PSD ``K`` (all of them when ``rank`` is close to the size). Deterministic."""
    n = K.shape[0]
    if rank >= n * 0.7:
        lam, U = np.linalg.eigh(K)
        return lam[::-1][:rank], U[:, ::-1][:, :rank]
    K = K.astype(np.float32)  # the subspace needs no more; halves the n^2 x rank products
    Q = K @ np.random.default_rng(0).standard_normal((n, min(n, rank + 16)), dtype=np.float32)
    for _ in range(power):
        Q = K @ np.linalg.qr(Q)[0]
    Q = np.linalg.qr(Q)[0]
    lam, V = np.linalg.eigh((Q.T @ (K @ Q)).astype(np.float64))
    return lam[::-1][:rank], (Q.astype(np.float64) @ V)[:, ::-1][:, :rank]


class _Classifier:
    """Multinomial logistic regression over TF-IDF word and char n-grams, fitted at build.

    Few variants per answer make a similarity model treat every word alike; the classifier
    learns which n-grams separate one answer from its neighbours. It is used when the
    answer set is small enough to fit in well under a second (``MatcherConfig.clf_max_*``).
    Keeping only the top 256 directions costs no accuracy in cross-validation (it
    regularises a little) and bounds the solve at variants x 256 x answers per pass.
    """

    def __init__(self, texts: list[str], labels: np.ndarray, n_classes: int, cfg: "MatcherConfig"):
        from scipy import sparse

        r, c, counts, names, groups = _clf_features(texts, cfg)
        self.vocab: dict[tuple[int, str], int] = {(int(gr), nm): i for i, (gr, nm) in enumerate(zip(groups.tolist(), names))}
        tf, g = 1.0 + np.log(counts), groups[c]
        n, f = len(texts), len(self.vocab)
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
        # Only the top ``clf_rank`` directions are kept (found by randomized subspace
        # iteration, n^2 x rank instead of n^3): U are Ritz vectors, so U.T K U = diag(lam)
        # exactly, the regulariser stays ||B||^2, and R = K U / sqrt(lam) gives the exact
        # training logits of W = X.T U B / sqrt(lam).
        K = (X @ X.T).toarray()
        lam, U = _top_eig(K, cfg.clf_rank)
        keep = lam > 1e-8 * max(float(lam.max(initial=0.0)), 1e-12)
        lam, U = lam[keep], U[:, keep]
        R = ((K @ U) / np.sqrt(lam)).astype(np.float32)
        rank = R.shape[1]
        C = cfg.clf_c
        rows = np.arange(n)

        def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
            B = w[: rank * n_classes].reshape(rank, n_classes)
            Z = (R @ B.astype(np.float32)).astype(np.float64) + w[rank * n_classes :]
            Z -= Z.max(axis=1, keepdims=True)
            lse = np.log(np.exp(Z).sum(axis=1))
            P = np.exp(Z - lse[:, None])
            nll = float((lse - Z[rows, labels]).sum())
            D = C * (P - Y)
            return C * nll + 0.5 * float((B * B).sum()), np.concatenate([(R.T @ D.astype(np.float32) + B).ravel(), D.sum(axis=0)])

        w, self.iterations = _lbfgs(loss, np.zeros(rank * n_classes + n_classes), cfg.clf_iters, tol=cfg.clf_tol, ftol=cfg.clf_ftol)
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
        _, lc, counts, names, groups = _clf_features([text], self.cfg)
        c = np.fromiter((self.vocab.get(k, -1) for k in zip(groups[lc].tolist(), (names[i] for i in lc.tolist()))), dtype=np.int64, count=len(lc))
        known = c >= 0
        c, g, tf = c[known], groups[lc][known], 1.0 + np.log(counts[known])
        v = self._normalise(np.zeros(len(c), dtype=np.int64), g, tf * self.idf[c], 1)
        z = (v[:, None] * self.W[c]).sum(axis=0) + self.b if len(c) else self.b.astype(np.float64)
        z = np.exp(z - z.max())
        return z / z.sum()


# --- feature extraction, many texts at once --------------------------------------------------
#
# Per-text Python loops made an index build cost ~0.1 ms per variant. Here each distinct word
# is stemmed and cut into character n-grams once, and documents are assembled with numpy.


class _Tokens:
    """The folded words of many texts: ``tok`` (ids into ``words``) and ``doc`` per token."""

    def __init__(self, texts: list[str]):
        ids: dict[str, int] = {}
        tok: list[int] = []
        lens: list[int] = []
        for folded in fold_many(texts):
            ws = folded.split()
            lens.append(len(ws))
            tok.extend([ids.setdefault(w, len(ids)) for w in ws])
        self.words = list(ids)
        self.tok = np.asarray(tok, dtype=np.int64)
        self.lens = np.asarray(lens, dtype=np.int64)
        self.doc = np.repeat(np.arange(len(texts), dtype=np.int64), self.lens)
        self.n_docs = len(texts)


def _ids(names: Iterable[str]) -> tuple[np.ndarray, list[str]]:
    """Ids of ``names`` (first occurrence order) and the distinct names."""
    table: dict[str, int] = {}
    ids = np.fromiter((table.setdefault(n, len(table)) for n in names), dtype=np.int64)
    return ids, list(table)


def _gather(flat: np.ndarray, starts: np.ndarray, items: np.ndarray, owners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate ``flat[starts[i]:starts[i + 1]]`` for every ``i`` in ``items``, and repeat
    ``owners`` (one per item) to match."""
    n = starts[items + 1] - starts[items]
    offs = np.repeat(starts[items] - np.r_[0, np.cumsum(n)[:-1]], n) + np.arange(int(n.sum()))
    return flat[offs], np.repeat(owners, n)


def _grams_of_words(words: list[str], grams) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Character n-grams of each distinct word: flat ids, per-word starts, distinct names."""
    per_word = [grams(w) for w in words]
    ids, names = _ids(g for gs in per_word for g in gs)
    starts = np.zeros(len(words) + 1, dtype=np.int64)
    np.cumsum(np.fromiter((len(gs) for gs in per_word), dtype=np.int64, count=len(words)), out=starts[1:])
    return ids, starts, names


def _assemble(n_docs: int, parts: list[tuple[np.ndarray, np.ndarray, list[str], int]]):
    """Count (document, feature) pairs of several feature groups.

    ``parts``: (doc of each occurrence, local feature id, local names, group code). Returns
    rows, cols, counts, names (one per col) and the group of each col; cols are dense and
    cover only features that occur.
    """
    from scipy import sparse

    docs, cols, names, groups = [], [], [], []
    offset = 0
    for d, ids, local_names, g in parts:
        docs.append(d)
        cols.append(ids + offset)
        names.extend(local_names)
        groups.append(np.full(len(local_names), g, dtype=np.int64))
        offset += len(local_names)
    d = np.concatenate(docs) if docs else np.zeros(0, dtype=np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    grp = np.concatenate(groups) if groups else np.zeros(0, dtype=np.int64)
    if n_docs == 1:  # a question: np.unique on a few hundred ids beats building a matrix
        keep, counts = np.unique(c, return_counts=True)
        return np.zeros(len(keep), dtype=np.int64), np.arange(len(keep)), counts.astype(np.float64), [names[i] for i in keep.tolist()], grp[keep]
    used = np.bincount(c, minlength=offset) > 0
    remap = np.cumsum(used) - 1
    m = sparse.csr_matrix((np.ones(len(c)), (d, remap[c])), shape=(n_docs, int(used.sum())))
    m.sum_duplicates()
    rows = np.repeat(np.arange(n_docs, dtype=np.int64), np.diff(m.indptr))
    keep = np.flatnonzero(used)
    return rows, m.indices.astype(np.int64), m.data, [names[i] for i in keep], grp[keep]


def _sim_features(texts: list[str], cfg: "MatcherConfig"):
    """The similarity model's features of ``texts`` (see ``_features`` for one text).

    Returns rows, cols, counts, names, groups (as ``_assemble``) and each text's normalised
    form (its content stems joined by spaces; "" for a text with no words).
    """
    t = _Tokens(texts)
    words = t.words
    stems = [_stem(w) for w in words]
    raw_stop = np.fromiter((w in STOPWORDS for w in words), dtype=bool, count=len(words))
    stem_stop = np.fromiter((s in STOPWORDS for s in stems), dtype=bool, count=len(words))
    keep_raw = ~raw_stop[t.tok]
    keep_word = keep_raw & ~stem_stop[t.tok]
    # A text of stopwords only ("how are you") keeps all its words rather than nothing.
    fallback = (np.bincount(t.doc[keep_word], minlength=t.n_docs) == 0)[t.doc]
    keep_raw |= fallback
    keep_word |= fallback
    stem_id, stem_names = _ids(stems)
    wd, ws = t.doc[keep_word], stem_id[t.tok[keep_word]]
    parts = [(wd, ws, ["w:" + s for s in stem_names], 0)]
    if cfg.w_bigram:
        same = wd[1:] == wd[:-1]
        a, b = ws[:-1][same], ws[1:][same]
        pair_id, pairs = np.unique(a * len(stem_names) + b, return_inverse=True)
        k = len(stem_names)
        parts.append((wd[1:][same], pairs.reshape(-1), [f"b:{stem_names[p // k]}_{stem_names[p % k]}" for p in pair_id.tolist()], 1))
    if cfg.w_char:
        flat, starts, gram_names = _grams_of_words(words, lambda w: _char_grams(w, cfg.char_ngrams))
        gids, gdocs = _gather(flat, starts, t.tok[keep_raw], t.doc[keep_raw])
        parts.append((gdocs, gids, gram_names, 2))
    kept = [stems[i] for i in t.tok[keep_word].tolist()]
    ends = np.cumsum(np.bincount(wd, minlength=t.n_docs)).tolist()
    norms = [" ".join(kept[s:e]) for s, e in zip([0] + ends[:-1], ends)]
    return (*_assemble(t.n_docs, parts), norms, words)


def _clf_features(texts: list[str], cfg: "MatcherConfig"):
    """The classifier's features of ``texts`` as ``_assemble`` returns them: group 0 holds
    stemmed word 1-2-grams of words of 2+ letters (stopwords kept, since "card not working"
    and "card working" differ by one), group 1 char_wb n-grams of every folded word."""
    t = _Tokens(texts)
    stem_id, stem_names = _ids(_stem(w) for w in t.words)
    long = np.fromiter((len(w) > 1 for w in t.words), dtype=bool, count=len(t.words))[t.tok]
    wd, ws = t.doc[long], stem_id[t.tok[long]]
    same = wd[1:] == wd[:-1]
    k = len(stem_names)
    pair_id, pairs = np.unique(ws[:-1][same] * k + ws[1:][same], return_inverse=True)
    names = stem_names + [f"{stem_names[p // k]} {stem_names[p % k]}" for p in pair_id.tolist()]
    flat, starts, gram_names = _grams_of_words(t.words, lambda w: _wb_grams(w, cfg.clf_char_lo, cfg.clf_char_hi))
    gids, gdocs = _gather(flat, starts, t.tok, t.doc)
    parts = [
        (np.concatenate([wd, wd[1:][same]]), np.concatenate([ws, pairs.reshape(-1) + k]), names, 0),
        (gdocs, gids, gram_names, 1),
    ]
    return _assemble(t.n_docs, parts)


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
        self.known_words: list[str] = []  # folded words of the variants, for spelling correction
        self.known_stems: frozenset[str] = frozenset()
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
        entries = list(entries)
        if not entries:
            return self
        r_a, c_a, counts, names, groups, norms, words = _sim_features([e.text for e in entries], cfg)
        # A variant with no words cannot match anything. Answers keep first-seen order and
        # their variants entry order.
        has_words = np.bincount(r_a, minlength=len(entries)) > 0
        kept = np.flatnonzero(has_words)
        if not len(kept):
            return self
        answer_pos: dict[int | str, int] = {}
        for i in kept.tolist():
            answer_pos.setdefault(entries[i].answer_id, len(answer_pos))
        self.answer_ids = list(answer_pos)
        of_entry = np.fromiter((answer_pos[entries[i].answer_id] for i in kept.tolist()), dtype=np.int64, count=len(kept))
        order = kept[np.argsort(of_entry, kind="stable")]
        new_row = np.full(len(entries), -1, dtype=np.int64)
        new_row[order] = np.arange(len(order))
        self.variant_text = [entries[i].text for i in order.tolist()]
        self.variant_norm = [norms[i] for i in order.tolist()]
        n_var, n_ans, n_feat = len(order), len(self.answer_ids), len(names)
        self.answer_start = np.zeros(n_ans + 1, dtype=np.int64)
        np.cumsum(np.bincount(of_entry, minlength=n_ans), out=self.answer_start[1:])
        self.vocab = dict(zip(names, range(n_feat)))
        self.known_words = sorted(w for w in words if len(w) >= 3 and w.isalpha())
        self.known_stems = frozenset(_stem(w) for w in words)
        self.group_of = groups
        r_a = new_row[r_a]
        v_a = 1.0 + np.log(counts)
        variant_answer = np.repeat(np.arange(n_ans), np.diff(self.answer_start))
        # Document frequency over answers (or variants): see the module docstring.
        from scipy import sparse

        by_answer = sparse.csr_matrix((np.ones(n_var), (variant_answer, np.arange(n_var))), shape=(n_ans, n_var))
        if cfg.idf_by_answer:
            presence = sparse.csr_matrix((np.ones(len(r_a)), (r_a, c_a)), shape=(n_var, n_feat))
            df = np.diff((by_answer @ presence).tocsc().indptr)
            n_docs = n_ans
        else:
            df = np.bincount(c_a, minlength=n_feat)
            n_docs = n_var
        self.idf = np.log((n_docs + 1) / (df + 1.0)) + 1.0
        v_a = _normalise_rows(r_a, self.group_of[c_a], v_a * self.idf[c_a], n_var, self.gw)
        self.variants = _Inverted(r_a, c_a, v_a, n_var, n_feat)
        # Centroid of each answer: the sum of its (normalised) variant vectors, renormalised.
        cent = (by_answer @ sparse.csr_matrix((v_a, (r_a, c_a)), shape=(n_var, n_feat))).tocoo()
        ca, cc, cv = cent.row.astype(np.int64), cent.col.astype(np.int64), cent.data
        cv = _normalise_rows(ca, self.group_of[cc], cv, n_ans, self.gw)
        self.centroids = _Inverted(ca, cc, cv, n_ans, n_feat)
        if cfg.use_classifier and n_ans > 1 and n_var <= cfg.clf_max_variants and n_var * min(n_var, cfg.clf_rank) * n_ans <= cfg.clf_max_work:
            clf = _Classifier(self.variant_text, variant_answer, n_ans, cfg)
            if clf.W is not None:
                self.classifier = clf
                self.calibration = CALIB_CLF
        return self

    def _query_vector(self, text: str) -> tuple[np.ndarray, np.ndarray, str]:
        _, lc, counts, names, groups, norms, _ = _sim_features([text], self.cfg)
        norm = norms[0]
        if not len(lc) or not self.vocab:
            return np.zeros(0, dtype=np.int64), np.zeros(0), norm
        f = np.fromiter((self.vocab.get(names[i], -1) for i in lc.tolist()), dtype=np.int64, count=len(lc))
        # Unseen features count in the norm (with the largest IDF) so a question made of
        # words no answer uses gets a low score instead of a perfect partial match.
        idf = np.where(f >= 0, self.idf[np.maximum(f, 0)], float(self.idf.max()))
        g = groups[lc]
        v = _normalise_rows(np.zeros(len(f), dtype=np.int64), g, (1.0 + np.log(counts)) * idf, 1, self.gw)
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

    def correct_spelling(self, text: str) -> str:
        """``text`` folded, with up to ``spell_max_words`` words the answers never use replaced
        by the closest word they do use (rapidfuzz ratio >= ``spell_score``); ``text`` itself
        when nothing changed. Customers' typos ("recieve", "transfre") otherwise lose the word
        and bigram features, keeping only shared character n-grams."""
        cfg = self.cfg
        if not cfg.spell_score or not self.known_words:
            return text
        words = fold(text).split()
        budget, changed = cfg.spell_max_words, False
        for i, w in enumerate(words):
            if budget <= 0:
                break
            if len(w) < 4 or not w.isalpha() or w in STOPWORDS or _stem(w) in self.known_stems:
                continue
            budget -= 1
            hit = process.extractOne(w, self.known_words, scorer=fuzz.ratio, score_cutoff=cfg.spell_score)
            if hit is not None:
                words[i], changed = hit[0], True
        return " ".join(words) if changed else text

    def ranked(self, text: str, limit: int = 5) -> tuple[list[tuple[float, int, int]], float]:
        """(score, answer position, best variant) of the short list, best first, and the
        question's best plain similarity to any answer (how on-topic it is at all, an input of
        the calibration: the classifier's probabilities are high even for unrelated text)."""
        if limit <= 0 or not self.answer_ids:
            return [], 0.0
        text = self.correct_spelling(text)
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
