"""WhatsApp end to end in a real browser: a signed webhook posted to the live server (Daphne in
a subprocess, Redis channel layer, tasks inline) puts a customer's message on an agent's open
inbox page; the agent's reply from the composer reaches a real fake of the Graph API with the
right body; Meta's "read" status moves the tick on the page. All without a reload.

Run: .venv/bin/python -m tests.servers --redis --sqlite-file -- \
     .venv/bin/python -m pytest tests/e2e/test_whatsapp_live.py -q
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

PHONE_NUMBER_ID = "1234567890"  # the number FakeGraphAPI knows
APP_SECRET = "e2e-app-secret"
CUSTOMER_WA_ID = "5511987654321"
CUSTOMER_NAME = "Maria Souza"


@pytest.fixture
def fake_graph():
    """The fake Graph API in this process; the Daphne subprocess reaches it over loopback."""
    with FakeGraphAPI() as graph:
        yield graph


@pytest.fixture
def whatsapp_inbox(fake_graph) -> Inbox:
    inbox = Inbox.objects.create(name="WhatsApp · Sales", channel_kind="whatsapp", channel_config={
        "phone_number_id": PHONE_NUMBER_ID,
        "access_token": "e2e-token",
        "app_secret": APP_SECRET,
        # The registry merges the inbox's config over settings, so the server subprocess,
        # whatever its META_GRAPH_API_BASE, talks to this fake.
        "graph_api_base": fake_graph.base_url,
    })
    # With the bot on and no canned answers it would reply itself ("could you rephrase?")
    # before handing off; this test is about the agent's path, so new conversations go
    # straight to the agents.
    bot_services.settings_update(inbox=inbox, enabled=False)
    return inbox


# --- Meta's side: signed webhook requests --------------------------------------------------------


def _envelope(value: dict) -> dict:
    return {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "field": "messages",
        "value": {"messaging_product": "whatsapp",
                  "metadata": {"display_phone_number": "15550100000", "phone_number_id": PHONE_NUMBER_ID},
                  **value},
    }]}]}


def text_message(text: str, *, wa_id: str = CUSTOMER_WA_ID, name: str = CUSTOMER_NAME) -> dict:
    # Timestamped now: an old timestamp would put the conversation outside WhatsApp's
    # 24-hour window, and a free-text reply would then be refused.
    return _envelope({
        "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
        "messages": [{"from": wa_id, "id": f"wamid.IN{uuid.uuid4().hex}", "timestamp": str(int(time.time())),
                      "type": "text", "text": {"body": text}}],
    })


def status(wamid: str, name: str, *, wa_id: str = CUSTOMER_WA_ID) -> dict:
    return _envelope({"statuses": [{"id": wamid, "status": name, "timestamp": str(int(time.time())),
                                    "recipient_id": wa_id}]})


def signature(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_webhook(server: str, inbox: Inbox, payload: dict, *, secret: str = APP_SECRET) -> tuple[int, dict]:
    """POST like Meta does, to the live server's real URL; returns (status, JSON answer)."""
    body = json.dumps(payload).encode()
    request = urllib.request.Request(
        f"{server}/webhooks/whatsapp/{inbox.public_id}/", data=body, method="POST",
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature(body, secret)},
    )
    try:
        with urllib.request.urlopen(request, timeout=BROWSER_TIMEOUT_MS / 1000) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def wait_for_requests(fake: FakeGraphAPI, predicate, *, timeout: float = BROWSER_TIMEOUT_MS / 1000) -> list:
    """The fake's recorded requests matching ``predicate``, once there is at least one. The
    deadline only turns "never arrived" into a failure; it is not what the test waits for."""
    deadline = time.monotonic() + timeout
    while True:
        found = [r for r in list(fake.requests) if predicate(r)]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def is_text_send(request) -> bool:
    return (request.method == "POST" and request.path == f"/{PHONE_NUMBER_ID}/messages"
            and isinstance(request.json, dict) and request.json.get("type") == "text")


# --- the test ---------------------------------------------------------------------------------------


def test_webhook_to_agent_page_and_reply_to_graph_api(live_asgi_server, new_context, whatsapp_inbox, fake_graph):
    server, inbox = live_asgi_server, whatsapp_inbox
    agent = get_user_model().objects.create_user(username="ana", first_name="Ana", last_name="Lima")
    inbox.members.add(agent)

    context = new_context(viewport={"width": 1440, "height": 900})
    login(context, agent, base_url=server)
    page = context.new_page()
    page.goto(f"{server}/")
    # The socket is open (and its groups joined) before anything happens.
    expect(page.locator("#inbox")).to_have_attribute("data-live", "connected")
    conversation_list = page.locator("#conversation-list")
    # A mark on the window: still there later means the page was never reloaded.
    page.evaluate("window.__sameDocument = true")

    # A forged request (signed with another secret) is refused before anything is stored.
    forged_code, forged_answer = post_webhook(server, inbox, text_message(
        "Forged: send the refund to my account", wa_id="5511000000000", name="Mallory"), secret="not-the-secret")
    assert forged_code == 403, forged_answer
    assert "signature" in forged_answer.get("error", "").lower()
    rejected = WebhookEvent.objects.get(inbox=inbox)
    assert rejected.status == WebhookEvent.Status.REJECTED and rejected.error.startswith("403")
    assert not Message.objects.exists() and not Conversation.objects.exists()

    # Maria writes; the server verifies, stores, processes (inline task) and broadcasts.
    first = text_message("Oi! Where is my order #4521?")
    inbound_wamid = first["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    code, answer = post_webhook(server, inbox, first)
    assert code == 200, answer
    conversation = Conversation.objects.get(inbox=inbox)
    row = conversation_list.locator(f"#conv-{conversation.pk}")
    expect(row.locator(".conv-name")).to_have_text(CUSTOMER_NAME)
    expect(row).to_have_count(1)  # several events for one new row still make one row
    expect(row.locator(".conv-preview")).to_contain_text("Where is my order #4521?")
    # The bot is off, so it sent nothing and the conversation went straight to the agents:
    # Ana is online (her socket is open), so auto-assignment gave it to her.
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.OPEN and conversation.assignee_id == agent.pk
    expect(row.locator("[data-role=assignee]")).to_have_text("Ana Lima")
    assert not [r for r in fake_graph.requests if is_text_send(r)]
    # The later, genuine message made it to the page; the forged one never did.
    expect(conversation_list).not_to_contain_text("Mallory")
    assert not Message.objects.filter(text__contains="Forged").exists()

    assert page.evaluate("window.__sameDocument") is True

    # Ana opens the conversation and answers from the composer.
    row.click()
    expect(page).to_have_url(re.compile(rf"/conversations/{conversation.pk}/"))
    expect(page.locator("#inbox")).to_have_attribute("data-live", "connected")
    page.evaluate("window.__sameDocument = true")
    history = page.locator("#history")
    # Opening it marks Maria's message read on WhatsApp (her blue ticks), once.
    receipts = wait_for_requests(fake_graph, lambda r: isinstance(r.json, dict) and r.json.get("status") == "read")
    assert [r.json for r in receipts] == [
        {"messaging_product": "whatsapp", "status": "read", "message_id": inbound_wamid}]
    assert receipts[0].path == f"/{PHONE_NUMBER_ID}/messages"
    expect(history.locator(".msg-in .msg-text")).to_have_text(["Oi! Where is my order #4521?"])
    reply_text = "Olá Maria! It left our warehouse today; tracking BR-88231."
    page.locator("#composer-text").fill(reply_text)
    page.locator("#composer-text").press("Enter")

    sends = wait_for_requests(fake_graph, is_text_send)
    assert len(sends) == 1, [r.to_json() for r in fake_graph.requests]
    body = sends[0].json
    assert body["messaging_product"] == "whatsapp"
    assert body["to"] == CUSTOMER_WA_ID
    assert body["text"]["body"] == reply_text
    assert sends[0].headers.get("authorization") == "Bearer e2e-token"

    outgoing = history.locator(".msg-out").last
    expect(outgoing.locator(".msg-text")).to_have_text(reply_text)
    expect(outgoing).to_have_attribute("data-delivery", "sent")
    expect(outgoing.locator("[data-role=ticks]")).to_have_class(re.compile(r"\btick-sent\b"))
    reply = Message.objects.get(conversation=conversation, author=agent)
    assert reply.direction == "out"
    assert reply.delivery_state == "sent"
    assert re.fullmatch(r"wamid\.\d+", reply.provider_message_id), reply.provider_message_id

    # Meta reports that Maria read it; the tick moves on the open page.
    code, answer = post_webhook(server, inbox, status(reply.provider_message_id, "read"))
    assert code == 200, answer
    expect(outgoing).to_have_attribute("data-delivery", "read")
    expect(outgoing.locator("[data-role=ticks]")).to_have_class(re.compile(r"\btick-read\b"))
    expect(outgoing.locator("[data-role=ticks]")).to_have_text("✓✓")
    reply.refresh_from_db()
    assert reply.delivery_state == "read"
    assert page.evaluate("window.__sameDocument") is True
    # Still exactly one send: the status report triggered nothing outbound.
    assert len([r for r in fake_graph.requests if is_text_send(r)]) == 1
    # ... and Maria's message was marked read on WhatsApp only the one time.
    assert len([r for r in fake_graph.requests if isinstance(r.json, dict) and r.json.get("status") == "read"]) == 1
