"""The shop connection page and an order in the conversation sidebar, in real Chromium against
the live ASGI server and the loopback fake of Shopify's API.

Run:
    .venv/bin/python -m tests.servers --redis --sqlite-file -- .venv/bin/python -m pytest tests/e2e/test_shop_pages.py -q
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import hmac
import json
import urllib.request

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from channels_adapters.base import InboundMessage
from inbox import services as inbox_services
from inbox.models import ChannelKind, Inbox
from shop_connectors.base import isoformat
from shops.models import ShopConnection, ShopSync
from tests.browser import login, screenshot_path
from tests.fakes.shop_platforms import SHOPIFY_TOKEN, FakeShopPlatforms
from tests.shops.helpers import fixture_json

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SECRET = "shop-secret-123"


def shopify_orders(count: int) -> list[dict]:
    base = fixture_json("shopify", "orders__updated.json")
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=5)
    orders = []
    for n in range(count):
        order = copy.deepcopy(base)
        order.update(id=9000 + n, name=f"#{2000 + n}", email=f"buyer{n}@example.com",
                     updated_at=isoformat(start + dt.timedelta(hours=n)), created_at=isoformat(start))
        order["customer"] = {**order["customer"], "email": f"buyer{n}@example.com", "phone": None}
        orders.append(order)
    return orders


def test_connect_test_import_and_the_order_in_the_sidebar(live_asgi_server, new_context, settings):
    admin = get_user_model().objects.create_user("boss", password="pw-boss-123", is_staff=True, is_superuser=True)
    with FakeShopPlatforms() as fake:
        fake.orders["shopify"] = shopify_orders(3)
        context = new_context(viewport={"width": 1280, "height": 1100})
        login(context, admin, base_url=live_asgi_server)
        page = context.new_page()
        page.goto(f"{live_asgi_server}/admin/shops/shopconnection/add/")
        page.select_option("#id_platform", "shopify")
        page.fill("#id_name", "Loja Verde")
        page.fill("#id_store_url", fake.base_url)
        page.fill("#id_webhook_secret", SECRET)
        page.fill("#id_access_token", "wrong-token")
        page.click("input[name=_continue]")
        connection = ShopConnection.objects.get()
        expect(page.locator("[data-webhook-url]")).to_have_text(
            f"http://127.0.0.1:8000/webhooks/shop/shopify/{connection.public_id}/")

        page.click("[data-action=test]")
        expect(page.locator(".messagelist")).to_contain_text("refused the credentials (401)")
        page.fill("#id_access_token", SHOPIFY_TOKEN)
        page.click("input[name=_continue]")
        page.click("[data-action=test]")
        expect(page.locator(".messagelist")).to_contain_text("Connected to Loja Fake.")

        fake.fail_next(status=429, headers={"Retry-After": "90"})  # the import has to wait...
        page.fill("input[name=days]", "30")
        page.click("[data-action=import]")
        expect(page.locator(".messagelist")).to_contain_text("Import of the last 30 days")
        row = page.locator("tr[data-sync]").first
        expect(row.locator("[data-sync-status]")).to_have_text("Waiting for the rate limit")
        # ...until the minute sweep resumes it; the open page follows without a reload.
        from shops import services

        sync = ShopSync.objects.get()
        assert services.syncs_resume_stale(now=sync.resume_at + dt.timedelta(seconds=1)) == 1
        expect(row.locator("[data-sync-status]")).to_have_text("Done")
        expect(row.locator("[data-sync-orders]")).to_have_text("3")
        expect(row).to_contain_text("3 new, 0 updated, 0 skipped")
        page.screenshot(path=str(screenshot_path("shop-connection.png")), full_page=True)

    # A customer of the shop writes on the web chat; a signed webhook brings their order.
    web = Inbox.objects.create(name="Shop chat", channel_kind=ChannelKind.WEBCHAT)
    agent = get_user_model().objects.create_user("ana", password="pw-ana-123")
    web.members.add(agent)
    result = inbox_services.receive_inbound(inbox=web, auto_reply=False, inbound=InboundMessage(
        provider_message_id="w-1", sender_address="visitor-1", text="Onde está meu pedido?", sender_name="Maria Silva",
        contact_email="maria.silva@example.com"))
    body = json.dumps(fixture_json("shopify", "orders__updated.json")).encode()
    digest = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    request = urllib.request.Request(f"{live_asgi_server}/webhooks/shop/shopify/{connection.public_id}/", data=body,
                                     method="POST", headers={"Content-Type": "application/json",
                                                             "X-Shopify-Topic": "orders/updated",
                                                             "X-Shopify-Hmac-Sha256": digest,
                                                             "X-Shopify-Event-Id": "browser-1"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 200

    agent_context = new_context(viewport={"width": 1280, "height": 900})
    login(agent_context, agent, base_url=live_asgi_server)
    agent_page = agent_context.new_page()
    agent_page.goto(f"{live_asgi_server}/conversations/{result.conversation.pk}/")
    shipping = agent_page.locator("[data-order-shipping]")
    expect(agent_page.locator("#contact-extra")).to_contain_text("#1001")
    expect(shipping).to_contain_text("Correios")
    expect(shipping.locator("a[data-tracking]")).to_have_attribute(
        "href", "https://rastreamento.correios.com.br/app/index.php?objeto=BR123456789BR")
    agent_page.locator("#contact-extra").screenshot(path=str(screenshot_path("shop-order-sidebar.png")))


def test_demo_shop_widget_answers_where_is_my_order(live_asgi_server, new_context):
    """What a new user sees after ``make run``: the demo shop's orders answer in the widget."""
    from django.core.management import call_command

    Inbox.objects.create(name="Website chat", channel_kind=ChannelKind.WEBCHAT, greeting="Olá!", default_language="pt")
    call_command("load_demo_answers", language="pt", verbosity=0)
    call_command("load_demo_shop", stdout=open("/dev/null", "w"))
    customer = new_context(locale="pt-BR", viewport={"width": 1200, "height": 900}).new_page()
    customer.goto(f"{live_asgi_server}/demo-shop/")
    expect(customer.locator("[data-demo-orders]")).to_contain_text("10241 ana.lima@example.com")
    customer.get_by_role("button", name="Abrir chat").click()
    box = customer.get_by_role("textbox", name="Escreva sua mensagem…")
    box.fill("cadê meu pedido?")
    box.press("Enter")
    host = customer.locator("#support-widget-host")
    expect(host.get_by_text("me envie o número do pedido e o e-mail usado na compra")).to_be_visible()
    box.fill("10241 ana.lima@example.com")
    box.press("Enter")
    expect(host.get_by_text("Pedido #10241: enviado.", exact=False)).to_be_visible()
    expect(host.get_by_text("https://tracking.example/JD0099887766", exact=False)).to_be_visible()
    customer.screenshot(path=str(screenshot_path("shop-order-widget.png")))
