"""Signed webhook fixtures replayed through the real URL: verify, store, process, idempotent."""

import json

import pytest
from django.test import Client

from inbox import services as inbox_services
from inbox.models import ChannelKind, Contact
from retention.models import Order
from shops.models import ShopEvent
from tests.fakes.shop_platforms import FakeShopPlatforms

from .helpers import fixture, fixture_json, make_connection, post_webhook, signed, webhook_path

pytestmark = pytest.mark.django_db(transaction=True)

SHOPIFY_ID = "5601234567890"


def shopify_order(connection) -> Order:
    return Order.objects.get(external_id=f"{connection.order_prefix}{SHOPIFY_ID}")


def test_shopify_order_create_makes_the_order_and_the_customer():
    connection = make_connection("shopify")
    response = post_webhook(connection, fixture("shopify", "orders__create.json"), "orders/create")
    assert response.status_code == 200 and response.json()["duplicate"] is False
    order = shopify_order(connection)
    assert (order.number, order.status, str(order.total), order.currency) == ("#1001", "paid", "259.80", "BRL")
    assert (order.shipping_city, order.shipping_state) == ("São Paulo", "SP")
    assert order.items[0] == {"name": "Camiseta básica - M / Azul", "quantity": 2, "price": "79.90", "sku": "CAM-M-AZ"}
    assert order.contact.email == "maria.silva@example.com" and order.contact.phone == "+5511987654321"
    assert order.contact.locale == "pt-BR"
    event = ShopEvent.objects.get()
    assert event.status == ShopEvent.Status.PROCESSED and event.topic == "orders/create"
    assert "x-shopify-hmac-sha256" in event.headers and bytes(event.body) == fixture("shopify", "orders__create.json")


def test_existing_contact_is_matched_by_email():
    contact = inbox_services.contact_for_identity(channel_kind=ChannelKind.EMAIL, address="maria.silva@example.com",
                                                  name="Maria", email="maria.silva@example.com")
    connection = make_connection("shopify")
    post_webhook(connection, fixture("shopify", "orders__create.json"), "orders/create")
    assert shopify_order(connection).contact_id == contact.pk
    assert Contact.objects.count() == 1


def test_existing_whatsapp_contact_is_matched_by_phone():
    contact = inbox_services.contact_for_identity(channel_kind=ChannelKind.WHATSAPP, address="5511987654321",
                                                  name="Maria")
    body = json.dumps({**fixture_json("shopify", "orders__create.json"), "email": "", "contact_email": "",
                       "customer": {"phone": "+55 11 98765-4321"}}).encode()
    connection = make_connection("shopify")
    assert post_webhook(connection, body, "orders/create").status_code == 200
    assert shopify_order(connection).contact_id == contact.pk


def test_redelivery_is_stored_once_and_changes_nothing():
    connection = make_connection("shopify")
    body = fixture("shopify", "orders__create.json")
    first = post_webhook(connection, body, "orders/create", delivery="evt-7")
    again = post_webhook(connection, body, "orders/create", delivery="evt-7")
    assert again.status_code == 200 and again.json() == {"received": first.json()["received"], "duplicate": True}
    assert ShopEvent.objects.count() == 1 and Order.objects.count() == 1


def test_an_older_update_arriving_late_never_overwrites_a_newer_state():
    connection = make_connection("shopify")
    post_webhook(connection, fixture("shopify", "orders__updated.json"), "orders/updated", delivery="e2")
    post_webhook(connection, fixture("shopify", "orders__create.json"), "orders/create", delivery="e1")
    order = shopify_order(connection)
    assert order.status == "shipped" and order.tracking_number == "BR123456789BR"
    assert order.carrier == "Correios" and str(order.expected_at) == "2026-11-27"
    assert ShopEvent.objects.filter(status=ShopEvent.Status.PROCESSED).count() == 2
    assert "stale" in ShopEvent.objects.get(delivery_id="e1").summary
    # and a newer one does apply
    post_webhook(connection, fixture("shopify", "orders__cancelled.json"), "orders/cancelled", delivery="e3")
    assert shopify_order(connection).status == "shipped"  # cancelled_at 12:00 on the 20th is older than the shipment
    newer = json.dumps({**fixture_json("shopify", "orders__cancelled.json"),
                        "updated_at": "2026-11-22T10:00:00-03:00"}).encode()
    post_webhook(connection, newer, "orders/cancelled", delivery="e4")
    assert shopify_order(connection).status == "cancelled"


def test_bad_signature_is_401_and_the_raw_event_is_kept():
    connection = make_connection("shopify")
    body = fixture("shopify", "orders__create.json")
    response = Client().post(webhook_path(connection), data=body, content_type="application/json",
                             **signed("shopify", body, "orders/create", secret="not-the-secret"))
    assert response.status_code == 401
    event = ShopEvent.objects.get()
    assert event.status == ShopEvent.Status.REJECTED and "invalid signature" in event.error
    assert bytes(event.body) == body
    assert not Order.objects.exists()


def test_malformed_payload_is_400_with_the_raw_event_kept():
    connection = make_connection("woocommerce")
    body = b'{"id": 5, "status": "processing", "date_created_gmt": "yesterday"'
    response = post_webhook(connection, body, "order.created")
    assert response.status_code == 400
    event = ShopEvent.objects.get()
    assert event.status == ShopEvent.Status.REJECTED and event.error.startswith("400") and bytes(event.body) == body


def test_unknown_connection_and_wrong_platform_are_404():
    connection = make_connection("shopify")
    body = fixture("shopify", "orders__create.json")
    headers = signed("shopify", body, "orders/create")
    assert Client().post("/webhooks/shop/shopify/nope/", data=body, content_type="application/json",
                         **headers).status_code == 404
    assert Client().post(f"/webhooks/shop/woocommerce/{connection.public_id}/", data=body,
                         content_type="application/json", **headers).status_code == 404
    assert ShopEvent.objects.filter(status=ShopEvent.Status.REJECTED, connection=None).count() == 2


def test_disabled_connection_is_403_and_oversized_body_413():
    connection = make_connection("shopify")
    big = b'{"a": "' + b"x" * (2 * 1024 * 1024 + 10) + b'"}'
    assert post_webhook(connection, big, "orders/create").status_code == 413
    connection.enabled = False
    connection.save()
    assert post_webhook(connection, fixture("shopify", "orders__create.json"), "orders/create").status_code == 403
    assert ShopEvent.objects.filter(status=ShopEvent.Status.REJECTED).count() == 2


def test_get_is_not_allowed():
    connection = make_connection("shopify")
    assert Client().get(webhook_path(connection)).status_code == 405


def test_woocommerce_created_then_updated_with_tracking_and_the_ping():
    connection = make_connection("woocommerce")
    ping = Client().post(webhook_path(connection), data=b"webhook_id=3",
                         content_type="application/x-www-form-urlencoded")
    assert ping.status_code == 200
    assert ShopEvent.objects.get().status == ShopEvent.Status.IGNORED
    post_webhook(connection, fixture("woocommerce", "order__created.json"), "order.created", delivery="1")
    post_webhook(connection, fixture("woocommerce", "order__updated.json"), "order.updated", delivery="2")
    order = Order.objects.get(external_id=f"{connection.order_prefix}727")
    assert (order.status, order.tracking_number, order.carrier) == ("shipped", "AND360000123", "Andreani")
    assert order.contact.email == "lucia.gomez@example.com" and order.currency == "ARS"


def test_nuvemshop_webhook_fetches_the_order_from_the_api(settings):
    with FakeShopPlatforms() as fake:
        fake.orders["nuvemshop"] = [fixture_json("nuvemshop", "api__order.json")]
        connection = make_connection("nuvemshop", fake, settings=settings)
        response = post_webhook(connection, fixture("nuvemshop", "order__paid.json"), "order/paid")
        assert response.status_code == 200
        assert any(r.path.endswith("/orders/1450000123") for r in fake.requests)
    order = Order.objects.get(external_id=f"{connection.order_prefix}1450000123")
    assert (order.number, order.status, order.tracking_number) == ("3210", "shipped", "QB987654321BR")
    assert order.tracking_url.startswith("https://rastreamento.correios.com.br/")


def test_nuvemshop_event_without_api_access_fails_clearly():
    connection = make_connection("nuvemshop", with_api=False)
    assert post_webhook(connection, fixture("nuvemshop", "order__paid.json"), "order/paid").status_code == 200
    event = ShopEvent.objects.get()
    assert event.status == ShopEvent.Status.FAILED and "API credentials" in event.error


def test_shopify_fulfillment_without_api_access_applies_the_tracking():
    connection = make_connection("shopify", with_api=False)
    post_webhook(connection, fixture("shopify", "orders__create.json"), "orders/create", delivery="a")
    post_webhook(connection, fixture("shopify", "fulfillments__update.json"), "fulfillments/update", delivery="b")
    order = shopify_order(connection)
    assert order.status == "shipped" and order.tracking_number == "BR123456789BR"


def test_shopify_refund_fetches_the_refunded_order():
    with FakeShopPlatforms() as fake:
        connection = make_connection("shopify", fake)
        post_webhook(connection, fixture("shopify", "orders__create.json"), "orders/create", delivery="a")
        refunded = {**fixture_json("shopify", "orders__create.json"), "financial_status": "refunded",
                    "updated_at": "2026-11-28T10:00:00-03:00"}
        fake.orders["shopify"] = [refunded]
        post_webhook(connection, fixture("shopify", "refunds__create.json"), "refunds/create", delivery="b")
    assert shopify_order(connection).status == "refunded"


def test_order_without_email_or_phone_fails_the_event_not_the_endpoint():
    connection = make_connection("shopify")
    data = {**fixture_json("shopify", "orders__create.json"), "email": None, "contact_email": None, "phone": None,
            "customer": {}, "shipping_address": {}, "billing_address": {}}
    response = post_webhook(connection, json.dumps(data).encode(), "orders/create")
    assert response.status_code == 200
    event = ShopEvent.objects.get()
    assert event.status == ShopEvent.Status.FAILED and "e-mail address or a phone" in event.error


def test_woocommerce_deleted_order_is_kept_as_cancelled():
    with FakeShopPlatforms() as fake:
        connection = make_connection("woocommerce", fake)
        post_webhook(connection, fixture("woocommerce", "order__created.json"), "order.created", delivery="1")
        post_webhook(connection, fixture("woocommerce", "order__deleted.json"), "order.deleted", delivery="2")
    order = Order.objects.get(external_id=f"{connection.order_prefix}727")
    assert (order.status, order.platform_status) == ("cancelled", "deleted")
    assert ShopEvent.objects.get(delivery_id="2").status == ShopEvent.Status.PROCESSED


def test_woocommerce_trashed_order_fetched_on_delete_is_cancelled():
    with FakeShopPlatforms() as fake:
        connection = make_connection("woocommerce", fake)
        post_webhook(connection, fixture("woocommerce", "order__created.json"), "order.created", delivery="1")
        fake.orders["woocommerce"] = [{**fixture_json("woocommerce", "order__created.json"), "status": "trash",
                                       "date_modified_gmt": "2026-11-25T10:00:00"}]
        post_webhook(connection, fixture("woocommerce", "order__deleted.json"), "order.deleted", delivery="2")
    assert Order.objects.get(external_id=f"{connection.order_prefix}727").status == "cancelled"
