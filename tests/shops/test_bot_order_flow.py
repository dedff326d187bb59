"""The bot answers "where is my order?" through the real write path (web chat, in-memory adapter)."""

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.test import TestCase
from django.utils import timezone

from bot import index_cache, orders
from bot import services as bot_services
from bot.models import BotDecisionLog
from channels_adapters import locmem
from channels_adapters.base import InboundMessage
from inbox import services
from inbox.models import Conversation, Inbox, Message
from retention import services as retention_services
from retention.models import Order

pytestmark = pytest.mark.django_db
_ids = itertools.count(1)


@pytest.fixture(autouse=True)
def bot_env(settings):
    from huey.contrib.djhuey import HUEY

    settings.CHANNEL_ADAPTERS = {"webchat": "channels_adapters.locmem.LocmemAdapter"}
    previous = HUEY.immediate
    HUEY.immediate = True
    locmem.reset()
    index_cache.clear()
    yield
    HUEY.immediate = previous


@pytest.fixture
def inbox(db):
    inbox = Inbox.objects.create(name="Loja", channel_kind="webchat")
    bot_services.answer_create(
        title="Onde está meu pedido", locale="pt",
        text="Oi {{contact.first_name}}! Seu pedido {{order.number}} está {{order.status}}. "
             "Rastreio: {{order.tracking_url}}",
        variants=["cadê meu pedido", "onde está meu pedido", "não recebi meu pedido", "rastrear meu pedido"])
    bot_services.answer_create(title="Horário", locale="pt", text="Atendemos das 9h às 18h.",
                               variants=["qual o horário de atendimento", "que horas vocês abrem"])
    return inbox


def write(inbox, text="", *, sender="visitor-1", payload=""):
    """The customer writes; the commit then runs the bot's task (Huey is immediate here)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        result = services.receive_inbound(inbox=inbox, inbound=InboundMessage(
            provider_message_id=f"in-{next(_ids)}", sender_address=sender, text=text, sender_name="Maria Silva",
            quick_reply_payload=payload))
    result.conversation.refresh_from_db()
    return result.conversation


def bot_texts(conversation):
    return [m.text for m in Message.objects.filter(conversation=conversation, sender_kind="bot").order_by("pk")]


def add_order(contact, **fields):
    values = {"external_id": f"shopify:x:{next(_ids)}", "number": "#1001", "status": "shipped",
              "ordered_at": timezone.now() - dt.timedelta(days=2), "total": Decimal("50"), "currency": "BRL",
              "tracking_url": "https://rastreio.example/BR1", "carrier": "Correios",
              "expected_at": timezone.localdate() + dt.timedelta(days=3), **fields}
    return Order.objects.create(contact=contact, **values)


def test_known_customer_gets_the_latest_order_with_the_tracking_link(inbox, django_capture_on_commit_callbacks):
    conversation = write(inbox, "oi")
    add_order(conversation.contact)
    with django_capture_on_commit_callbacks(execute=True):
        write(inbox, "cadê meu pedido?")
    conversation.refresh_from_db()
    assert bot_texts(conversation)[-1] == "Oi Maria! Seu pedido #1001 está enviado. Rastreio: https://rastreio.example/BR1"
    assert conversation.status == Conversation.Status.BOT
    last = Message.objects.filter(conversation=conversation, sender_kind="bot").last()
    assert [q["title"] for q in last.metadata["quick_replies"]][:2] == ["👍", "👎"]


def test_unknown_customer_is_asked_then_verified_then_answered(inbox):
    buyer, _ = retention_services.customer_upsert(email="maria@example.com", name="Maria")
    add_order(buyer, number="#2002")
    conversation = write(inbox, "onde está meu pedido")
    assert "número do pedido e o e-mail" in bot_texts(conversation)[-1]
    asked = Message.objects.filter(conversation=conversation, sender_kind="bot").last()
    assert asked.metadata["quick_replies"][0] == {"title": "Não sei", "payload": orders.PAYLOAD_UNKNOWN}
    write(inbox, "#2002")  # a number alone is not enough
    assert "e-mail usado na compra" in bot_texts(conversation)[-1]
    write(inbox, "2002 maria@example.com")
    assert bot_texts(conversation)[-1].startswith("Oi Maria! Seu pedido #2002 está enviado.")
    assert BotDecisionLog.objects.filter(conversation=conversation, reason="order_verified").exists()


def test_wrong_details_twice_hand_off_without_revealing(inbox):
    buyer, _ = retention_services.customer_upsert(email="maria@example.com", name="Maria")
    add_order(buyer, number="#2002")
    conversation = write(inbox, "cadê meu pedido")
    write(inbox, "2002 ladrao@example.com")
    assert "Não encontrei um pedido" in bot_texts(conversation)[-1]
    write(inbox, "2002 outro@example.com")
    conversation.refresh_from_db()
    assert conversation.status != Conversation.Status.BOT
    assert conversation.handoff_reason == "order_issue"
    assert not any("#2002" in text for text in bot_texts(conversation))


def test_i_dont_know_hands_off(inbox):
    conversation = write(inbox, "cadê meu pedido")
    write(inbox, "Não sei", payload=orders.PAYLOAD_UNKNOWN)
    conversation.refresh_from_db()
    assert conversation.handoff_reason == "order_issue"
    assert "does not know" in conversation.handoff_detail


def test_another_question_while_asked_is_answered_normally(inbox):
    conversation = write(inbox, "cadê meu pedido")
    write(inbox, "qual o horário de atendimento")
    assert bot_texts(conversation)[-1] == "Atendemos das 9h às 18h."


def test_late_order_is_answered_then_handed_off(inbox):
    conversation = write(inbox, "oi")
    add_order(conversation.contact, expected_at=timezone.localdate() - dt.timedelta(days=2))
    write(inbox, "não recebi meu pedido")
    conversation.refresh_from_db()
    texts = bot_texts(conversation)
    assert any("prazo de entrega já passou" in t for t in texts)
    assert conversation.handoff_reason == "order_issue" and "late" in conversation.handoff_detail


def test_cancelled_order_is_answered_then_handed_off(inbox):
    conversation = write(inbox, "oi")
    add_order(conversation.contact, status="cancelled")
    write(inbox, "cadê meu pedido")
    conversation.refresh_from_db()
    assert "está cancelado" in bot_texts(conversation)[-2]
    assert conversation.handoff_reason == "order_issue"


def test_not_helpful_after_an_order_answer_hands_off(inbox):
    conversation = write(inbox, "oi")
    add_order(conversation.contact)
    write(inbox, "cadê meu pedido")
    log = BotDecisionLog.objects.filter(conversation=conversation, action="answer").first()
    write(inbox, "👎", payload=f"bot:not_helpful:{log.pk}")
    conversation.refresh_from_db()
    assert conversation.handoff_reason == "not_helpful"


def test_without_a_provider_order_variables_are_blank(inbox, settings):
    settings.BOT_ORDER_PROVIDER = ""
    conversation = write(inbox, "cadê meu pedido")
    assert bot_texts(conversation)[-1] == "Oi Maria! Seu pedido está. Rastreio:"


def test_composer_quick_replies_fill_the_order_variables(inbox, client, django_user_model):
    agent = django_user_model.objects.create_user("ana", password="pw", is_staff=True)
    inbox.members.add(agent)
    conversation = write(inbox, "oi")
    add_order(conversation.contact, number="#3003")
    client.force_login(agent)
    answer = client.get("/bot/api/quick-replies/", {"conversation": conversation.pk, "q": "pedido"}).json()
    order_answer = next(r for r in answer["results"] if r["title"] == "Onde está meu pedido")
    assert order_answer["text"] == "Oi Maria! Seu pedido #3003 está enviado. Rastreio: https://rastreio.example/BR1"
    assert answer["orders"][0]["number"] == "#3003"
    assert answer["orders"][0]["values"]["carrier"] == "Correios"


def test_order_status_kind_without_variables_gets_the_summary(inbox):
    bot_services.answer_create(title="Status do pedido", locale="pt", kind="order_status",
                               text="Aqui está o seu pedido:", variants=["status do meu pedido", "situação do pedido"])
    conversation = write(inbox, "oi")
    add_order(conversation.contact, number="#4004", expected_at=None)
    write(inbox, "qual a situação do pedido")
    assert bot_texts(conversation)[-1] == ("Aqui está o seu pedido:\n\nPedido #4004: enviado.\nTransportadora: "
                                           "Correios.\nRastreio: https://rastreio.example/BR1")


def test_composer_offers_the_customers_orders_as_quick_replies(inbox, client, django_user_model):
    agent = django_user_model.objects.create_user("bia", password="pw")
    inbox.members.add(agent)
    conversation = write(inbox, "oi")
    add_order(conversation.contact, number="#5005", expected_at=None)
    client.force_login(agent)
    for query in ("pedido", "500", ""):
        results = client.get("/bot/api/quick-replies/", {"conversation": conversation.pk, "q": query}).json()["results"]
        order_items = [r for r in results if r["id"] == "order:#5005"]
        assert order_items and order_items[0]["title"] == "Pedido #5005 · enviado", query
        assert order_items[0]["text"] == "Pedido #5005: enviado.\nTransportadora: Correios.\nRastreio: https://rastreio.example/BR1"
    results = client.get("/bot/api/quick-replies/", {"conversation": conversation.pk, "q": "horario"}).json()["results"]
    assert not [r for r in results if str(r["id"]).startswith("order:")]
