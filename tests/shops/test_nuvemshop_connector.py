import copy
import datetime as dt
import hashlib
import hmac
import json
from decimal import Decimal

import pytest

from shop_connectors.base import isoformat, WebhookRejected
from shop_connectors.nuvemshop import NuvemshopConnector
from tests.fakes.shop_platforms import NUVEM_STORE_ID, NUVEM_TOKEN

from .contract import FIXTURES, SECRET, ShopConnectorContract

API_ORDER = json.loads((FIXTURES / "nuvemshop" / "api__order.json").read_text())


def nuvem_headers(body: bytes, topic: str = "", secret: str = SECRET) -> dict[str, str]:
    return {"x-linkedstore-hmac-sha256": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
            "Content-Type": "application/json"}


class TestNuvemshopConnector(ShopConnectorContract):
    connector_class = NuvemshopConnector
    platform = "nuvemshop"
    webhook_fixtures = ("order__created.json", "order__paid.json", "order__fulfilled.json", "order__cancelled.json",
                        "product__updated.json")

    def config(self, fake=None, wrong_credentials=False, **overrides):
        return {"api_base": f"{fake.base_url}/2025-03" if fake else "https://api.tiendanube.com/2025-03",
                "credentials": {"store_id": NUVEM_STORE_ID,
                                "access_token": "wrong" if wrong_credentials else NUVEM_TOKEN},
                "webhook_secret": SECRET, **overrides}

    def signed_headers(self, body, topic, secret=SECRET):
        return nuvem_headers(body, topic, secret)

    def topic_of(self, fixture):
        return fixture.removesuffix(".json").replace("__", "/")

    def api_order(self, n, updated_at):
        order = copy.deepcopy(API_ORDER)
        order.update(id=1450000000 + n, number=3200 + n, updated_at=isoformat(updated_at).replace("Z", "+0000"))
        return order

    def expectations(self):
        def ref(event):
            assert event.order is None and event.order_ref == "1450000123" and event.topic.startswith("order/")

        def api_object(_event):
            order = NuvemshopConnector(self.config()).order_from_json(API_ORDER)
            assert (order.order_id, order.number, order.status) == ("1450000123", "3210", "shipped")
            assert order.total == Decimal("189.90") and order.currency == "BRL"
            assert order.customer.email == "joao.pereira@example.com" and order.customer.phone == "+5521998887766"
            assert order.tracking.number == "QB987654321BR" and order.tracking.carrier == "Correios - SEDEX"
            assert order.expected_at == dt.date(2026, 11, 24)  # shipped on the 19th + 5 days
            assert order.items[0].quantity == 2 and order.items[0].price == Decimal("84.95")
            assert (order.city, order.state) == ("Rio de Janeiro", "Rio de Janeiro")
            assert order.updated_at == dt.datetime(2026, 11, 19, 17, 45, tzinfo=dt.timezone.utc)

        def ignored(event):
            assert event.ignored and event.order is None and not event.order_ref

        return {"api__order.json": api_object, "order__created.json": ref, "order__paid.json": ref,
                "order__fulfilled.json": ref, "order__cancelled.json": ref, "product__updated.json": ignored}

    def test_api_fixture_is_checked(self):
        self.expectations()["api__order.json"](None)

    def test_webhook_for_another_store_is_rejected(self):
        body = json.dumps({"store_id": 1, "event": "order/paid", "id": 5}).encode()
        with pytest.raises(WebhookRejected):
            self.connector().parse_webhook(body, nuvem_headers(body))

    def test_cancelled_and_refunded(self):
        connector = self.connector()
        assert connector.order_from_json({**API_ORDER, "status": "cancelled"}).status == "cancelled"
        assert connector.order_from_json({**API_ORDER, "payment_status": "refunded"}).status == "refunded"
        assert connector.order_from_json({**API_ORDER, "shipping_status": "unpacked"}).status == "paid"
