"""Normalization and matcher tests (pure Python, no database)."""

import pickle

from hypothesis import given, settings, strategies as st

from bot.matcher import Candidate, Entry, MatcherIndex, confidence
from bot.text import fold, normalize, stem

ANSWERS = [
    Entry(1, "Não recebi meu pedido", "pt"),
    Entry(1, "Onde está minha encomenda?", "pt"),
    Entry(1, "My order has not arrived yet", "en"),
    Entry(1, "No he recibido mi pedido", "es"),
    Entry(2, "Como faço para trocar minha senha?", "pt"),
    Entry(2, "How do I reset my password", "en"),
    Entry(2, "Olvidé mi contraseña", "es"),
    Entry(3, "Quais são as formas de pagamento?", "pt"),
    Entry(3, "Can I pay with a credit card?", "en"),
    Entry(3, "¿Puedo pagar con tarjeta de crédito?", "es"),
    Entry(4, "Qual o horário de atendimento da loja?", "pt"),
    Entry(4, "What are your opening hours", "en"),
]


def index():
    return MatcherIndex.build(ANSWERS)


# --- normalization ---------------------------------------------------------------------------


def test_fold_strips_accents_case_punctuation_and_emoji():
    assert fold("Não RECEBI, meu pedido!!! 😡") == "nao recebi meu pedido"
    assert fold("¿Dónde está?\x00\x1b[31m") == "donde esta 31m"


def test_repeated_letters_collapse():
    assert fold("olaaaaa") == "ola"
    assert fold("pleeeease") == "please"
    assert fold("1000") == "1000"  # digits are not letters


def test_normalize_drops_stopwords_and_stems():
    assert normalize("Não recebi meu pedido ainda") == normalize("nao recebi o pedido ainda")
    assert normalize("cartões") == normalize("cartao")
    assert normalize("tarjetas") == normalize("tarjeta")
    assert stem("arriving") == stem("arrived") == stem("arrive")
    assert stem("pedidos") == stem("pedido")
    assert normalize("the my of") == ""


def test_normalize_empty_and_emoji_only():
    assert normalize("") == ""
    assert normalize("🙂🙂🙂") == ""
    assert normalize("   \n\t ") == ""


def test_normalize_long_text_is_capped():
    text = "pedido " * 20000
    out = normalize(text)
    assert out and len(out) <= 2000


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_normalize_idempotent_and_total(text):
    once = normalize(text)
    assert normalize(once) == once
    assert fold(fold(text)) == fold(text)


# --- matcher ---------------------------------------------------------------------------------


def test_finds_delivery_answer_in_portuguese_without_accents():
    top = index().match("nao recebi meu pedido ainda")[0]
    assert top.answer_id == 1
    assert top.confidence > 0.5


def test_typos_and_other_languages():
    idx = index()
    assert idx.match("esqueci minha senhaa")[0].answer_id == 2
    assert idx.match("how do i reest my pasword")[0].answer_id == 2
    assert idx.match("puedo pagar con tarjeta")[0].answer_id == 3
    assert idx.match("what time do you open")[0].answer_id == 4


def test_ranking_one_candidate_per_answer_sorted():
    cands = index().match("pedido nao chegou, posso pagar com cartao?", limit=5)
    ids = [c.answer_id for c in cands]
    assert len(ids) == len(set(ids))
    assert [c.confidence for c in cands] == sorted((c.confidence for c in cands), reverse=True)
    assert all(isinstance(c, Candidate) and c.matched_text for c in cands)
    assert len(index().match("pedido", limit=2)) <= 2


def test_empty_index_and_empty_question():
    assert MatcherIndex.build([]).match("nao recebi meu pedido") == []
    assert MatcherIndex.build([]).size == 0
    assert index().match("") == []
    assert index().match("😀😀") == []
    assert index().match("pedido", limit=0) == []


def test_off_topic_question_has_low_confidence():
    idx = index()
    for text in ["who won the football match last night", "qual a previsão do tempo amanhã"]:
        cands = idx.match(text)
        assert not cands or cands[0].confidence < 0.5


def test_deleted_answer_disappears_after_rebuild():
    idx = MatcherIndex.build([e for e in ANSWERS if e.answer_id != 1])
    assert all(c.answer_id != 1 for c in idx.match("nao recebi meu pedido"))
    assert idx.size == len(ANSWERS) - 4


def test_size_counts_variants_and_index_pickles():
    idx = index()
    assert idx.size == len(ANSWERS)
    clone = pickle.loads(pickle.dumps(idx))
    assert clone.match("minha senha") == idx.match("minha senha")


def test_confidence_is_monotonic_and_bounded():
    assert 0 <= confidence(0.0, 0.0) < confidence(0.5, 0.1) < confidence(0.9, 0.5) <= 1
    assert 0 <= confidence(1e9, 1e9) <= 1 and 0 <= confidence(-1e9, -1e9) <= 1


_texts = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(categories=["Cc", "Cs", "So", "Zs"]), max_size=50),
    st.lists(st.sampled_from(["pedido", "senha", "tarjeta", "card", "🙂", "\x00", "ÁÉÍ", "olaaaa"]), max_size=12).map(" ".join),
)


@settings(max_examples=200, deadline=None)
@given(_texts)
def test_match_total_deterministic_and_bounded(text):
    idx = index()
    a = idx.match(text)
    assert a == idx.match(text)
    assert all(0.0 <= c.confidence <= 1.0 for c in a)
    assert [c.confidence for c in a] == sorted((c.confidence for c in a), reverse=True)


def test_match_100kb_text():
    idx = index()
    big = ("nao recebi meu pedido 🙂 \x07 " * 4000)[:100_000]
    assert idx.match(big)[0].answer_id == 1


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.text(max_size=40)), max_size=20), st.text(max_size=40))
def test_build_total_on_any_entries(rows, question):
    idx = MatcherIndex.build(Entry(a, t) for a, t in rows)
    cands = idx.match(question)
    assert len({c.answer_id for c in cands}) == len(cands)


def test_small_answer_sets_use_the_classifier_and_large_ones_do_not():
    import dataclasses

    from bot.matcher import DEFAULT_CONFIG

    assert index().classifier is not None
    plain = MatcherIndex.build(ANSWERS, dataclasses.replace(DEFAULT_CONFIG, clf_max_variants=5))
    assert plain.classifier is None
    # The work budget (variants x rank x answers) also turns it off.
    assert MatcherIndex.build(ANSWERS, dataclasses.replace(DEFAULT_CONFIG, clf_max_work=12 * 12 * 4 - 1)).classifier is None
    assert MatcherIndex.build(ANSWERS, dataclasses.replace(DEFAULT_CONFIG, clf_max_work=12 * 12 * 4)).classifier is not None
    # Both modes rank the obvious question the same way.
    assert plain.match("nao recebi meu pedido")[0].answer_id == index().match("nao recebi meu pedido")[0].answer_id == 1


def test_truncated_rank_classifier_still_separates_answers():
    """With fewer kept directions than variants (randomized subspace iteration), the
    classifier still ranks the obvious questions right."""
    import dataclasses

    from bot.matcher import DEFAULT_CONFIG

    idx = MatcherIndex.build(ANSWERS, dataclasses.replace(DEFAULT_CONFIG, clf_rank=6, clf_weight=1.0))
    assert idx.classifier is not None and idx.classifier.W.shape[1] == 4
    assert idx.match("nao recebi meu pedido")[0].answer_id == 1
    assert idx.match("how do i reset my password")[0].answer_id == 2


def test_classifier_learns_the_word_that_separates_two_answers():
    entries = [
        Entry("lost", "my card was lost"), Entry("lost", "i lost my card"), Entry("lost", "card lost yesterday"),
        Entry("stolen", "my card was stolen"), Entry("stolen", "someone stole my card"), Entry("stolen", "card stolen yesterday"),
    ]
    idx = MatcherIndex.build(entries)
    assert idx.classifier is not None
    assert idx.match("help, my card got stolen")[0].answer_id == "stolen"
    assert idx.match("i think i lost the card")[0].answer_id == "lost"


def test_off_topic_questions_stay_below_the_answer_threshold():
    from bot.evaluation import OFF_TOPIC
    from bot.policy import DEFAULT_THRESHOLDS

    idx = index()
    for text in OFF_TOPIC:
        cands = idx.match(text)
        assert not cands or cands[0].confidence < DEFAULT_THRESHOLDS.answer, text


# --- batch feature extraction ----------------------------------------------------------------

_batch_texts = st.lists(
    st.one_of(
        st.text(max_size=60),
        st.lists(st.sampled_from(["the", "my", "card", "cards", "a", "how", "are", "you", "ábc", "x", "lost", "\n", "olaaa"]), max_size=8).map(" ".join),
    ),
    max_size=8,
)


@settings(max_examples=150, deadline=None)
@given(_batch_texts)
def test_fold_many_equals_fold(texts):
    from bot.text import fold_many

    assert fold_many(texts) == [fold(t) for t in texts]
    assert fold_many(["a " * 1000]) == [fold("a " * 1000)]  # the word cap applies in batches too


def _per_text(result, n_docs, with_norms):
    rows, cols, counts, names, groups = result[:5]
    out = [dict() for _ in range(n_docs)]
    for r, c, v in zip(rows.tolist(), cols.tolist(), counts.tolist()):
        out[r][(int(groups[c]), names[c])] = v
    return (out, result[5]) if with_norms else (out, None)


@settings(max_examples=150, deadline=None)
@given(_batch_texts)
def test_batch_features_equal_one_text_at_a_time(texts):
    """A build extracts every variant's features in one batch and a question alone; the two
    must agree, or the index and its questions would speak different vocabularies."""
    from bot.matcher import DEFAULT_CONFIG, _clf_features, _sim_features

    for fn, norms in ((_sim_features, True), (_clf_features, False)):
        batch, batch_norms = _per_text(fn(texts, DEFAULT_CONFIG), len(texts), norms)
        for i, t in enumerate(texts):
            alone, alone_norms = _per_text(fn([t], DEFAULT_CONFIG), 1, norms)
            assert batch[i] == alone[0]
            if norms:
                assert batch_norms[i] == alone_norms[0]
                assert batch_norms[i] == normalize(t) or not normalize(t)  # "" falls back to all words


def test_sim_features_of_a_known_text():
    from bot.matcher import DEFAULT_CONFIG, _sim_features

    rows, cols, counts, names, groups, norms, words = _sim_features(["My card card got lost", "the my of"], DEFAULT_CONFIG)
    first = {names[c]: v for r, c, v in zip(rows, cols, counts) if r == 0}
    assert first["w:card"] == 2 and first["w:lost"] == 1 and "w:my" not in first
    assert first["b:card_card"] == 1 and first["b:card_lost"] == 1
    assert first["c: ca"] == 2 and first["c:ost "] == 1
    assert norms == ["card card lost", "the my of"]  # stopwords only: all words kept
    assert sorted(words) == ["card", "got", "lost", "my", "of", "the"]


def test_spelling_correction_is_opt_in_and_maps_typos_to_known_words():
    import dataclasses

    from bot.matcher import DEFAULT_CONFIG

    assert index().correct_spelling("My pasword plese") == "My pasword plese"  # off by default
    idx = MatcherIndex.build(ANSWERS, dataclasses.replace(DEFAULT_CONFIG, spell_score=85))
    assert idx.correct_spelling("How do I reset my pasword?") == "how do i reset my password"
    assert idx.correct_spelling("resett") == "resett"  # its stem is known already
    assert idx.correct_spelling("my password") == "my password"  # nothing unknown: unchanged
    assert idx.correct_spelling("zzzzqqq weather") == "zzzzqqq weather"  # nothing close enough
    assert idx.match("pasword resett")[0].answer_id == 2
