"""A Shopify order webhook arrives; then the customer asks "cadê meu pedido?" on WhatsApp and
gets the tracking link: both through the real URLs, the task pipeline, the bot, and a real
HTTP server standing in for Meta's Graph API."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from bot import services as bot_services
from channels_adapters.locmem import reset as reset_locmem
from retention.models import Order
from tests.channels.conftest import fake_graph, sign  # noqa: F401 - fake_graph is a fixture
from tests.factories import make_inbox

from .helpers import fixture, make_connection, post_webhook as post_shop_webhook

pytestmark = pytest.mark.django_db

TRACKING = "https://rastreamento.correios.com.br/app/index.php?objeto=BR123456789BR"


def whatsapp_text(text: str, n: int) -> bytes:
    return json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "1234567890"},
            "contacts": [{"profile": {"name": "Maria Silva"}, "wa_id": "5511987654321"}],
            "messages": [{"from": "5511987654321", "id": f"wamid.e2e{n}", "timestamp": "1795000000", "type": "text",
                          "text": {"body": text}}]}}]}]}).encode()


def test_shopify_order_then_where_is_my_order_on_whatsapp(client, fake_graph, django_capture_on_commit_callbacks):
    reset_locmem()
    inbox = make_inbox("whatsapp", channel_config={"phone_number_id": "1234567890", "access_token": "test-token",
                                                   "app_secret": "app-secret"})
    bot_services.answer_create(
        title="Onde está meu pedido", locale="pt",
        text="Seu pedido {{order.number}} está {{order.status}} ({{order.carrier}}). Acompanhe: {{order.tracking_url}}",
        variants=["cadê meu pedido", "onde está meu pedido", "não recebi meu pedido"])
    connection = make_connection("shopify")
    # The fixture's expected date is in the past by now; a late order is (rightly) handed to a person.
    expected = (timezone.now() + dt.timedelta(days=4)).strftime("%Y-%m-%dT18:00:00-03:00")
    order_body = fixture("shopify", "orders__updated.json").replace(b"2026-11-27T18:00:00-03:00", expected.encode())
    with django_capture_on_commit_callbacks(execute=True):
        assert post_shop_webhook(connection, order_body, "orders/updated").status_code == 200
    assert Order.objects.get().tracking_url == TRACKING

    def say(text: str, n: int):
        body = whatsapp_text(text, n)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(f"/webhooks/whatsapp/{inbox.public_id}/", data=body, content_type="application/json",
                                   HTTP_X_HUB_SIGNATURE_256=sign(body, "app-secret"))
        assert response.status_code == 200

    say("cadê meu pedido?", 1)  # the order's phone is this WhatsApp number: the same contact, no questions
    sent = [json.dumps(r.json, ensure_ascii=False) for r in fake_graph.requests if r.path.endswith("/messages")]
    assert "Seu pedido #1001 está enviado (Correios). Acompanhe: " + TRACKING in sent[-1]
    assert '"to": "5511987654321"' in sent[-1] and "bot:helpful:" in sent[-1]  # answered, with 👍/👎
    assert len(sent) == 1


def test_a_customer_writing_from_another_number_is_asked_and_verified(client, fake_graph,
                                                                      django_capture_on_commit_callbacks):
    reset_locmem()
    inbox = make_inbox("whatsapp", channel_config={"phone_number_id": "1234567890", "access_token": "test-token",
                                                   "app_secret": "app-secret"})
    bot_services.answer_create(title="Onde está meu pedido", locale="pt", text="Pedido {{order.number}}: {{order.tracking_url}}",
                               variants=["cadê meu pedido", "onde está meu pedido"])
    connection = make_connection("shopify")
    expected = (timezone.now() + dt.timedelta(days=4)).strftime("%Y-%m-%dT18:00:00-03:00")
    order_body = fixture("shopify", "orders__updated.json").replace(b"2026-11-27T18:00:00-03:00", expected.encode())
    with django_capture_on_commit_callbacks(execute=True):
        post_shop_webhook(connection, order_body, "orders/updated")

    def say(text: str, n: int):
        body = whatsapp_text(text, n).replace(b"5511987654321", b"5521955554444")
        with django_capture_on_commit_callbacks(execute=True):
            client.post(f"/webhooks/whatsapp/{inbox.public_id}/", data=body, content_type="application/json",
                        HTTP_X_HUB_SIGNATURE_256=sign(body, "app-secret"))
        return [json.dumps(r.json, ensure_ascii=False) for r in fake_graph.requests if r.path.endswith("/messages")][-1]

    assert "número do pedido e o e-mail" in say("cadê meu pedido?", 1)
    assert "e-mail usado na compra" in say("1001", 2)  # someone else's number alone proves nothing
    assert "Pedido #1001: " + TRACKING in say("1001 maria.silva@example.com", 3)
