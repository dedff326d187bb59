"""Small intents the FAQ bot handles before matching: asking for a human, greeting only,
thanks only; and a pt/es/en language guess (``py3langid``). Pure Python, tolerant of typos and missing
accents (text is folded first, and single words are compared with a small edit distance).
"""

from __future__ import annotations

import threading
from typing import Literal

from rapidfuzz.distance import Levenshtein

from bot.text import fold

Intent = Literal["human", "greeting", "thanks"]
LANGUAGES = ("pt", "es", "en")

# Phrases meaning "let me talk to a person". Matched as word sequences in the folded text,
# each word allowing one typo when it is long enough.
_HUMAN_PHRASES = [
    # pt
    "falar com atendente", "falar com um atendente", "falar com uma atendente", "falar com alguem",
    "falar com uma pessoa", "falar com pessoa", "falar com humano", "falar com um humano",
    "atendimento humano", "atendente humano", "quero um atendente", "chamar atendente",
    "pessoa de verdade", "pessoa real", "falar com suporte", "falar com o suporte",
    # es
    "hablar con una persona", "hablar con persona", "hablar con un agente", "hablar con agente",
    "hablar con alguien", "hablar con un humano", "hablar con humano", "hablar con un asesor",
    "hablar con asesor", "hablar con un operador", "persona real", "atencion humana",
    "quiero un agente", "agente humano", "un humano",
    # en
    "talk to a human", "talk to human", "talk to a person", "talk to someone", "talk to an agent",
    "talk to agent", "speak to a human", "speak to a person", "speak to someone", "speak to an agent",
    "speak with a human", "speak with a person", "speak with someone", "speak with an agent",
    "talk with a human", "talk with a person", "talk with someone", "real person", "real human",
    "human agent", "live agent", "customer service agent", "agent please", "human please",
    "operator please", "representative please", "transfer me to an agent", "connect me to an agent",
]
# A message that is only one of these words (plus filler) also asks for a human.
_HUMAN_WORDS = {"humano", "human", "atendente", "agente", "agent", "operator", "operador",
                "representative", "representante", "asesor", "pessoa", "persona", "person"}

_GREETING_WORDS = {
    "oi", "ola", "hola", "hi", "hello", "hey", "hallo", "alo", "buenas", "bom", "boa", "buen",
    "buenos", "dia", "dias", "tarde", "tardes", "noite", "noche", "noches", "good", "morning",
    "afternoon", "evening", "there", "tudo", "bem", "como", "vai", "esta", "estas", "que", "tal",
    "how", "are", "you", "e", "y", "and", "all", "everyone", "pessoal", "gente", "saludos",
    "greetings", "yo", "sup", "howdy", "olaa", "opa", "eae", "eai", "salve",
}
_GREETING_CORE = {"oi", "ola", "hola", "hi", "hello", "hey", "hallo", "alo", "buenas", "bom",
                  "boa", "buen", "buenos", "good", "saludos", "greetings", "howdy", "opa", "eae",
                  "eai", "salve", "sup"}

_THANKS_WORDS = {
    "obrigado", "obrigada", "obg", "brigado", "valeu", "vlw", "agradeco", "gracias", "muchas",
    "mil", "muito", "thanks", "thank", "thx", "ty", "tks", "you", "so", "much", "a", "lot",
    "very", "many", "great", "ok", "okay", "perfect", "perfeito", "perfecto", "otimo", "genial",
    "de", "nada", "cheers", "appreciate", "it", "agradecido", "agradecida", "te", "lo", "le",
    "really", "muy", "amable", "gentil", "tchau", "bye", "adios", "top", "show", "blz", "beleza",
}
_THANKS_CORE = {"obrigado", "obrigada", "obg", "brigado", "valeu", "vlw", "agradeco", "gracias",
                "thanks", "thank", "thx", "ty", "tks", "cheers", "appreciate", "agradecido",
                "agradecida"}

def _close(word: str, target: str) -> bool:
    if word == target:
        return True
    if len(target) < 5 or abs(len(word) - len(target)) > 1:
        return False
    return Levenshtein.distance(word, target, score_cutoff=1) <= 1


def _contains_phrase(words: list[str], phrase: list[str]) -> bool:
    n = len(phrase)
    for i in range(len(words) - n + 1):
        if all(_close(w, p) for w, p in zip(words[i : i + n], phrase)):
            return True
    return False


_FILLER = {"please", "pls", "plz", "por", "favor", "pf", "porfa", "quero", "quiero", "i", "want",
           "a", "an", "um", "uma", "un", "una", "need", "preciso", "necesito", "o", "el", "la",
           "the", "me", "ya", "now", "agora", "ahora", "com", "con", "with", "to", "falar",
           "hablar", "talk", "speak"}


def detect_intent(text: str) -> Intent | None:
    """"human" if the customer asks for a person; "greeting"/"thanks" if the message is only
    that; otherwise None (a real question, even one that starts with "hi" or "thanks")."""
    words = fold(text).split()
    if not words or len(words) > 60:
        return None
    for phrase in _HUMAN_PHRASES_SPLIT:
        if _contains_phrase(words, phrase):
            return "human"
    content = [w for w in words if w not in _FILLER]
    if content and len(content) <= 2 and any(any(_close(w, h) for h in _HUMAN_WORDS) for w in content) and all(
        any(_close(w, h) for h in _HUMAN_WORDS) or w in _FILLER for w in content
    ):
        return "human"
    if len(words) <= 8:
        if all(w in _GREETING_WORDS for w in words) and any(w in _GREETING_CORE for w in words):
            return "greeting"
        if all(w in _THANKS_WORDS or w in _GREETING_WORDS for w in words) and any(
            any(_close(w, t) for t in _THANKS_CORE) for w in words
        ):
            return "thanks"
        if all(w in _THANKS_WORDS or any(_close(w, t) for t in _THANKS_CORE) for w in words) and any(
            any(_close(w, t) for t in _THANKS_CORE) for w in words
        ):
            return "thanks"
    return None


_HUMAN_PHRASES_SPLIT = [p.split() for p in _HUMAN_PHRASES]


_identifier = None
_identifier_lock = threading.Lock()


def _language_identifier():
    """py3langid's naive Bayes model (bundled in the wheel), restricted to pt/es/en, loaded
    once per process on first use."""
    global _identifier
    if _identifier is None:
        with _identifier_lock:
            if _identifier is None:
                from py3langid.langid import MODEL_FILE, LanguageIdentifier

                identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
                identifier.set_languages(list(LANGUAGES))
                _identifier = identifier
    return _identifier


def guess_language(text: str, default: str = "en") -> str:
    """Best guess among "pt", "es", "en" (``py3langid``, character n-grams: it also reads
    short and accent-less messages; bench/README.md compares it with the word-list heuristic
    it replaced). ``default`` when the text has no letters at all."""
    raw = (text or "")[:2000]
    if not any(ch.isalpha() for ch in raw):
        return default
    lang, _ = _language_identifier().classify(raw)
    return lang if lang in LANGUAGES else default
