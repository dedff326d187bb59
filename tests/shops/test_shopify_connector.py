import base64
import copy
import datetime as dt
import hashlib
import hmac
import json
from decimal import Decimal

from shop_connectors.base import isoformat
from shop_connectors.shopify import ShopifyConnector
from tests.fakes.shop_platforms import SHOPIFY_TOKEN

from .contract import FIXTURES, SECRET, ShopConnectorContract

BASE_ORDER = json.loads((FIXTURES / "shopify" / "orders__create.json").read_text())


def shopify_headers(body: bytes, topic: str, secret: str = SECRET, event_id: str = "evt-1") -> dict[str, str]:
    digest = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return {"X-Shopify-Topic": topic, "X-Shopify-Hmac-Sha256": digest, "X-Shopify-Event-Id": event_id,
            "X-Shopify-Shop-Domain": "loja.myshopify.com", "Content-Type": "application/json"}


class TestShopifyConnector(ShopConnectorContract):
    connector_class = ShopifyConnector
    platform = "shopify"
    webhook_fixtures = ("orders__create.json", "orders__updated.json", "orders__cancelled.json",
                        "fulfillments__update.json", "refunds__create.json")

    def config(self, fake=None, wrong_credentials=False, **overrides):
        return {"store_url": fake.base_url if fake else "https://loja.myshopify.com",
                "credentials": {"access_token": "wrong" if wrong_credentials else SHOPIFY_TOKEN},
                "webhook_secret": SECRET, **overrides}

    def signed_headers(self, body, topic, secret=SECRET):
        return shopify_headers(body, topic, secret)

    def topic_of(self, fixture):
        return fixture.removesuffix(".json").replace("__", "/")

    def api_order(self, n, updated_at):
        order = copy.deepcopy(BASE_ORDER)
        order.update(id=1000 + n, name=f"#{1000 + n}", order_number=1000 + n, updated_at=isoformat(updated_at))
        return order

    def expectations(self):
        def create(event):
            order = event.order
            assert event.delivery_id == "evt-1"
            assert (order.order_id, order.number, order.status) == ("5601234567890", "#1001", "paid")
            assert order.total == Decimal("259.80") and order.currency == "BRL"
            assert order.customer.email == "maria.silva@example.com"
            assert order.customer.phone == "+5511987654321" and order.customer.name == "Maria Silva"
            assert order.customer.locale == "pt-BR"
            assert [(i.name, i.quantity, i.price) for i in order.items] == [
                ("Camiseta básica - M / Azul", 2, Decimal("79.90")), ("Boné", 1, Decimal("80.00"))]
            assert (order.city, order.state) == ("São Paulo", "SP")
            assert order.ordered_at == dt.datetime(2026, 11, 20, 13, 15, tzinfo=dt.timezone.utc)

        def updated(event):
            order = event.order
            assert order.status == "shipped"
            assert order.tracking.number == "BR123456789BR" and order.tracking.carrier == "Correios"
            assert order.tracking.url.startswith("https://rastreamento.correios.com.br/")
            assert order.expected_at == dt.date(2026, 11, 27)
            assert order.updated_at == dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.timezone.utc)

        def cancelled(event):
            assert event.order.status == "cancelled"

        def fulfillment(event):
            assert event.order is None and event.order_ref == "5601234567890"
            assert event.tracking.number == "BR123456789BR"

        def refund(event):
            assert event.order is None and event.order_ref == "5601234567890" and event.tracking is None

        return {"orders__create.json": create, "orders__updated.json": updated, "orders__cancelled.json": cancelled,
                "fulfillments__update.json": fulfillment, "refunds__create.json": refund}

    def test_delivered_shipment_status_means_delivered(self):
        order = json.loads((FIXTURES / "shopify" / "orders__updated.json").read_text())
        order["fulfillments"][0]["shipment_status"] = "delivered"
        parsed = self.connector().order_from_json(order)
        assert parsed.status == "delivered" and parsed.delivered_at is not None

    def test_refunded_order(self):
        parsed = self.connector().order_from_json({**BASE_ORDER, "financial_status": "refunded"})
        assert parsed.status == "refunded"

    def test_topics_not_about_orders_are_ignored(self):
        body = b'{"id": 1}'
        event = self.connector().parse_webhook(body, shopify_headers(body, "products/update"))
        assert event.ignored and event.order is None
