"""The FAQ bot's matcher: finds the canned answers closest to a customer's question.

Pure Python + numpy + rapidfuzz; no Django. Build one ``MatcherIndex`` per answer set
(``MatcherIndex.build(entries, encoder=..., vectors=...)``), then call ``index.match(text)``.
Feature extraction lives in ``bot.features``, the classifiers in ``bot.classifier``, the
sentence encoders in ``bot.encoders``.

How a question is scored (each step kept because it helped in cross-validation on the
train files; figures and the ablation in bench/README.md):

1. Text is folded and stemmed (``bot.text``); features are word stems, adjacent stem pairs
   and character 3/4-grams of the content words (typos still share most n-grams).
2. Features are TF-IDF weighted (sublinear tf, IDF over answers, not variants, so a word
   shared by all variants of one answer is not penalised), L2-normalised per feature group.
3. Sparse cosine against every variant and against each answer's centroid (sum of its
   variants) through an inverted index; an answer's score mixes its best variant and its
   centroid.
4. Answer sets within the ``clf_max_*`` budget (a build under about half a second) also get a
   logistic regression over word and char n-grams (``LexicalClassifier``); an answer's
   lexical score is half its probability and half the similarity above.
5. With a sentence encoder (the default), the answer's score is ``fuse_lexical`` x that
   lexical score + ``fuse_cosine`` x its best variant's cosine + ``fuse_classifier`` x the
   probability of a logistic regression over the variants' vectors (``EmbeddingClassifier``,
   fitted at build at any size: no cliff). Without one, or when it fails, the short list is
   re-scored with rapidfuzz (``token_sort_ratio``), which no longer helps once vectors are in.
6. ``confidence`` is a logistic function of the top score, the margin to the runner-up, the
   question's best plain lexical similarity and (fused) its best cosine, fitted by
   cross-validation on train files (``bot.evaluation.fit_calibration`` /
   ``fit_fused_calibration``), so it reads as "probability the top answer is right" whatever
   the answer set and language.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable

import numpy as np
from rapidfuzz import fuzz, process

from bot.calibration import CALIB_CLF, CALIB_FUSED, CALIB_SIM, confidence  # noqa: F401  (re-exported)
from bot.classifier import EmbeddingClassifier, LexicalClassifier
from bot.features import _clf_features, _sim_features, _stem  # noqa: F401  (tests import them from here)
from bot.stemming import language_code
from bot.text import MAX_CHARS, STOPWORDS, fold

logger = logging.getLogger(__name__)


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
    # Snowball stemmer (PyStemmer) in each text's language for pt/es/en; False, or a text of
    # another language: the hand-written stemmer of ``bot.text`` (bot.stemming).
    snowball: bool = True
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
    # Logistic-regression classifier (``bot.classifier.LexicalClassifier``), used for answer sets with at most
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
    # Fusion with sentence-encoder vectors (when the index has them): an answer's score is
    # fuse_lexical * the lexical score above (without rapidfuzz, which no longer helps) +
    # fuse_cosine * its best variant's cosine + fuse_classifier * the probability of a logistic
    # regression over the vectors (``EmbeddingClassifier``). Chosen by cross-validation on the
    # Banking77, pt_pt and es train files (bench/README.md).
    fuse_lexical: float = 0.4
    fuse_cosine: float = 0.2
    fuse_classifier: float = 0.4
    emb_c: float = 10.0
    emb_ridge: float = 1.0
    emb_iters: int = 200
    emb_max_work: float = 2e9  # multiply-adds of the L-BFGS refinement (~0.3 s on one core)


DEFAULT_CONFIG = MatcherConfig()




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
        self.classifier: LexicalClassifier | None = None
        self.known_words: list[str] = []  # folded words of the variants, for spelling correction
        self.known_stems: frozenset[str] = frozenset()
        self.calibration: tuple[float, ...] = CALIB_SIM
        # Sentence-encoder part (``build(..., encoder=...)``): unit vectors of the variants in
        # index order, the classifier over them, and the encoder for questions.
        self.encoder = None
        self.vectors: np.ndarray | None = None
        self.emb_classifier: EmbeddingClassifier | None = None
        self.fused_calibration: tuple[float, ...] = CALIB_FUSED
        self.answer_locale: list[str] = []  # locale of each answer's first entry (its title)
        self.main_language = ""  # the language code most variants are in (for the stemmer)
        self.languages: frozenset[str] = frozenset()  # the variants' language codes

    @property
    def fused(self) -> bool:
        """Whether questions are scored with sentence vectors too."""
        return self.emb_classifier is not None

    @property
    def size(self) -> int:
        """Number of question variants in the index."""
        return len(self.variant_text)

    @classmethod
    def build(cls, entries: Iterable[Entry], config: MatcherConfig | None = None, *, encoder=None,
              vectors: np.ndarray | None = None) -> "MatcherIndex":
        """The index of ``entries``. With an ``encoder`` (``bot.encoders.base.Encoder``) it also
        scores by meaning: ``vectors`` are the entries' stored vectors (one row per entry, a zero
        row where none is stored yet); without them the entries are encoded now. An encoder
        that fails leaves a lexical-only index."""
        self = cls()
        cfg = self.cfg = config or DEFAULT_CONFIG
        self.gw = np.array([cfg.w_word, cfg.w_bigram, cfg.w_char], dtype=np.float64)
        entries = list(entries)
        if not entries:
            return self
        langs = [language_code(e.locale) for e in entries]
        r_a, c_a, counts, names, groups, norms, words = _sim_features([e.text for e in entries], cfg, langs)
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
        locale_of: dict[int | str, str] = {}
        for i in kept.tolist():
            locale_of.setdefault(entries[i].answer_id, entries[i].locale)
        self.answer_locale = [locale_of[a] for a in self.answer_ids]
        of_entry = np.fromiter((answer_pos[entries[i].answer_id] for i in kept.tolist()), dtype=np.int64, count=len(kept))
        order = kept[np.argsort(of_entry, kind="stable")]
        new_row = np.full(len(entries), -1, dtype=np.int64)
        new_row[order] = np.arange(len(order))
        self.variant_text = [entries[i].text for i in order.tolist()]
        variant_langs = [langs[i] for i in order.tolist()]
        counted: dict[str, int] = {}
        for lang in variant_langs:
            counted[lang] = counted.get(lang, 0) + 1
        self.main_language = max(counted, key=lambda lang: (counted[lang], lang))
        self.languages = frozenset(counted)
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
            clf = LexicalClassifier(self.variant_text, variant_answer, n_ans, cfg, langs=variant_langs)
            if clf.W is not None:
                self.classifier = clf
                self.calibration = CALIB_CLF
        if encoder is not None:
            self._build_semantic(entries, order, variant_answer, n_ans, encoder, vectors)
        return self

    def _build_semantic(self, entries: list[Entry], order: np.ndarray, variant_answer: np.ndarray, n_ans: int,
                        encoder, vectors: np.ndarray | None) -> None:
        cfg = self.cfg
        try:
            if vectors is None:
                vectors = encoder.encode([encoder_input(e.text) for e in entries])
        except Exception as exc:  # the encoder is an optional part: words still match
            logger.error("encoding the answer set failed, matching on words only: %s", exc)
            return
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(entries) or vectors.shape[1] != encoder.dim:
            raise ValueError(f"vectors must be ({len(entries)}, {encoder.dim}), got {vectors.shape}")
        self.vectors = np.ascontiguousarray(vectors[order])
        if n_ans < 2 or not np.any(self.vectors):
            self.vectors = None
            return
        self.emb_classifier = EmbeddingClassifier(self.vectors, variant_answer, n_ans, c=cfg.emb_c, ridge=cfg.emb_ridge,
                                                  iters=cfg.emb_iters, max_work=cfg.emb_max_work)
        self.encoder = encoder

    def question_vector(self, text: str) -> np.ndarray | None:
        """The question's sentence vector, or None (no encoder, or it failed just now)."""
        if self.encoder is None:
            return None
        try:
            return self.encoder.encode([encoder_input(text)])[0]
        except Exception as exc:
            logger.error("encoding a question failed, matching on words only: %s", exc)
            return None

    def stem_language(self, language: str | None, text: str = "") -> str:
        """The language a question is stemmed in: the customer's (guessed from ``text`` when
        not given and the answers are in several languages) when some answers are in it,
        else the language most variants are in: a wrong guess must not give the question
        stems that no variant has."""
        present = self.languages
        if not language and len(present) > 1 and text:
            from bot.intents import guess_language

            language = guess_language(text, default=self.main_language)
        code = language_code(language)
        return code if code and code in present else self.main_language

    def question_vectors(self, texts: list[str]) -> list[np.ndarray | None]:
        """The sentence vectors of several questions in one encoder call (what ``match`` would
        encode for each: the spelling-corrected text), for ``match(..., vector=...)``; Nones
        without an encoder or when it fails."""
        if self.encoder is None or not texts:
            return [None] * len(texts)
        try:
            return list(self.encoder.encode([encoder_input(self.correct_spelling(t)) for t in texts]))
        except Exception as exc:
            logger.error("encoding questions failed, matching on words only: %s", exc)
            return [None] * len(texts)

    def _query_vector(self, text: str, lang: str = "") -> tuple[np.ndarray, np.ndarray, str]:
        _, lc, counts, names, groups, norms, _ = _sim_features([text], self.cfg, [lang])
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

    def raw_scores(self, text: str, lang: str | None = None) -> tuple[np.ndarray, np.ndarray, str]:
        """Per-answer lexical scores (before rapidfuzz) and the per-variant cosines; ``lang``:
        the stemmer's language (default: ``stem_language(None)``)."""
        n_ans = len(self.answer_ids)
        if self.variants is None or n_ans == 0:
            return np.zeros(0), np.zeros(0), ""
        fids, q, norm = self._query_vector(text, self.main_language if lang is None else lang)
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

    def match(self, text: str, limit: int = 5, language: str | None = None,
              vector: np.ndarray | None = None) -> list[Candidate]:
        """Best answers for ``text``, best first, one per answer. [] if nothing can match.
        ``vector``: the question's sentence vector when already encoded (``question_vectors``).

        ``language``: the customer's language, when known. If some answers are in it, only
        those compete: a multilingual encoder finds the English copy of a Portuguese answer
        as close as the Portuguese one, and the customer should get their own language."""
        ranked, evidence = self.ranked(text, limit, language, vector=vector)
        if not ranked:
            return []
        calibration = self.fused_calibration if len(evidence) > 1 else self.calibration
        top = ranked[0][0]
        second = ranked[1][0] if len(ranked) > 1 else 0.0
        out = []
        for i, (s, a, var) in enumerate(ranked[:limit]):
            runner = second if i == 0 else top
            conf = confidence(s, s - runner, calibration, evidence)
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

    def language_mask(self, language: str | None) -> np.ndarray | None:
        """Answers in ``language`` (None: no restriction, also when none or all are in it)."""
        if not language or not self.answer_locale:
            return None
        mask = np.fromiter((loc == language for loc in self.answer_locale), dtype=bool, count=len(self.answer_locale))
        return mask if mask.any() and not mask.all() else None

    def ranked(self, text: str, limit: int = 5, language: str | None = None, *,
               vector: np.ndarray | None = None) -> tuple[list[tuple[float, int, int]], tuple[float, ...]]:
        """(score, answer position, best variant) of the short list, best first, and the
        evidence the calibration reads: the question's best plain lexical similarity to any
        answer (how on-topic it is at all: classifiers' probabilities are high even for
        unrelated text) and, when sentence vectors are used, its best cosine to any variant.
        (The embedding classifier's logit of the top answer helped on out-of-scope folds but
        depends on the answer set's size; not used: bench/README.md, round 5.)"""
        if limit <= 0 or not self.answer_ids:
            return [], ()
        text = self.correct_spelling(text)
        lang = self.stem_language(language, text)
        lex, vs, norm = self.raw_scores(text, lang)
        if not norm:
            return [], ()
        allowed = self.language_mask(language)
        if allowed is not None:
            lex = np.where(allowed, lex, 0.0)
        q = (vector if vector is not None else self.question_vector(text)) if self.fused else None
        if q is None and not np.any(lex > 0):
            return [], ()
        scores = lex
        cfg = self.cfg
        w = 0.0
        if self.classifier is not None:
            w = cfg.clf_weight
            scores = w * _within(self.classifier.proba(text, lang), allowed) + (1 - w) * lex
        if q is not None:
            return self._ranked_fused(scores, lex, q, limit, allowed)
        m = min(len(scores), max(cfg.shortlist, limit + 1))
        short = _top(scores, m)
        if allowed is not None:
            short = short[allowed[short]]
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
        return final, (float(lex.max()),)

    def _ranked_fused(self, lexical: np.ndarray, lex: np.ndarray, q: np.ndarray, limit: int, allowed: np.ndarray | None):
        cfg = self.cfg
        cos = self.vectors @ q
        if allowed is not None:
            cos = np.where(np.repeat(allowed, np.diff(self.answer_start)), cos, -1.0)
        best = np.maximum.reduceat(cos, self.answer_start[:-1])
        z = self.emb_classifier.logits(q)
        proba = _within(self.emb_classifier.proba(q, z), allowed)
        scores = cfg.fuse_lexical * lexical + cfg.fuse_cosine * best + cfg.fuse_classifier * proba
        short = _top(scores, min(len(scores), max(cfg.shortlist, limit + 1)))
        if allowed is not None:
            short = short[allowed[short]]
        final = []
        for a in short.tolist():
            lo, hi = int(self.answer_start[a]), int(self.answer_start[a + 1])
            final.append((float(scores[a]), a, lo + int(np.argmax(cos[lo:hi]))))
        return final, (float(lex.max()), float(cos.max()))


def encoder_input(text: str) -> str:
    """What the sentence encoder reads of a question or a variant: the text lowercased, with
    its whitespace collapsed and at most ``bot.text.MAX_CHARS`` characters; the same on both
    sides, so a stored vector can be keyed by this form (``bot.vectors.text_hash``). Accents and
    punctuation stay: the encoder uses them (full folding cost 1-2 points of top-1 on Banking77
    and pt_pt in cross-validation; bench/README.md)."""
    return " ".join(str(text)[: MAX_CHARS * 2].lower().split())[:MAX_CHARS]


def _within(proba: np.ndarray, allowed: np.ndarray | None) -> np.ndarray:
    """Class probabilities renormalised over the allowed answers."""
    if allowed is None:
        return proba
    kept = np.where(allowed, proba, 0.0)
    total = kept.sum()
    return kept / total if total > 0 else kept


def _top(scores: np.ndarray, m: int) -> np.ndarray:
    """Positions of the ``m`` best scores, best first, ties by position (deterministic)."""
    part = np.argpartition(-scores, m - 1)[:m] if m < len(scores) else np.arange(len(scores))
    return part[np.lexsort((part, -scores[part]))]
