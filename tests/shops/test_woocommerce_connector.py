import base64
import copy
import datetime as dt
import hashlib
import hmac
import json
from decimal import Decimal

import pytest

from shop_connectors.base import WebhookRejected
from shop_connectors.woocommerce import WooCommerceConnector
from tests.fakes.shop_platforms import WOO_KEY, WOO_SECRET

from .contract import FIXTURES, SECRET, ShopConnectorContract

BASE_ORDER = json.loads((FIXTURES / "woocommerce" / "order__created.json").read_text())


def woo_headers(body: bytes, topic: str, secret: str = SECRET, delivery: str = "d-1") -> dict[str, str]:
    digest = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    resource, _, event = topic.partition(".")
    return {"X-WC-Webhook-Topic": topic, "X-WC-Webhook-Resource": resource, "X-WC-Webhook-Event": event,
            "X-WC-Webhook-Signature": digest, "X-WC-Webhook-Delivery-ID": delivery, "X-WC-Webhook-ID": "7",
            "Content-Type": "application/json"}


class TestWooCommerceConnector(ShopConnectorContract):
    connector_class = WooCommerceConnector
    platform = "woocommerce"
    has_bucket = False
    webhook_fixtures = ("order__created.json", "order__updated.json", "order__deleted.json")

    def config(self, fake=None, wrong_credentials=False, **overrides):
        return {"store_url": fake.base_url if fake else "https://tienda.example.com",
                "credentials": {"consumer_key": WOO_KEY, "consumer_secret": "nope" if wrong_credentials else WOO_SECRET},
                "webhook_secret": SECRET, **overrides}

    def signed_headers(self, body, topic, secret=SECRET):
        return woo_headers(body, topic, secret)

    def topic_of(self, fixture):
        return fixture.removesuffix(".json").replace("__", ".")

    def api_order(self, n, updated_at):
        order = copy.deepcopy(BASE_ORDER)
        order.update(id=700 + n, number=str(700 + n), date_modified_gmt=updated_at.strftime("%Y-%m-%dT%H:%M:%S"))
        return order

    def expectations(self):
        def created(event):
            order = event.order
            assert (order.order_id, order.number, order.status, order.platform_status) == ("727", "727", "paid",
                                                                                          "processing")
            assert order.total == Decimal("45999.00") and order.currency == "ARS"
            assert order.customer.email == "lucia.gomez@example.com" and order.customer.name == "Lucía Gómez"
            assert order.customer.phone == "+54 9 11 2345-6789"
            assert order.ordered_at == dt.datetime(2026, 11, 20, 14, 0, tzinfo=dt.timezone.utc)
            assert order.items[0].name == "Zapatillas urbanas" and order.items[0].price == Decimal("45999.00")
            assert (order.city, order.state) == ("Córdoba", "X")
            assert event.delivery_id == "d-1"

        def updated(event):
            order = event.order
            assert order.status == "shipped"
            assert (order.tracking.number, order.tracking.carrier) == ("AND360000123", "Andreani")
            assert order.tracking.url.endswith("AND360000123")

        def deleted(event):
            assert event.order is None and event.order_ref == "727"

        return {"order__created.json": created, "order__updated.json": updated, "order__deleted.json": deleted}

    def test_ping_on_webhook_creation_is_accepted_and_ignored(self):
        body = b"webhook_id=42"
        connector = self.connector()
        connector.verify_webhook(body, {"Content-Type": "application/x-www-form-urlencoded"})
        assert connector.parse_webhook(body, {}).ignored

    def test_a_ping_shaped_body_with_a_topic_still_needs_a_signature(self):
        with pytest.raises(WebhookRejected):
            self.connector().verify_webhook(b"webhook_id=42", {"X-WC-Webhook-Topic": "order.updated"})

    def test_status_override_per_connection(self):
        body = (FIXTURES / "woocommerce" / "order__updated.json").read_bytes()
        connector = WooCommerceConnector({**self.config(), "status_overrides": {"completed": "delivered"}})
        order = connector.parse_webhook(body, woo_headers(body, "order.updated")).order
        assert order.status == "delivered"
        assert order.delivered_at == dt.datetime(2026, 11, 22, 16, 30, tzinfo=dt.timezone.utc)

    def test_unknown_status_is_rejected(self):
        body = json.dumps({**BASE_ORDER, "status": "teleported"}).encode()
        with pytest.raises(WebhookRejected) as caught:
            self.connector().parse_webhook(body, woo_headers(body, "order.updated"))
        assert "teleported" in str(caught.value)
