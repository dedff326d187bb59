"""Instagram Direct end to end in a real browser: a signed webhook posted to the live server
(Daphne in a subprocess) puts a customer's Instagram message on an agent's open inbox page;
the agent's reply from the composer reaches the fake Graph API as an Instagram Send API call;
Instagram's "seen" event moves the tick on the page. All without a reload.

Run: .venv/bin/python -m tests.servers --redis --sqlite-file -- \
     .venv/bin/python -m pytest tests/e2e/test_instagram_live.py -q
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import urllib.error
import urllib.request
import uuid

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from bot import services as bot_services
from inbox.models import Conversation, Inbox, Message, WebhookEvent
from tests.browser import BROWSER_TIMEOUT_MS, login
from tests.fakes.graph_api import FakeGraphAPI

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ACCOUNT = "17841400000000001"  # the account FakeGraphAPI's /me answers for
APP_SECRET = "e2e-instagram-secret"
CUSTOMER = "7300000000000042"


@pytest.fixture
def fake_graph():
    with FakeGraphAPI() as graph:
        yield graph


@pytest.fixture
def instagram_inbox(fake_graph) -> Inbox:
    inbox = Inbox.objects.create(name="Instagram · @acme.store", channel_kind="instagram", channel_config={
        "instagram_account_id": ACCOUNT, "access_token": "e2e-ig-token", "app_secret": APP_SECRET,
        # Merged over settings by the registry, so the server subprocess talks to this fake.
        "graph_api_base": fake_graph.base_url,
    })
    bot_services.settings_update(inbox=inbox, enabled=False)
    return inbox


def envelope(event: dict) -> dict:
    return {"object": "instagram", "entry": [{"id": ACCOUNT, "time": int(time.time() * 1000), "messaging": [{
        "sender": {"id": CUSTOMER}, "recipient": {"id": ACCOUNT}, "timestamp": int(time.time() * 1000), **event}]}]}


def text_message(text: str) -> dict:
    return envelope({"message": {"mid": f"aWdf{uuid.uuid4().hex}", "text": text}})


def post_webhook(server: str, inbox: Inbox, payload: dict, *, secret: str = APP_SECRET) -> tuple[int, dict]:
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(
        f"{server}/webhooks/instagram/{inbox.public_id}/", data=body, method="POST",
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature})
    try:
        with urllib.request.urlopen(request, timeout=BROWSER_TIMEOUT_MS / 1000) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def wait_for_requests(fake: FakeGraphAPI, predicate, *, timeout: float = BROWSER_TIMEOUT_MS / 1000) -> list:
    deadline = time.monotonic() + timeout
    while True:
        found = [r for r in list(fake.requests) if predicate(r)]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def is_text_send(request) -> bool:
    return (request.method == "POST" and request.path == "/me/messages" and isinstance(request.json, dict)
            and "text" in (request.json.get("message") or {}))


def test_instagram_webhook_to_agent_page_and_reply_to_graph_api(live_asgi_server, new_context, instagram_inbox,
                                                                fake_graph):
    server, inbox = live_asgi_server, instagram_inbox
    fake_graph.add_instagram_profile(CUSTOMER, "Júlia Prado", "ju.prado")
    agent = get_user_model().objects.create_user(username="ana", first_name="Ana", last_name="Lima")
    inbox.members.add(agent)

    context = new_context(viewport={"width": 1440, "height": 900})
    login(context, agent, base_url=server)
    page = context.new_page()
    page.goto(f"{server}/")
    expect(page.locator("#inbox")).to_have_attribute("data-live", "connected")
    page.evaluate("window.__sameDocument = true")

    forged_code, forged_answer = post_webhook(server, inbox, text_message("Forged"), secret="another-secret")
    assert forged_code == 403, forged_answer
    assert WebhookEvent.objects.get(inbox=inbox).status == WebhookEvent.Status.REJECTED

    code, answer = post_webhook(server, inbox, text_message("Oi! Esse tênis tem no 38?"))
    assert code == 200, answer
    conversation = Conversation.objects.get(inbox=inbox)
    row = page.locator("#conversation-list").locator(f"#conv-{conversation.pk}")
    expect(row.locator(".conv-preview")).to_contain_text("Esse tênis tem no 38?")
    expect(row).to_have_count(1)
    assert page.evaluate("window.__sameDocument") is True

    row.click()
    expect(page).to_have_url(re.compile(rf"/conversations/{conversation.pk}/"))
    expect(page.locator("#inbox")).to_have_attribute("data-live", "connected")
    page.evaluate("window.__sameDocument = true")
    history = page.locator("#history")
    expect(history.locator(".msg-in .msg-text")).to_have_text(["Oi! Esse tênis tem no 38?"])
    reply_text = "Oi Júlia! Temos sim, no 38 e no 39."
    page.locator("#composer-text").fill(reply_text)
    page.locator("#composer-text").press("Enter")

    sends = wait_for_requests(fake_graph, is_text_send)
    assert len(sends) == 1, [r.to_json() for r in fake_graph.requests]
    assert sends[0].json == {"recipient": {"id": CUSTOMER}, "messaging_type": "RESPONSE",
                             "message": {"text": reply_text}}
    assert sends[0].headers.get("authorization") == "Bearer e2e-ig-token"

    outgoing = history.locator(".msg-out").last
    expect(outgoing.locator(".msg-text")).to_have_text(reply_text)
    expect(outgoing).to_have_attribute("data-delivery", "sent")
    reply = Message.objects.get(conversation=conversation, author=agent)
    assert reply.provider_message_id.startswith("m_")

    # Instagram's messaging_seen: the customer saw the reply; the tick moves on the open page.
    seen = envelope({"read": {"mid": reply.provider_message_id}})
    seen["entry"][0]["messaging"][0]["timestamp"] = int(time.time() * 1000) + 2000
    code, answer = post_webhook(server, inbox, seen)
    assert code == 200, answer
    expect(outgoing).to_have_attribute("data-delivery", "read")
    expect(outgoing.locator("[data-role=ticks]")).to_have_class(re.compile(r"\btick-read\b"))
    assert page.evaluate("window.__sameDocument") is True
    assert len([r for r in fake_graph.requests if is_text_send(r)]) == 1
