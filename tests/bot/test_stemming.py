"""Snowball stemmers per language, the hand-written fallback; coverage over in-scope questions."""

import sys

import pytest

from bot import evaluation, stemming
from bot.matcher import DEFAULT_CONFIG, Entry, MatcherConfig, MatcherIndex
from bot.features import _sim_features
from bot.text import stem as handwritten


def test_language_code_of_locales():
    assert stemming.language_code("pt-br") == stemming.language_code("pt_BR") == stemming.language_code("PT") == "pt"
    assert stemming.language_code("") == stemming.language_code(None) == ""


def test_snowball_stems_in_the_texts_language():
    pt, es, en = (stemming.stemmer_for(lang) for lang in ("pt", "es", "en"))
    assert pt("pedidos") == pt("pedido")
    assert es("tarjetas") == es("tarjeta")
    assert en("arriving") == en("arrived") == en("arrive")
    assert en("running") == "run"
    assert pt("12345") == "12345"  # digits are kept as they are
    # Another or no language: the hand-written, language-agnostic stemmer.
    assert stemming.stemmer_for("fr")("pedidos") == handwritten("pedidos")
    assert stemming.stemmer_for("")("arriving") == handwritten("arriving")
    assert stemming.stemmer_for("pt", snowball=False)("pedidos") == handwritten("pedidos")


def test_each_text_is_stemmed_in_its_own_language():
    # "cards" stems to "card" in English; as Portuguese text the same word keeps its "s".
    *_, norms, _ = _sim_features(["cards", "cards", "cartoes"], DEFAULT_CONFIG, ["en", "pt", "pt"])
    assert norms[0] == "card" and norms[1] != norms[0]
    *_, same, _ = _sim_features(["cards", "cartoes"], DEFAULT_CONFIG, ["en", "pt"])
    *_, one, _ = _sim_features(["cards"], DEFAULT_CONFIG, ["en"])
    assert same[0] == one[0]


def test_without_pystemmer_the_matcher_uses_the_handwritten_stemmer(monkeypatch):
    entries = [Entry(1, "Não recebi meus pedidos", "pt"), Entry(1, "Cadê minha encomenda", "pt"),
               Entry(2, "Como troco minha senha", "pt"), Entry(2, "Esqueci a senha", "pt")]
    words_only = MatcherIndex.build(entries, MatcherConfig(snowball=False)).match("nao recebi o pedido")
    monkeypatch.setitem(sys.modules, "Stemmer", None)  # import Stemmer now raises ImportError
    stemming.snowball_available.cache_clear()
    stemming.stemmer_for.cache_clear()
    try:
        assert not stemming.snowball_available()
        assert stemming.stemmer_for("pt")("pedidos") == handwritten("pedidos")
        assert MatcherIndex.build(entries).match("nao recebi o pedido") == words_only
    finally:
        monkeypatch.undo()
        stemming.snowball_available.cache_clear()
        stemming.stemmer_for.cache_clear()
    assert stemming.snowball_available()


def test_question_is_stemmed_in_a_language_the_variants_have():
    index = MatcherIndex.build([Entry(1, "my cards are blocked", "en"), Entry(2, "meu cartão foi bloqueado", "pt"),
                                Entry(2, "cartão bloqueado", "pt"), Entry(3, "mi tarjeta está bloqueada", "es")])
    assert index.main_language == "pt" and index.languages == {"en", "pt", "es"}
    assert index.stem_language("en") == "en"
    assert index.stem_language("fr") == "pt"  # no variant in it: the main language
    assert index.stem_language(None, "my cards are blocked") == "en"  # guessed from the text
    assert index.match("blocked cards", language="en")[0].answer_id == 1
    single = MatcherIndex.build([Entry(1, "cartão bloqueado", "pt"), Entry(2, "senha", "pt")])
    assert single.stem_language("es") == "pt"


def test_coverage_in_scope_is_the_same_cut_over_in_scope_questions():
    def r(expected, predicted, conf):
        return evaluation.QuestionResult("q", expected, predicted, conf, "answer", conf, 0.0, 0.0)

    res = [r("a", "a", 0.9), r("a", "a", 0.8), r("oos", "a", 0.7), r("b", "b", 0.6), r("oos", "b", 0.1)]
    f = evaluation.summarize(res)
    # Best cut at >= 70% precision: 4 answered (3 right, 1 out-of-scope answered wrongly).
    assert evaluation.coverage_at_precision(res, 0.7) == pytest.approx(4 / 5)
    assert f.coverage_at_90 == pytest.approx(2 / 5)
    assert f.coverage_at_90_in_scope == pytest.approx(2 / 3)


def test_file_language_is_read_from_the_train_rows(tmp_path):
    from tests.bot.test_calibration_fit import _write

    train = tmp_path / "train.csv"
    _write(train, [("não recebi o meu pedido ainda", "a"), ("onde está a minha encomenda", "a"),
                   ("quero trocar a minha palavra-passe", "b")])
    assert evaluation.file_language(train) == "pt"
