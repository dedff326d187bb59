"""Throughput of shop order webhooks and imports, as a ratio to WhatsApp message webhooks
measured in the same run (the machine is shared: absolute figures drift, ratios less).

    .venv/bin/python bench/shop_webhooks_bench.py [--n 300]

A throwaway SQLite database in DATA_DIR (default: a temporary folder); tasks run inline
(HUEY_IMMEDIATE), so each figure is "verified, stored, processed, order written". Imports run
against the loopback fake of Shopify's API (tests/fakes/shop_platforms.py), 250 orders a page.
"""

from __future__ import annotations

import argparse
import base64
import copy
import datetime as dt
import hashlib
import hmac
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="shop-bench-"))
os.environ.setdefault("DEBUG", "1")
os.environ["HUEY_IMMEDIATE"] = "1"
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from bot.models import BotSettings  # noqa: E402
from inbox.models import Inbox  # noqa: E402
from retention.models import Order  # noqa: E402
from shops import services  # noqa: E402
from tests.fakes.shop_platforms import SHOPIFY_TOKEN, FakeShopPlatforms  # noqa: E402

FIXTURE = json.loads((ROOT / "tests/fixtures/shops/shopify/orders__create.json").read_text())
SECRET = "bench-secret"


def shopify_body(n: int) -> bytes:
    order = copy.deepcopy(FIXTURE)
    order.update(id=10_000 + n, name=f"#{10_000 + n}", email=f"buyer{n}@example.com")
    order["customer"] = {**order["customer"], "email": f"buyer{n}@example.com", "phone": f"+55119{n:08d}"}
    return json.dumps(order).encode()


def whatsapp_body(n: int) -> bytes:
    return json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp", "metadata": {"display_phone_number": "1", "phone_number_id": "1234567890"},
            "contacts": [{"profile": {"name": f"C{n}"}, "wa_id": f"55119{n:08d}"}],
            "messages": [{"from": f"55119{n:08d}", "id": f"wamid.b{n}", "timestamp": "1795000000", "type": "text",
                          "text": {"body": "oi"}}]}}]}]}).encode()


def timed(label: str, count: int, run) -> float:
    started = time.perf_counter()
    run()
    seconds = time.perf_counter() - started
    rate = count / seconds
    print(f"{label:<34} {count:>6} in {seconds:7.2f} s  {rate:8.1f}/s")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    n = parser.parse_args().n
    call_command("migrate", verbosity=0)
    client = Client()
    inbox = Inbox.objects.create(name="wa", channel_kind="whatsapp", channel_config={
        "phone_number_id": "1234567890", "access_token": "x", "app_secret": SECRET})
    BotSettings.objects.create(inbox=inbox, enabled=False)
    connection = services.connection_create(platform="shopify", name="bench", webhook_secret=SECRET,
                                            store_url="https://bench.myshopify.com")
    url = f"/webhooks/shop/shopify/{connection.public_id}/"

    def whatsapp():
        for i in range(n):
            body = whatsapp_body(i)
            signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            assert client.post(f"/webhooks/whatsapp/{inbox.public_id}/", data=body, content_type="application/json",
                               HTTP_X_HUB_SIGNATURE_256=signature).status_code == 200

    def shopify():
        for i in range(n):
            body = shopify_body(i)
            digest = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
            assert client.post(url, data=body, content_type="application/json", HTTP_X_SHOPIFY_TOPIC="orders/create",
                               HTTP_X_SHOPIFY_HMAC_SHA256=digest, HTTP_X_SHOPIFY_EVENT_ID=f"e{i}").status_code == 200

    baseline = timed("WhatsApp message webhooks (bot off)", n, whatsapp)
    orders = timed("Shopify orders/create webhooks", n, shopify)
    duplicates = timed("the same webhooks redelivered", n, shopify)
    assert Order.objects.count() == n

    with FakeShopPlatforms() as fake:
        start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=3)
        fake.orders["shopify"] = []
        for i in range(n, 2 * n):
            order = json.loads(shopify_body(i))
            order["updated_at"] = (start + dt.timedelta(seconds=i)).isoformat()
            fake.orders["shopify"].append(order)
        imported = services.connection_create(platform="shopify", name="bench import", webhook_secret=SECRET,
                                              store_url=fake.base_url, credentials_in={"access_token": SHOPIFY_TOKEN})
        imports = timed("orders imported (250 a page)", n,
                        lambda: services.backfill_start(connection=imported, days=7))
    print(f"ratios to WhatsApp webhooks: orders {orders / baseline:.2f}, redeliveries {duplicates / baseline:.2f}, "
          f"imported orders {imports / baseline:.2f}")


if __name__ == "__main__":
    main()
