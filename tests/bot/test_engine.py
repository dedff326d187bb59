"""The FAQ bot in conversations, through the real write path (``inbox.services.receive_inbound``)
with a web chat inbox whose adapter is the in-memory one."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.test import TestCase
from django.utils import timezone

from bot import engine, index_cache
from bot import services as bot_services
from bot.management.commands.load_demo_answers import DEMO_ANSWERS
from bot.models import BotDecisionLog, CannedAnswer, UnansweredQuestion
from channels_adapters import locmem
from channels_adapters.base import InboundMessage
from inbox import services
from inbox.models import Conversation, Inbox, Message

pytestmark = pytest.mark.django_db
_ids = itertools.count(1)


@pytest.fixture(autouse=True)
def bot_env(settings):
    from huey.contrib.djhuey import HUEY

    settings.CHANNEL_ADAPTERS = {"webchat": "channels_adapters.locmem.LocmemAdapter",
                                 "email": "channels_adapters.locmem.LocmemAdapter"}
    previous = HUEY.immediate
    HUEY.immediate = True
    locmem.reset()
    index_cache.clear()
    yield
    HUEY.immediate = previous


@pytest.fixture
def inbox():
    return Inbox.objects.create(name="Shop chat", channel_kind="webchat")


@pytest.fixture
def answers():
    for locale, title, tags, text, variants in DEMO_ANSWERS:
        bot_services.answer_create(title=title, text=text, locale=locale, tags=tags, variants=variants)
    return {a.title: a for a in CannedAnswer.objects.all()}


def twin_answers():
    """Two answers asked the same way: neither can win outright, whatever the matcher's
    calibration; with a low suggest threshold the bot must offer both."""
    for title in ("Região Sudeste", "Região Nordeste"):
        bot_services.answer_create(title=title, text=f"{title}: escolha o dia no checkout.", locale="pt",
                                   variants=["como funciona a entrega agendada"])


def strict(inbox, **fields):
    """Thresholds no off-topic question reaches, so misses do not depend on the calibration."""
    bot_services.settings_update(inbox=inbox, answer_threshold=0.999, suggest_threshold=0.999, **fields)


def write(inbox, text="", *, sender="visitor-1", payload="", automated=False, name="Maria Silva"):
    """The customer writes; the commit then runs the bot's task (Huey is immediate here)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        result = services.receive_inbound(inbox=inbox, inbound=InboundMessage(
            provider_message_id=f"in-{next(_ids)}", sender_address=sender, text=text, sender_name=name,
            quick_reply_payload=payload, automated=automated))
    result.conversation.refresh_from_db()
    return result


def bot_messages(conversation):
    return list(Message.objects.filter(conversation=conversation, sender_kind="bot").order_by("created_at", "pk"))


def test_confident_question_gets_the_answer_with_variables_and_feedback_buttons(inbox, answers,
                                                                              django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        result = write(inbox, "não recebi meu pedido")
    conversation = result.conversation
    assert conversation.status == "bot"
    [reply] = bot_messages(conversation)
    assert reply.direction == "out" and reply.author is None
    assert reply.text.startswith("Oi Maria! Você acompanha seu pedido")
    assert "{{" not in reply.text
    reply.refresh_from_db()
    assert reply.delivery_state == "sent"  # delivered through the adapter by the (immediate) task
    assert locmem.outbox[-1].text == reply.text
    log = BotDecisionLog.objects.get(conversation=conversation)
    assert (log.action, log.reason, log.answer.title) == ("answer", "confident", "Rastrear meu pedido")
    assert log.language == "pt" and log.message == result.message and log.reply == reply
    assert log.candidates[0]["title"] == "Rastrear meu pedido" and log.candidates[0]["confidence"] >= 0.74
    payloads = [q["payload"] for q in reply.metadata["quick_replies"]]
    assert payloads == [f"bot:helpful:{log.pk}", f"bot:not_helpful:{log.pk}", "bot:human"]
    assert [q.payload for q in locmem.outbox[-1].quick_replies] == payloads
    assert CannedAnswer.objects.get(title="Rastrear meu pedido").usage_count == 1


def test_close_candidates_get_suggestions_and_tapping_one_answers(inbox, answers):
    twin_answers()
    bot_services.settings_update(inbox=inbox, suggest_threshold=0.05)
    result = write(inbox, "como funciona a entrega agendada? não sei")
    [reply] = bot_messages(result.conversation)
    assert reply.text == "Você quis dizer…?"
    quick = reply.metadata["quick_replies"]
    titles = [q["title"] for q in quick]
    assert {"Região Sudeste", "Região Nordeste"} <= set(titles)
    assert titles[-1] == "Falar com uma pessoa" and quick[-1]["payload"] == "bot:human"
    assert 3 <= len(quick) <= 4
    log = BotDecisionLog.objects.get(conversation=result.conversation)
    assert log.action == "suggest" and log.reason == "close_candidates"
    assert len(log.candidates) >= 2

    chosen = next(q for q in quick if q["title"] == "Região Nordeste")
    write(inbox, chosen["title"], payload=chosen["payload"])
    expressa = CannedAnswer.objects.get(title="Região Nordeste")
    assert bot_messages(result.conversation)[-1].text == expressa.text
    latest = BotDecisionLog.objects.filter(conversation=result.conversation).first()
    assert (latest.action, latest.reason, latest.answer_id) == ("answer", "suggestion_chosen", expressa.pk)
    result.conversation.refresh_from_db()
    assert result.conversation.status == "bot"


def test_asking_for_a_person_hands_off_and_says_what_happens_next(inbox, answers):
    result = write(inbox, "quero falar com um atendente")
    conversation = result.conversation
    assert conversation.status == "pending"
    assert conversation.handoff_reason == "asked_for_human"
    [reply] = bot_messages(conversation)
    # Always open (no hours) and nobody online.
    assert reply.text == "Vou te passar para um atendente. Vamos responder assim que possível."
    assert BotDecisionLog.objects.get(conversation=conversation).reason == "asked_for_human"


def test_handoff_out_of_hours_names_the_next_opening(inbox, answers):
    now = timezone.now()
    # Open only on a weekday that is not today, so the inbox is closed now.
    other_day = (now.weekday() + 2) % 7
    inbox.business_hours = {str(other_day): [["09:00", "18:00"]]}
    inbox.save()
    result = write(inbox, "talk to a human please", name="John")
    [reply] = bot_messages(result.conversation)
    day = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"][other_day]
    assert reply.text == f"We are offline; we'll answer from {day} 09:00."
    assert result.conversation.status == "pending"


def test_handoff_with_an_online_agent_says_shortly(inbox, answers, django_user_model):
    agent = django_user_model.objects.create_user("ana", password="x")
    inbox.members.add(agent)
    services.agent_connected(user=agent, channel_name="tab-1")
    result = write(inbox, "I want to talk to a person", name="John")
    assert bot_messages(result.conversation)[0].text == "I'm passing you to an agent. An agent will reply shortly."


def test_repeated_misses_ask_to_rephrase_then_hand_off(inbox, answers):
    strict(inbox)
    first = write(inbox, "qual a cor do céu azul marinho")
    conversation = first.conversation
    assert conversation.status == "bot" and conversation.bot_misses == 1
    assert bot_messages(conversation)[-1].text == "Desculpe, não entendi bem. Pode escrever de outro jeito?"
    second = write(inbox, "o gato subiu no telhado ontem")
    conversation.refresh_from_db()
    assert second.conversation == conversation
    assert conversation.status == "pending"
    assert conversation.handoff_reason == "repeated_misses"
    assert conversation.handoff_detail.startswith("top confidence ")
    keys = set(UnansweredQuestion.objects.values_list("example", flat=True))
    assert {"qual a cor do céu azul marinho", "o gato subiu no telhado ontem"} <= keys


def test_max_misses_one_hands_off_with_low_confidence_and_the_score(inbox, answers):
    strict(inbox, max_misses=1)
    result = write(inbox, "qual a cor do céu azul marinho")
    assert result.conversation.status == "pending"
    assert result.conversation.handoff_reason == "low_confidence"
    assert "top confidence 0." in result.conversation.handoff_detail


def test_a_good_answer_resets_the_miss_count(inbox, answers):
    strict(inbox)
    result = write(inbox, "qual a cor do céu azul marinho")
    result.conversation.refresh_from_db()
    assert result.conversation.bot_misses == 1
    bot_services.settings_update(inbox=inbox, answer_threshold=0.74, suggest_threshold=0.4)
    write(inbox, "quanto custa o frete")
    result.conversation.refresh_from_db()
    assert result.conversation.bot_misses == 0 and result.conversation.status == "bot"


def test_helpful_is_recorded_and_not_helpful_hands_off(inbox, answers):
    result = write(inbox, "quanto custa o frete")
    answer = answers["Frete e prazo de entrega"]
    log = BotDecisionLog.objects.get(conversation=result.conversation, action="answer")
    write(inbox, "👍", payload=f"bot:helpful:{log.pk}")
    log.refresh_from_db()
    answer.refresh_from_db()
    assert log.helpful is True and answer.helpful_count == 1 and answer.helpful_rate == 1.0
    assert bot_messages(result.conversation)[-1].text.startswith("Que bom que ajudou")

    write(inbox, "qual o prazo de entrega")
    second = BotDecisionLog.objects.filter(conversation=result.conversation, action="answer").first()
    assert second.pk != log.pk
    write(inbox, "👎", payload=f"bot:not_helpful:{second.pk}")
    conversation = Conversation.objects.get(pk=result.conversation.pk)
    assert conversation.status == "pending" and conversation.handoff_reason == "not_helpful"
    answer.refresh_from_db()
    assert (answer.helpful_count, answer.not_helpful_count) == (1, 1)
    assert UnansweredQuestion.objects.filter(example="qual o prazo de entrega", last_reason="not_helpful").exists()


def test_feedback_for_another_conversations_log_is_ignored(inbox, answers):
    other = write(inbox, "quanto custa o frete", sender="visitor-2")
    foreign = BotDecisionLog.objects.get(conversation=other.conversation, action="answer")
    mine = write(inbox, "oi")
    write(inbox, "👎", payload=f"bot:not_helpful:{foreign.pk}")
    foreign.refresh_from_db()
    assert foreign.helpful is None
    mine.conversation.refresh_from_db()
    assert mine.conversation.handoff_reason != "not_helpful"


def test_greeting_gets_a_short_reply_and_stays_with_the_bot(inbox, answers):
    result = write(inbox, "hola, buenos días")
    [reply] = bot_messages(result.conversation)
    assert reply.text == "¡Hola! Soy el asistente virtual. ¿En qué puedo ayudarte?"
    assert result.conversation.status == "bot"
    assert BotDecisionLog.objects.get(conversation=result.conversation).action == "greeting"


def test_the_bot_never_speaks_after_an_agent_took_the_conversation(inbox, answers, django_user_model):
    agent = django_user_model.objects.create_user("ana", password="x", is_superuser=True)
    result = write(inbox, "oi")
    services.assign(conversation=result.conversation, agent=agent, actor=agent)
    before = len(bot_messages(result.conversation))
    write(inbox, "quanto custa o frete")
    write(inbox, "x", payload="bot:human")
    assert len(bot_messages(result.conversation)) == before


def test_after_resolve_the_next_message_starts_with_the_bot_again(inbox, answers):
    first = write(inbox, "quero falar com um atendente")
    services.resolve(conversation=first.conversation)
    again = write(inbox, "quanto custa o frete")
    assert again.conversation.pk != first.conversation.pk
    assert again.conversation.status == "bot"
    assert bot_messages(again.conversation)[-1].text == answers["Frete e prazo de entrega"].text


def test_automated_mail_gets_no_bot_reply(answers):
    inbox = Inbox.objects.create(name="Mail", channel_kind="email")
    result = write(inbox, "Out of office: I am away until Monday. Where is my order?", sender="a@example.com",
                   automated=True)
    assert bot_messages(result.conversation) == []
    log = BotDecisionLog.objects.get(conversation=result.conversation)
    assert (log.action, log.reason) == ("ignored", "automated")


def test_email_answers_only_when_confident_and_never_suggests(answers):
    inbox = Inbox.objects.create(name="Mail", channel_kind="email")
    confident = write(inbox, "quanto custa o frete", sender="a@example.com")
    [reply] = bot_messages(confident.conversation)
    assert reply.text == answers["Frete e prazo de entrega"].text
    assert "quick_replies" not in reply.metadata  # e-mail has no buttons
    twin_answers()
    bot_services.settings_update(inbox=inbox, suggest_threshold=0.05)
    unsure = write(inbox, "como funciona a entrega agendada? não sei", sender="b@example.com")
    assert unsure.conversation.status == "pending"
    assert unsure.conversation.handoff_reason == "low_confidence"
    assert not BotDecisionLog.objects.filter(conversation=unsure.conversation, action="suggest").exists()


def test_no_answers_for_the_inbox_hands_off(inbox):
    result = write(inbox, "quanto custa o frete")
    assert result.conversation.status == "pending"
    assert result.conversation.handoff_reason == "no_answers"


def test_answers_of_other_inboxes_are_not_offered(inbox):
    other = Inbox.objects.create(name="Other", channel_kind="webchat")
    bot_services.answer_create(title="Frete", text="Frete grátis.", locale="pt", variants=["quanto custa o frete"],
                               inboxes=[other])
    result = write(inbox, "quanto custa o frete")
    assert result.conversation.handoff_reason == "no_answers"
    elsewhere = write(other, "quanto custa o frete", sender="visitor-9")
    assert bot_messages(elsewhere.conversation)[-1].text == "Frete grátis."


def test_an_answer_deleted_while_the_index_is_cached_does_not_crash(inbox, answers, monkeypatch):
    index = index_cache.get_index(inbox)  # built with every demo answer
    doomed = answers["Frete e prazo de entrega"]
    bot_services.answer_delete(answer=doomed)
    # Keep serving the stale index, as another process would until it sees the new version.
    monkeypatch.setattr(index_cache, "get_index", lambda inbox=None: index)
    result = write(inbox, "quanto custa o frete")
    conversation = result.conversation
    assert conversation.handoff_reason != "bot_error"
    log = BotDecisionLog.objects.filter(conversation=conversation).first()
    assert all(c["answer_id"] != doomed.pk for c in log.candidates)
    # A suggestion button for the deleted answer is read as text instead.
    write(inbox, "Formas de pagamento", payload=f"bot:answer:{doomed.pk}", sender="visitor-3")
    assert not Conversation.objects.filter(handoff_reason="bot_error").exists()


def test_editing_answers_bumps_the_version_and_rebuilds_the_index(inbox, answers):
    before = bot_services.current_answer_version()
    index_cache.get_index(inbox)
    builds = index_cache.builds
    index_cache.get_index(inbox)
    assert index_cache.builds == builds  # unchanged version: the cached index is reused
    assert engine.evaluate("minha bicicleta tem pneu furado", inbox=inbox)[0].action == "handoff"
    bot_services.variant_add(answer=answers["Garantia"], texts=["minha bicicleta tem pneu furado"])
    after = bot_services.current_answer_version()
    assert after[0] == before[0] + 1 and after[1] != before[1]
    decision, candidates, found = engine.evaluate("minha bicicleta tem pneu furado", inbox=inbox)
    assert index_cache.builds == builds + 1
    assert decision.action == "answer" and found[candidates[0].answer_id].title == "Garantia"


def test_a_bot_failure_keeps_the_message_and_hands_off(inbox, answers, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(index_cache, "get_index", broken)
    result = write(inbox, "quanto custa o frete")
    assert Message.objects.filter(pk=result.message.pk).exists()
    assert result.conversation.status == "pending" and result.conversation.handoff_reason == "bot_error"
    assert not BotDecisionLog.objects.exists()  # the bot's partial work was rolled back


def test_disabled_bot_sends_new_conversations_to_agents(inbox, answers):
    bot_services.settings_update(inbox=inbox, enabled=False)
    assert engine.bot_enabled_for(inbox) is False
    result = write(inbox, "quanto custa o frete")
    assert result.conversation.status == "pending" and bot_messages(result.conversation) == []


def test_fill_variables():
    class Contact:
        name, first_name = "", ""

    text = "Hi {{contact.first_name}}, I'm {{agent.name}} from {{inbox.name}}. {{contact.unknown}}"
    assert engine.fill_variables(text, contact=Contact()) == "Hi, I'm from. {{contact.unknown}}"


def test_inboxes_offering_the_same_answers_share_one_index(inbox, answers):
    other = Inbox.objects.create(name="Other chat", channel_kind="webchat")
    builds = index_cache.builds
    assert index_cache.get_index(inbox) is index_cache.get_index(other) is index_cache.get_index(None)
    assert index_cache.builds == builds + 1
    bot_services.answer_create(title="Só aqui", text="x", locale="pt", inboxes=[other])
    assert index_cache.get_index(inbox) is not index_cache.get_index(other)
    assert index_cache.get_index(other).size == index_cache.get_index(inbox).size + 1
