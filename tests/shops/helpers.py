"""Connections wired to the loopback fake, and signed webhook posts through the real URL."""

from __future__ import annotations

import json
from pathlib import Path

from django.test import Client

from shops import services
from shops.models import ShopConnection
from tests.fakes.shop_platforms import NUVEM_STORE_ID, NUVEM_TOKEN, SHOPIFY_TOKEN, WOO_KEY, WOO_SECRET

from .contract import SECRET
from .test_nuvemshop_connector import nuvem_headers
from .test_shopify_connector import shopify_headers
from .test_woocommerce_connector import woo_headers

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "shops"
CREDENTIALS = {"shopify": {"access_token": SHOPIFY_TOKEN},
               "woocommerce": {"consumer_key": WOO_KEY, "consumer_secret": WOO_SECRET},
               "nuvemshop": {"store_id": NUVEM_STORE_ID, "access_token": NUVEM_TOKEN}}


def make_connection(platform: str, fake=None, *, with_api: bool = True, settings=None) -> ShopConnection:
    store_url = fake.base_url if fake else f"https://{platform}.example.com"
    if settings is not None and fake is not None:
        settings.SHOP_API_BASES = {"nuvemshop": f"{fake.base_url}/2025-03"}
    return services.connection_create(platform=platform, name=f"{platform} shop", webhook_secret=SECRET,
                                      store_url=store_url, credentials_in=CREDENTIALS[platform] if with_api else {})


def webhook_path(connection: ShopConnection) -> str:
    return f"/webhooks/shop/{connection.platform}/{connection.public_id}/"


def signed(platform: str, body: bytes, topic: str, *, delivery: str = "d-1", secret: str = SECRET) -> dict[str, str]:
    if platform == "shopify":
        headers = shopify_headers(body, topic, secret, event_id=delivery)
    elif platform == "woocommerce":
        headers = woo_headers(body, topic, secret, delivery=delivery)
    else:
        headers = nuvem_headers(body, topic, secret)
    return {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items() if k.lower() != "content-type"}


def post_webhook(connection: ShopConnection, body: bytes, topic: str, **kwargs):
    return Client().post(webhook_path(connection), data=body, content_type="application/json",
                         **signed(connection.platform, body, topic, **kwargs))


def fixture(platform: str, name: str) -> bytes:
    return (FIXTURES / platform / name).read_bytes()


def fixture_json(platform: str, name: str) -> dict:
    return json.loads(fixture(platform, name))
