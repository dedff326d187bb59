"""The bot's pages in real Chromium against the live ASGI server: the test console, and the
"/" quick replies in the agent's composer (on the inbox's conversation page, and on a bare page
that only imports the module, to show it works on any page with such a textarea)."""

from __future__ import annotations

import pytest

from bot import services as bot_services
from bot.management.commands.load_demo_answers import DEMO_ANSWERS
from channels_adapters.base import InboundMessage
from inbox import services
from inbox.models import Inbox
from tests.browser import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_answers():
    for locale, title, tags, text, variants in DEMO_ANSWERS:
        bot_services.answer_create(title=title, text=text, locale=locale, tags=tags, variants=variants)


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user("admin", password="x", is_staff=True, is_superuser=True,
                                                 first_name="Ana")


@pytest.fixture
def conversation(settings):
    settings.CHANNEL_ADAPTERS = {"webchat": "channels_adapters.locmem.LocmemAdapter"}
    inbox = Inbox.objects.create(name="Shop chat", channel_kind="webchat")
    bot_services.settings_update(inbox=inbox, enabled=False)
    return services.receive_inbound(inbox=inbox, inbound=InboundMessage(
        provider_message_id="m1", sender_address="v1", text="where is my order?",
        sender_name="John Smith")).conversation


def test_console_shows_ranked_candidates_and_the_decision(live_asgi_server, browser_context, staff_user,
                                                          demo_answers):
    login(browser_context, staff_user, base_url=live_asgi_server)
    page = browser_context.new_page()
    page.goto(f"{live_asgi_server}/bot/console/")
    page.get_by_label("Question").fill("não recebi meu pedido")
    page.get_by_role("button", name="Test").click()
    page.locator("#console-result:not([hidden])").wait_for()
    assert page.locator("#console-action").text_content() == "Answered"  # the decision as a person reads it (JS catalog)
    assert page.locator("#console-reason").text_content() == "(confident)"
    titles = page.locator("#console-candidates .candidate-title").all_text_contents()
    assert titles[0] == "Rastrear meu pedido" and len(titles) == 5
    confidences = [float(c) for c in page.locator("#console-candidates .candidate-confidence").all_text_contents()]
    assert confidences == sorted(confidences, reverse=True) and confidences[0] >= 0.74

    page.get_by_label("Question").fill("quero falar com um atendente")
    page.get_by_role("button", name="Test").click()
    page.locator("#console-action", has_text="Handed off").wait_for()
    assert page.locator("#console-reason").text_content() == "(the customer asked for a person)"


def _pick_track(page):
    composer = page.locator("textarea[data-quick-replies-url]")
    composer.click()
    composer.press_sequentially("Hello! /track")
    options = page.get_by_role("listbox", name="Quick replies").get_by_role("option")
    options.filter(has_text="Track my order").wait_for()
    # Arrow keys move the choice; Enter takes it instead of sending the reply.
    composer.press("ArrowDown")
    assert options.nth(1 % options.count()).get_attribute("aria-selected") == "true"
    composer.press("ArrowUp")
    assert options.first.get_attribute("aria-selected") == "true"
    assert options.first.text_content().startswith("Track my order")
    composer.press("Enter")
    return composer


def test_quick_replies_on_a_bare_page_with_the_textarea(live_asgi_server, browser_context, staff_user,
                                                        conversation, demo_answers):
    login(browser_context, staff_user, base_url=live_asgi_server)
    page = browser_context.new_page()
    html = (f'<!doctype html><html><head><title>composer</title></head><body>'
            f'<textarea data-quick-replies-url="/bot/api/quick-replies/" '
            f'data-conversation-id="{conversation.pk}" aria-label="Message"></textarea>'
            f'<script type="module" src="/static/bot/quick_replies.js"></script></body></html>')
    # Served from the live server's origin, so the session cookie and the real API apply.
    page.route(f"{live_asgi_server}/bare-composer/", lambda route: route.fulfill(body=html, content_type="text/html"))
    page.goto(f"{live_asgi_server}/bare-composer/")
    composer = _pick_track(page)
    assert composer.input_value().startswith("Hello! Hi John! You can track your order under My account")
    assert page.locator(".qr-popup").is_hidden()

    # Escape closes without inserting anything.
    composer.press_sequentially(" /cupom")
    page.get_by_role("listbox", name="Quick replies").get_by_role("option").first.wait_for()
    composer.press("Escape")
    assert page.locator(".qr-popup").is_hidden()
    assert composer.input_value().endswith(" /cupom")


def test_quick_replies_in_the_agent_composer(live_asgi_server, browser_context, staff_user, conversation,
                                             demo_answers):
    conversation.inbox.members.add(staff_user)
    login(browser_context, staff_user, base_url=live_asgi_server)
    page = browser_context.new_page()
    page.goto(f"{live_asgi_server}/conversations/{conversation.pk}/")
    composer = _pick_track(page)
    assert composer.input_value().startswith("Hello! Hi John! You can track your order under My account")
    # Enter chose the answer: nothing was sent yet.
    assert not conversation.messages.filter(sender_kind="agent").exists()
