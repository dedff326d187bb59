"""Order answers' pieces: variables, the built-in summary, hand-off rules, and the lookup
that never reveals an order to someone who only guessed its number."""

import datetime as dt
from decimal import Decimal

import pytest

from bot import orders
from inbox import services as inbox_services
from inbox.models import ChannelKind
from retention import orders_for_bot, services as retention_services
from retention.models import Order
from retention.orders_for_bot import OrderFacts

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.timezone.utc)
SHIPPED = OrderFacts(number="#1001", status="shipped", ordered_at=NOW, tracking_number="BR1", carrier="Correios",
                     tracking_url="https://rastreio.example/BR1", expected_at=dt.date(2026, 11, 27))


def test_order_variables_in_the_customers_language():
    text = "Seu pedido {{order.number}} está {{order.status}} ({{ order.carrier }}): {{order.tracking_url}} até {{order.expected_at}}"
    assert orders.render(text, SHIPPED, "pt") == ("Seu pedido #1001 está enviado (Correios): "
                                                  "https://rastreio.example/BR1 até 27/11/2026")
    assert orders.order_values(SHIPPED, "en")["expected_at"] == "Nov 27, 2026"
    assert orders.order_values(SHIPPED, "es")["status"] == "enviado"


def test_empty_values_vanish_and_unknown_names_stay():
    bare = OrderFacts(number="77", status="paid", ordered_at=NOW)
    assert orders.fill_order_variables("Pedido {{order.number}} {{order.tracking_url}}. {{order.colour}}", bare,
                                       "pt") == "Pedido 77. {{order.colour}}"


def test_answer_without_variables_gets_the_summary():
    text = orders.render("Aqui está:", SHIPPED, "pt")
    assert text == ("Aqui está:\n\nPedido #1001: enviado.\nTransportadora: Correios.\n"
                    "Rastreio: https://rastreio.example/BR1\nPrevisão de entrega: 27/11/2026.")
    delivered = OrderFacts(number="9", status="delivered", ordered_at=NOW, expected_at=dt.date(2026, 1, 1))
    assert orders.summary(delivered, "en") == "Order 9: delivered."


def test_late_cancelled_and_refunded_orders_need_a_person():
    today = dt.date(2026, 11, 28)
    assert "late" in orders.needs_person(SHIPPED, today)
    assert orders.needs_person(SHIPPED, dt.date(2026, 11, 27)) == ""
    for status in ("cancelled", "refunded"):
        assert status in orders.needs_person(OrderFacts(number="1", status=status, ordered_at=NOW), today)
    delivered = OrderFacts(number="1", status="delivered", ordered_at=NOW, expected_at=dt.date(2026, 11, 1))
    assert orders.needs_person(delivered, today) == ""


def test_is_order_answer():
    class Answer:
        kind, text = "text", "Prazo de 2 a 8 dias"

    assert not orders.is_order_answer(Answer())
    Answer.text = "Seu pedido {{ order.status }}"
    assert orders.is_order_answer(Answer())
    Answer.kind, Answer.text = "order_status", "x"
    assert orders.is_order_answer(Answer())


# --- lookup ---------------------------------------------------------------------------------------


@pytest.fixture
def order(db):
    contact, _ = retention_services.customer_upsert(email="maria@example.com", phone="+5511987654321", name="Maria")
    return Order.objects.create(contact=contact, external_id="shopify:x:1", number="#1001", ordered_at=NOW,
                                status="shipped", total=Decimal("10"), currency="BRL")


@pytest.fixture
def stranger(db):
    return inbox_services.contact_for_identity(channel_kind=ChannelKind.WEBCHAT, address="visitor-9", name="?")


def test_number_and_matching_email_reveal_the_order(order, stranger):
    facts, outcome = orders_for_bot.lookup(text="pedido 1001, e-mail MARIA@example.com", contact_id=stranger.pk)
    assert outcome == "found" and facts.number == "#1001"


def test_a_guessed_number_alone_reveals_nothing(order, stranger):
    assert orders_for_bot.lookup(text="#1001", contact_id=stranger.pk) == (None, "need_more")


def test_number_with_someone_elses_email_is_no_match(order, stranger):
    assert orders_for_bot.lookup(text="1001 outra@example.com", contact_id=stranger.pk) == (None, "no_match")


def test_the_orders_whatsapp_number_is_the_same_contact(order):
    """One contact per phone line: a WhatsApp message from the order's phone lands on the
    shop's customer, so the bot answers without asking."""
    writer = inbox_services.contact_for_identity(channel_kind=ChannelKind.WHATSAPP, address="5511987654321", name="M")
    assert writer.pk == order.contact_id
    assert orders_for_bot.latest_for_contact(writer.pk).number == "#1001"


def test_email_alone_is_enough_when_the_order_has_the_phone_the_customer_writes_from(order):
    writer = inbox_services.contact_for_identity(channel_kind=ChannelKind.WEBCHAT, address="visitor-7", name="M",
                                                 phone="+5511987654321")
    assert writer.pk != order.contact_id  # a web visitor's typed phone joins no contact
    facts, outcome = orders_for_bot.lookup(text="maria@example.com", contact_id=writer.pk)
    assert outcome == "found" and facts.number == "#1001"


def test_email_alone_from_another_phone_is_not_enough(order):
    writer = inbox_services.contact_for_identity(channel_kind=ChannelKind.WHATSAPP, address="5521900000000", name="X")
    assert orders_for_bot.lookup(text="maria@example.com", contact_id=writer.pk) == (None, "need_more")


def test_number_with_the_orders_phone_typed(order, stranger):
    facts, outcome = orders_for_bot.lookup(text="pedido 1001 telefone +55 11 98765-4321", contact_id=stranger.pk)
    assert outcome == "found"


def test_the_orders_phone_in_another_form_still_matches(order, stranger):
    # Typed without the ninth digit, or nationally, it is the same Brazilian mobile.
    for typed in ("pedido 1001 telefone +55 11 8765-4321", "pedido 1001 telefone (11) 98765-4321"):
        facts, outcome = orders_for_bot.lookup(text=typed, contact_id=stranger.pk)
        assert outcome == "found", typed


def test_a_phone_that_is_not_a_number_matches_nothing(db, stranger):
    contact, _ = retention_services.customer_upsert(email="x@example.com", phone="0000 0000 0000", name="X")
    Order.objects.create(contact=contact, external_id="shopify:x:2", number="#2002", ordered_at=NOW,
                         status="paid", total=Decimal("1"), currency="BRL")
    # Unreadable on both sides: not a fact that can tie the customer to the order.
    assert orders_for_bot.lookup(text="pedido 2002 telefone 0000 0000 0000", contact_id=stranger.pk) == (None, "need_more")


def test_text_without_number_or_email_is_nothing(stranger):
    assert orders_for_bot.lookup(text="qual o horário de vocês?", contact_id=stranger.pk) == (None, "nothing")


def test_latest_counted_order_wins_over_a_newer_cancelled_one(order):
    Order.objects.create(contact=order.contact, external_id="shopify:x:2", number="#1002",
                         ordered_at=NOW + dt.timedelta(days=1), status="cancelled", total=Decimal("5"), currency="BRL")
    assert orders_for_bot.latest_for_contact(order.contact_id).number == "#1001"
    Order.objects.filter(pk=order.pk).update(status="refunded")
    assert orders_for_bot.latest_for_contact(order.contact_id).number == "#1002"
