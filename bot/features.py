"""Feature extraction of the lexical matcher, for many texts at once (pure; no Django).

Per-text Python loops made an index build cost ~0.1 ms per variant. Here each distinct word
is stemmed and cut into character n-grams once, and documents are assembled with numpy.
A question goes through the same functions as a batch of one, so both sides always agree.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import numpy as np

from bot.stemming import stemmer_for
from bot.text import STOPWORDS, fold_many, stem


@functools.lru_cache(maxsize=65536)
def _char_grams(word: str, ns: tuple[int, ...]) -> tuple[str, ...]:
    padded = f" {word} "
    return tuple("c:" + padded[i : i + n] for n in ns for i in range(max(1, len(padded) - n + 1)))



_stem = functools.lru_cache(maxsize=65536)(stem)


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




def _token_stems(t: "_Tokens", langs: list[str] | None, snowball: bool) -> tuple[np.ndarray, list[str]]:
    """Stem id of every token of ``t`` and the distinct stems. Each text is stemmed in its own
    language (``langs``, one per text; ``bot.stemming``); each distinct (word, language) pair
    is stemmed once."""
    distinct = sorted(set(langs)) if langs else [""]
    if len(distinct) == 1:
        fn = stemmer_for(distinct[0], snowball)
        stem_id, names = _ids(fn(w) for w in t.words)
        return stem_id[t.tok], names
    code = {lang: i for i, lang in enumerate(distinct)}
    doc_lang = np.fromiter((code[lang] for lang in langs), dtype=np.int64, count=len(langs))
    pair = t.tok * len(distinct) + doc_lang[t.doc]
    uniq, inv = np.unique(pair, return_inverse=True)
    fns = [stemmer_for(lang, snowball) for lang in distinct]
    stem_id, names = _ids(fns[p % len(distinct)](t.words[p // len(distinct)]) for p in uniq.tolist())
    return stem_id[inv.reshape(-1)], names


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


def _sim_features(texts: list[str], cfg: "MatcherConfig", langs: list[str] | None = None):
    """The similarity model's features of ``texts``; ``langs``: each text's language, for the
    stemmer (None: the hand-written one for all).

    Returns rows, cols, counts, names, groups (as ``_assemble``) and each text's normalised
    form (its content stems joined by spaces; "" for a text with no words).
    """
    t = _Tokens(texts)
    words = t.words
    tok_stem, stem_names = _token_stems(t, langs, cfg.snowball)
    raw_stop = np.fromiter((w in STOPWORDS for w in words), dtype=bool, count=len(words))
    stem_stop = np.fromiter((s in STOPWORDS for s in stem_names), dtype=bool, count=len(stem_names))
    keep_raw = ~raw_stop[t.tok]
    keep_word = keep_raw & ~stem_stop[tok_stem]
    # A text of stopwords only ("how are you") keeps all its words rather than nothing.
    fallback = (np.bincount(t.doc[keep_word], minlength=t.n_docs) == 0)[t.doc]
    keep_raw |= fallback
    keep_word |= fallback
    wd, ws = t.doc[keep_word], tok_stem[keep_word]
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
    kept = [stem_names[i] for i in ws.tolist()]
    ends = np.cumsum(np.bincount(wd, minlength=t.n_docs)).tolist()
    norms = [" ".join(kept[s:e]) for s, e in zip([0] + ends[:-1], ends)]
    return (*_assemble(t.n_docs, parts), norms, words)


def _clf_features(texts: list[str], cfg: "MatcherConfig", langs: list[str] | None = None):
    """The classifier's features of ``texts`` (each stemmed in its language of ``langs``, as
    ``_sim_features``) as ``_assemble`` returns them: group 0 holds
    stemmed word 1-2-grams of words of 2+ letters (stopwords kept, since "card not working"
    and "card working" differ by one), group 1 char_wb n-grams of every folded word."""
    t = _Tokens(texts)
    tok_stem, stem_names = _token_stems(t, langs, cfg.snowball)
    long = np.fromiter((len(w) > 1 for w in t.words), dtype=bool, count=len(t.words))[t.tok]
    wd, ws = t.doc[long], tok_stem[long]
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
