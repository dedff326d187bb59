"""Small intents the FAQ bot handles before matching: asking for a human, greeting only,
thanks only; and a pt/es/en language guess. Pure Python, tolerant of typos and missing
accents (text is folded first, and single words are compared with a small edit distance).
"""

from __future__ import annotations

from typing import Literal

from rapidfuzz.distance import Levenshtein

from bot.text import fold

Intent = Literal["human", "greeting", "thanks"]

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

_LANG_WORDS = {
    "pt": set("""nao voce vc meu minha pedido recebi ainda cartao quero falar com um uma
    obrigado obrigada ola oi bom dia boa tarde noite como esta estou tenho porque por que qual
    quando onde isso esse essa conta dinheiro preciso ajuda atendente pessoa tambem sim
    muito fazer posso pode foi ja do da dos das no na nos nas ao e o os as pra para""".split()),
    "es": set("""no usted mi mis pedido recibido todavia tarjeta quiero hablar con un una gracias
    hola buenos dias buenas tardes noches como esta estoy tengo porque por que cual cuando donde
    eso ese esa cuenta dinero necesito ayuda agente persona tambien si muy hacer puedo puede fue
    ya del de la los las el al y lo para""".split()),
    "en": set("""not you your my order received yet card want talk to a an the thanks thank hello
    hi good morning afternoon evening how is am have why what which when where this that account
    money need help agent person also yes very do can could was already of and i it is for
    please my has hasnt didnt dont""".split()),
}
# Letter patterns typical of each language, for words not in the lists above.
_LANG_HINTS = {
    "pt": ("cao", "coes", "nh", "lh", "ao", "oes", "ei"),
    "es": ("cion", "ll", "ñ", "ue", "ie", "rr"),
    "en": ("th", "sh", "w", "k", "ing", "ght", "ea"),
}


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


def guess_language(text: str, default: str = "en") -> str:
    """Best guess among "pt", "es", "en" from common words and letter patterns."""
    raw = (text or "")[:2000].lower()
    words = fold(raw).split()
    if not words:
        return default
    scores = {lang: 0.0 for lang in _LANG_WORDS}
    for w in words:
        for lang, vocab in _LANG_WORDS.items():
            if w in vocab:
                scores[lang] += 1.0
        for lang, hints in _LANG_HINTS.items():
            scores[lang] += 0.2 * sum(h in w for h in hints)
    if "ñ" in raw or "¿" in raw or "¡" in raw:
        scores["es"] += 2
    if any(c in raw for c in "ãõç"):
        scores["pt"] += 2
    best = max(scores, key=lambda lang: (scores[lang], lang == default))
    return best if scores[best] > 0 else default
