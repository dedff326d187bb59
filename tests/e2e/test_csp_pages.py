"""Every HTML page is served with a Content-Security-Policy and works under it in Chromium: the
inbox (live websocket), the widget demo shop, the bot console, the reports, the admin and the
API docs. (Every other browser test fails on a CSP violation too: see tests/browser.py.)"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from bot import services as bot_services
from inbox.models import AgentConnection, ChannelKind, Inbox
from tests.browser import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LISTEN = """() => { window.__csp = []; document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI)); }"""


def open_page(context, url):
    page = context.new_page()
    page.add_init_script(f"({LISTEN})()")
    response = page.goto(url)
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy, policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    return page


def no_violations(page):
    page.wait_for_timeout(300)
    assert page.evaluate("window.__csp") == []


def test_pages_work_under_the_csp(live_asgi_server, new_context):
    inbox = Inbox.objects.create(name="Casa Verde", channel_kind=ChannelKind.WEBCHAT, default_language="en",
                                 greeting="Hi! Ask us anything.", widget_settings={"color": "#15803d"})
    bot_services.answer_create(title="Shipping", text="Shipping takes 3 days.", locale="en", inboxes=[inbox],
                               variants=["how long does shipping take"])
    admin = get_user_model().objects.create_user("root", password="x", is_staff=True, is_superuser=True)
    inbox.members.add(admin)
    context = new_context(locale="en-US")
    login(context, admin, base_url=live_asgi_server)

    shop = open_page(new_context(locale="en-US"), f"{live_asgi_server}/demo-shop/")
    shop.get_by_role("button", name="Open chat").click()
    expect(shop.get_by_text("Hi! Ask us anything.")).to_be_visible()
    box = shop.get_by_role("textbox", name="Type your message…")
    box.fill("how long does shipping take")
    box.press("Enter")
    expect(shop.locator("#support-widget-host [data-id]").filter(has_text="Shipping takes 3 days.")).to_have_count(1)
    no_violations(shop)

    inbox_page = open_page(context, f"{live_asgi_server}/")
    expect(inbox_page.locator("#conversation-list-wrap")).to_be_visible()
    for _ in range(100):  # the live websocket connects under connect-src 'self'
        if AgentConnection.objects.filter(user=admin).exists():
            break
        inbox_page.wait_for_timeout(100)
    assert AgentConnection.objects.filter(user=admin).exists()
    no_violations(inbox_page)

    console = open_page(context, f"{live_asgi_server}/bot/console/")
    console.get_by_label("Question").fill("how long does shipping take")
    console.get_by_role("button", name="Test").click()
    console.locator("#console-result:not([hidden])").wait_for()
    no_violations(console)

    reports = open_page(context, f"{live_asgi_server}/retention/reports/")
    expect(reports.locator("svg").first).to_be_visible()
    no_violations(reports)

    docs = open_page(context, f"{live_asgi_server}/api/docs/")
    expect(docs.locator(".swagger-ui .info .title").first).to_be_visible()
    no_violations(docs)

    admin_page = open_page(context, f"{live_asgi_server}/admin/inbox/inbox/{inbox.pk}/change/")
    expect(admin_page.locator("#inbox_form")).to_be_visible()
    no_violations(admin_page)
