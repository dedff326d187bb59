"""The contact panel and the reports page in real Chromium, against the live ASGI server.

Run:
    .venv/bin/python -m tests.servers --redis --sqlite-file -- .venv/bin/python -m pytest tests/e2e/test_retention_pages.py -q
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from channels_adapters.base import InboundMessage
from inbox import services as inbox_services
from inbox.models import Inbox
from retention import services
from tests.browser import login, screenshot_path

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = screenshot_path("sidebar.png").parent


@pytest.fixture
def shop_data(settings):
    settings.CHANNEL_ADAPTERS = {kind: "channels_adapters.locmem.LocmemAdapter"
                                 for kind in ("webchat", "whatsapp", "messenger", "email")}
    agent = get_user_model().objects.create_user("maria", password="pw-maria-123", first_name="Maria")
    web = Inbox.objects.create(name="Shop chat", channel_kind="webchat")
    wa = Inbox.objects.create(name="WhatsApp", channel_kind="whatsapp")
    contacts = []
    for index, (inbox, name) in enumerate([(web, "Ana Souza"), (wa, "Bruno Lima"), (web, "Carla Dias")]):
        inbox.members.add(agent)
        services.inbox_settings_update(inbox=inbox, survey_enabled=True, survey_delay_minutes=0,
                                       quiet_start=dt.time(0), quiet_end=dt.time(0))
        result = inbox_services.receive_inbound(inbox=inbox, auto_reply=False, inbound=InboundMessage(
            provider_message_id=f"b-{index}", sender_address=f"addr-{index}", text="Where is my order?",
            sender_name=name))
        inbox_services.send_reply(conversation=result.conversation, text="Checking now!", author=agent)
        conversation = inbox_services.resolve(conversation=result.conversation, actor=agent)
        survey = services.survey_schedule(conversation=conversation)
        survey = services.survey_send(survey=survey, now=timezone.now() + dt.timedelta(seconds=1))
        services.survey_answer(survey=survey, rating=5 - index, comment="Quick and kind!" if index == 0 else "",
                               source="quick_reply")
        contacts.append(result.conversation.contact)
    now = timezone.now()
    ana = contacts[0]
    inbox_services.contact_update(contact=ana, email="ana@example.com")
    for ref, days_ago, total, status in (("#1001", 120, "89.90", "delivered"), ("#1042", 40, "149.00", "delivered"),
                                         ("#1077", 3, "59.50", "shipped")):
        services.order_upsert(external_id=ref, contact=ana, ordered_at=now - dt.timedelta(days=days_ago),
                              total=Decimal(total), currency="BRL", status=status,
                              items=[{"sku": "TEE", "qty": 1}])
    services.order_upsert(external_id="#1080", contact=contacts[1], ordered_at=now - dt.timedelta(days=1),
                          total=Decimal("35.00"), currency="BRL", status="paid")
    return {"agent": agent, "ana": ana}


def test_sidebar_panel_and_reports(live_asgi_server, new_context, shop_data):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = new_context(viewport={"width": 360, "height": 640})
    login(context, shop_data["agent"], base_url=live_asgi_server)
    page = context.new_page()

    page.goto(f"{live_asgi_server}/retention/contacts/{shop_data['ana'].pk}/panel/")
    panel = page.locator(".retention-panel")
    expect(panel.locator('[data-metric="orders"]')).to_have_text("3")
    expect(panel.locator('[data-metric="total-BRL"]')).to_have_text("R$298.40")
    expect(panel.locator('[data-metric="aov-BRL"]')).to_have_text("R$99.47")
    expect(panel.get_by_text("Returning customer")).to_be_visible()
    expect(panel.locator('[data-order="#1077"]')).to_contain_text("Shipped")
    expect(panel.get_by_text("Quick and kind!")).to_be_visible()
    panel.screenshot(path=str(SCREENSHOTS / "sidebar.png"))

    wide = new_context(viewport={"width": 1280, "height": 1000})
    login(wide, shop_data["agent"], base_url=live_asgi_server)
    reports = wide.new_page()
    reports.goto(f"{live_asgi_server}/retention/reports/")
    expect(reports.locator("#report-conversations svg rect").first).to_be_attached()
    expect(reports.locator("#report-satisfaction")).to_contain_text("answered: 3")
    expect(reports.locator("#report-agent_load")).to_contain_text("Maria")
    with reports.expect_download() as download:
        reports.locator("#report-agent_load a.rr-csv").click()
    assert download.value.suggested_filename.startswith("agent_load_")
    assert Path(download.value.path()).read_text().splitlines()[1].startswith("Maria,3,3,3,")
    reports.screenshot(path=str(SCREENSHOTS / "reports.png"), full_page=True)

    anonymous = new_context().new_page()
    response = anonymous.goto(f"{live_asgi_server}/retention/contacts/{shop_data['ana'].pk}/panel/")
    assert response.status == 403
