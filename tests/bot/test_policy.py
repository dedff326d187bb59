"""Decision policy and intent tests."""

import pytest

from bot.intents import detect_intent, guess_language
from bot.matcher import Candidate
from bot.policy import DEFAULT_THRESHOLDS, Thresholds, decide

T = Thresholds(answer=0.7, suggest=0.3, margin=0.15)


def c(answer_id, conf):
    return Candidate(answer_id, conf, conf, f"variant {answer_id}")


@pytest.mark.parametrize("text", [
    "quero falar com um atendente", "quero falar com um atendenteee", "falar com atendente por favor",
    "quiero hablar con una persona", "hablar con un agente", "talk to a human", "agent please",
    "humano", "Can I speak to a real person?", "i want to talk to someone", "atendente",
])
def test_asks_for_human(text):
    assert detect_intent(text) == "human"


@pytest.mark.parametrize("text", ["oi", "olá, bom dia!", "hola", "hi there", "Buenas tardes", "hey 👋", "boa noite"])
def test_greeting_only(text):
    assert detect_intent(text) == "greeting"


@pytest.mark.parametrize("text", ["obrigado!", "gracias", "thanks a lot", "muito obrigada", "valeu", "thank you so much", "obrigadoo"])
def test_thanks_only(text):
    assert detect_intent(text) == "thanks"


@pytest.mark.parametrize("text", [
    "hi, my card has not arrived", "thanks but my order is wrong", "oi, nao recebi meu pedido",
    "hola, donde esta mi tarjeta", "how do I top up my account", "", "🙂",
])
def test_real_questions_have_no_intent(text):
    assert detect_intent(text) is None


@pytest.mark.parametrize("text,lang", [
    ("não recebi meu pedido ainda", "pt"), ("nao recebi meu cartao", "pt"),
    ("no he recibido mi tarjeta todavía", "es"), ("¿dónde está mi pedido?", "es"),
    ("my card has not arrived yet", "en"), ("how do I change my password", "en"),
    # short and accent-less, as customers type on a phone
    ("cade meu pedido", "pt"), ("nao chegou", "pt"), ("quero trocar o tamanho", "pt"),
    ("donde esta mi pedido", "es"), ("no llego", "es"), ("quiero cambiar la talla", "es"),
    ("where is my order", "en"),
])
def test_guess_language(text, lang):
    assert guess_language(text) == lang


def test_guess_language_without_letters_keeps_the_default():
    assert guess_language("🙂", default="pt") == "pt"
    assert guess_language("1234", default="es") == "es"
    assert guess_language("", default="pt") == "pt"


def test_human_intent_hands_off_even_with_good_candidates():
    d = decide("quero falar com um atendente", [c(1, 0.99)], T)
    assert (d.action, d.reason) == ("handoff", "asked_for_human")


def test_greeting_and_thanks():
    assert decide("olá bom dia", [c(1, 0.9)], T).action == "greeting"
    assert decide("gracias!", [], T).action == "thanks"


def test_no_candidates_hands_off():
    assert (decide("xyz", [], T).action, decide("xyz", [], T).reason) == ("handoff", "no_answers")


def test_confident_answer():
    d = decide("nao recebi meu pedido", [c(1, 0.9), c(2, 0.2)], T)
    assert d.action == "answer" and [x.answer_id for x in d.candidates] == [1]


def test_close_candidates_are_suggested():
    d = decide("pedido", [c(1, 0.85), c(2, 0.8), c(3, 0.1)], T)
    assert d.action == "suggest" and d.reason == "close_candidates"
    assert [x.answer_id for x in d.candidates][:2] == [1, 2]


def test_medium_confidence_suggests_two_or_three():
    d = decide("pedido", [c(1, 0.5), c(2, 0.1), c(3, 0.05)], T)
    assert d.action == "suggest" and 2 <= len(d.candidates) <= 3 and d.candidates[0].answer_id == 1


def test_low_confidence_and_repeated_misses():
    d = decide("pedido", [c(1, 0.1)], T)
    assert (d.action, d.reason) == ("handoff", "low_confidence")
    d = decide("pedido", [c(1, 0.1)], T, misses_so_far=1, max_misses=2)
    assert (d.action, d.reason) == ("handoff", "repeated_misses")


def test_thresholds_validated():
    with pytest.raises(ValueError):
        Thresholds(answer=0.2, suggest=0.5, margin=0.1)
    assert DEFAULT_THRESHOLDS.suggest <= DEFAULT_THRESHOLDS.answer
