"""A reply that fails to send: each agent reads why in their own language, live and after a
reload, with the channel's own (English) text on hover. Real Chromium, real ASGI server.

Run:
    .venv/bin/python -m tests.servers --redis --sqlite-file -- .venv/bin/python -m pytest tests/e2e/test_delivery_error_live.py -q
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from channels_adapters.base import InboundMessage
from inbox import services
from inbox.models import AgentProfile, Conversation, Inbox
from tests.browser import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RAW = "The text is 2,345 characters; Messenger allows at most 2,000. Shorten it or send it in parts."
READS = {"pt-BR": "Não entregue: O texto é mais longo do que este canal permite; encurte-o",
         "es": "No entregado: El texto es más largo de lo que permite este canal; acórtalo"}


@pytest.fixture(autouse=True)
def inline_tasks(settings):
    from huey.contrib.djhuey import HUEY

    settings.CHANNEL_ADAPTERS = {"messenger": "channels_adapters.locmem.LocmemAdapter"}
    previous = HUEY.immediate
    HUEY.immediate = True
    yield
    HUEY.immediate = previous


def agent(username: str, language: str, inbox: Inbox):
    user = get_user_model().objects.create_user(username, password=f"pw-{username}-123", first_name=username.title())
    AgentProfile.objects.create(user=user, display_name=username.title(), language=language)
    inbox.members.add(user)
    return user


def test_failed_send_reads_in_each_agents_language(live_asgi_server, new_context):
    inbox = Inbox.objects.create(name="Messenger", channel_kind="messenger", auto_assign=False)
    agents = {"pt-BR": agent("ana", "pt-br", inbox), "es": agent("lucia", "es", inbox)}
    result = services.receive_inbound(inbox=inbox, auto_reply=False, inbound=InboundMessage(
        provider_message_id="mid.1", sender_address="psid-1", sender_name="Maria", text="Oi"))
    conversation = services.hand_off(conversation=result.conversation, reason=Conversation.HandoffReason.ASKED_FOR_HUMAN)
    pages = {}
    for language, user in agents.items():
        context = new_context(viewport={"width": 1280, "height": 900}, locale=language)
        login(context, user, base_url=live_asgi_server)
        page = context.new_page()
        page.goto(f"{live_asgi_server}/conversations/{conversation.pk}/")
        expect(page.locator("#inbox")).to_have_attribute("data-live", "connected")
        pages[language] = page

    reply = services.send_reply(conversation=conversation, text="x" * 50, author=agents["pt-BR"])
    services.record_send_failure(message=reply, error=RAW, code="text_too_long")
    for language, page in pages.items():
        error = page.locator(f'#history [data-message-id="{reply.pk}"] [data-role="error-text"]')
        expect(error).to_have_text(f"⚠ {READS[language]}")
        expect(error).to_have_attribute("title", RAW)
        page.reload()
        error = page.locator(f'#history [data-message-id="{reply.pk}"] [data-role="error-text"]')
        expect(error).to_have_text(f"⚠ {READS[language]}")
        expect(error).to_have_attribute("title", RAW)
