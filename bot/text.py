"""Text normalization for the FAQ bot (pure Python, no Django).

Customers write in Portuguese, Spanish or English, often without accents, with typos,
repeated letters ("olaaaa") and emoji. ``fold`` removes the noise but keeps every word;
``normalize`` also drops stopwords and applies a light, language-agnostic stemmer so that
"pedidos", "pedido" and "pedi" meet. Both are total (never raise on a ``str``) and
idempotent: ``normalize(normalize(x)) == normalize(x)``.
"""

from __future__ import annotations

import re
import unicodedata

# Heavy steps (regexes, stemming) run on at most this many characters: a 100 KB message
# must not cost more than a normal one. Canned-answer questions are far shorter.
MAX_CHARS = 2000

_NON_WORD = re.compile(r"[\W_]+")
# Three or more of the same letter ("olaaaa", "pleeease") collapse to one; digits are kept
# as they are ("1000").
_REPEATS = re.compile(r"([^\W\d_])\1{2,}")

# Small stopword lists written for this project (no downloads). Negations ("not", "nao",
# "no") and question words are kept on purpose: "card not working" and "how do I get a card"
# differ by exactly those words.
_STOP_EN = """
a an the and or but if then so of to in on at by for from with about into over under as is am
are was were be been being do does did doing have has had having i me my mine myself you your
yours we us our ours he him his she her hers it its they them their this that these those there
here just also very too can could would should will shall may might must please pls plz hi hello
hey thanks thank ok okay yes yeah im ive id u ur get got any some much many more most own same
""".split()
_STOP_PT = """
o os a as um uma uns umas de do da dos das no na nos nas em ao aos e ou mas se que com por para
pra pro pelo pela pelos pelas eu me mim meu minha meus minhas voce vc voces seu sua seus suas
ele ela eles elas nosso nossa isso isto esse essa este esta aquele aquela la aqui ai ja tambem
muito muita sou estou esta estao ser estar foi era tem tenho ter ha oi ola obrigado obrigada
por favor favor pf tb ta to
""".split()
_STOP_ES = """
el la los las un una unos unas de del al y o pero si que con por para en mi mis tu tus su sus
yo me te se le les lo nos usted ustedes es soy estoy esta estan son ser estar fue era tengo
tiene tener hay muy tambien ya aqui alli hola gracias porfa este esta esto ese esa eso
""".split()
STOPWORDS = frozenset(_STOP_EN + _STOP_PT + _STOP_ES)

# Suffix rules tried in order; the first that leaves a stem of at least ``_MIN_STEM`` letters
# wins. The stemmer is applied until nothing changes, which makes it idempotent.
_MIN_STEM = 3
_SUFFIXES: tuple[tuple[str, str], ...] = (
    # Portuguese / Spanish plurals and endings
    ("coes", "cao"),
    ("ciones", "cion"),
    ("oes", "ao"),
    ("aes", "ao"),
    ("ais", "al"),
    ("eis", "el"),
    ("mente", ""),
    ("ando", ""),
    ("endo", ""),
    ("indo", ""),
    ("aram", ""),
    ("eram", ""),
    ("iram", ""),
    ("amos", ""),
    ("emos", ""),
    ("imos", ""),
    ("ado", ""),
    ("ada", ""),
    ("ido", ""),
    ("ida", ""),
    # English
    ("ies", "y"),
    ("ing", ""),
    ("edly", ""),
    ("ed", ""),
    ("ly", ""),
    ("ness", ""),
    ("ment", ""),
    ("es", ""),
    ("s", ""),
    # verbs (pt/es/en "-er") and final vowels (pt/es gender, English silent e)
    ("ar", ""),
    ("er", ""),
    ("ir", ""),
    ("ou", ""),
    ("ei", ""),
    ("a", ""),
    ("o", ""),
    ("e", ""),
    ("i", ""),  # pt/es past tense: "recebi" meets "receber"
)


def _stem_once(word: str) -> str:
    if word.isdigit():
        return word
    if word.endswith("ss"):
        return word
    for suffix, repl in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) + len(repl) >= _MIN_STEM:
            return word[: len(word) - len(suffix)] + repl
    # "stopp" (from "stopped") -> "stop"
    if len(word) > _MIN_STEM and word[-1] == word[-2] and word[-1] not in "aeiou0123456789":
        return word[:-1]
    return word


def stem(word: str) -> str:
    """Light stemmer for pt/es/en applied to a fixpoint (so ``stem(stem(w)) == stem(w)``)."""
    for _ in range(12):  # every step shortens the word; the bound is only a guard
        new = _stem_once(word)
        if new == word:
            return word
        word = new
    return word


def fold(text: str) -> str:
    """Lowercase, strip accents, emoji, punctuation, control characters and repeated letters."""
    if not isinstance(text, str):
        text = str(text)
    text = text[: MAX_CHARS * 2]
    # Twice: casefolding can produce new combining marks ("İ" -> "i" + dot above).
    if text.isascii():
        text = text.lower()
    else:
        for _ in range(2):
            text = unicodedata.normalize("NFKD", text.casefold())
            text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _NON_WORD.sub(" ", text)
    text = _REPEATS.sub(r"\1", text)
    return " ".join(text.split()[: MAX_CHARS // 4])[:MAX_CHARS].strip()


def tokens(text: str) -> list[str]:
    """Content tokens: folded words minus stopwords, stemmed."""
    out = []
    for word in fold(text).split():
        if word in STOPWORDS:
            continue
        s = stem(word)
        if s in STOPWORDS:
            continue
        out.append(s)
    return out


def normalize(text: str) -> str:
    """The canonical form the matcher compares: content stems joined by single spaces.

    Returns "" for text with no content words (emoji only, "hi", punctuation).
    """
    return " ".join(tokens(text))


# On lowercased ASCII, ``[\W_]`` is ``[^a-z0-9]`` and a letter is ``[a-z]``: the narrow classes
# are several times faster than the Unicode ones.
_ASCII_NON_WORD = re.compile(r"[^a-z0-9\n]+")
_ASCII_REPEATS = re.compile(r"([a-z])\1\1+")


def fold_many(texts: list[str]) -> list[str]:
    """``[fold(t) for t in texts]``, with one regex pass over all short ASCII texts at once
    (an index build folds thousands of variants; per-text regex calls dominated its time)."""
    out: list[str | None] = [None] * len(texts)
    batch: list[int] = []
    for i, t in enumerate(texts):
        if isinstance(t, str) and t.isascii() and len(t) <= MAX_CHARS:
            batch.append(i)
        else:
            out[i] = fold(t)
    if batch:
        # "\n" separates the texts, so one inside a text becomes the space ``fold`` makes of it.
        joined = "\n".join(texts[i].replace("\n", " ") for i in batch).lower()
        joined = _ASCII_REPEATS.sub(r"\1", _ASCII_NON_WORD.sub(" ", joined))
        for i, line in zip(batch, joined.split("\n")):
            out[i] = " ".join(line.split()[: MAX_CHARS // 4])[:MAX_CHARS].strip()
    return out  # type: ignore[return-value]
