"""Stemmers per language for the matcher's word features (pure; no Django).

Snowball stemmers (``PyStemmer``) for Portuguese, Spanish and English, chosen by the text's
language: a variant's is its answer's locale, a question's is the customer's (see
``MatcherIndex.stem_language``). A text of another or unknown language, or a process without
PyStemmer, gets the hand-written language-agnostic stemmer of ``bot.text`` (the matcher as it
was before). Words arrive folded (no accents, lowercase), as the features are built from
folded text. Cross-validation on the train files: bench/README.md, round 5.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable

from bot.text import stem as handwritten_stem

logger = logging.getLogger(__name__)

SNOWBALL = {"pt": "portuguese", "es": "spanish", "en": "english"}

_local = threading.local()  # PyStemmer's Stemmer objects are not thread-safe: one per thread


def language_code(locale: str | None) -> str:
    """"pt" of "pt", "pt-br", "pt_BR"; "" when ``locale`` is empty."""
    return (locale or "")[:2].lower()


@functools.lru_cache(maxsize=1)
def snowball_available() -> bool:
    """Whether PyStemmer imports (it is pinned in requirements.txt; the matcher works without)."""
    try:
        import Stemmer  # noqa: F401
    except ImportError:
        logger.warning("PyStemmer is not installed: the matcher uses its hand-written stemmer")
        return False
    return True


def _snowball(language: str):
    stemmers = getattr(_local, "stemmers", None)
    if stemmers is None:
        stemmers = _local.stemmers = {}
    s = stemmers.get(language)
    if s is None:
        import Stemmer

        s = stemmers[language] = Stemmer.Stemmer(SNOWBALL[language])
    return s


_handwritten = functools.lru_cache(maxsize=65536)(handwritten_stem)


@functools.lru_cache(maxsize=8)
def stemmer_for(language: str | None, snowball: bool = True) -> Callable[[str], str]:
    """A cached ``word -> stem`` function for ``language`` (a code or a locale)."""
    code = language_code(language)
    if not snowball or code not in SNOWBALL or not snowball_available():
        return _handwritten

    @functools.lru_cache(maxsize=65536)
    def stem(word: str) -> str:
        if word.isdigit():
            return word
        return _snowball(code).stemWord(word)

    return stem
