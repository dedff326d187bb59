"""The chat widget end to end: a customer on the demo shop and an agent in the inbox, in two
browser contexts at once, against the real ASGI server (Daphne + Redis channel layer).

Run: python -m tests.servers --redis --sqlite-file -- python -m pytest tests/e2e/test_widget.py
"""

from __future__ import annotations

import time

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from inbox.models import AgentConnection, ChannelKind, Contact, Conversation, Inbox, Message
from tests.browser import login, screenshot_path

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENSHOT = screenshot_path("widget.png")
QUESTION = "How long does shipping take?"
ANSWER = "We ship within 2 business days; delivery takes 3 to 5 days."


def wait_until(condition, what: str, limit: float = 10.0):
    """Wait for a database condition the browser causes; ``limit`` is only an upper bound."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def bubbles(page, text: str):
    """Messages in the widget (inside its shadow root) with exactly this text."""
    return page.locator("#support-widget-host [data-id]").filter(has_text=text)


def test_customer_and_agent_chat_live(live_asgi_server, new_context):
    from bot import services as bot_services

    inbox = Inbox.objects.create(name="Casa Verde", channel_kind=ChannelKind.WEBCHAT, default_language="en",
                                 greeting="Hi! Ask us anything about plants and orders.",
                                 widget_settings={"color": "#15803d", "title": "Casa Verde support"})
    bot_services.answer_create(title="Shipping times", text=ANSWER, locale="en", inboxes=[inbox],
                               variants=["how long does shipping take", "when will my order arrive"])
    agent = get_user_model().objects.create_user(username="ana", password="x", first_name="Ana")
    inbox.members.add(agent)

    # The agent opens the inbox first, so she is online when the customer asks for a person.
    agent_context = new_context(locale="en-US")
    login(agent_context, agent, base_url=live_asgi_server)
    agent_page = agent_context.new_page()
    agent_page.goto(f"{live_asgi_server}/")
    wait_until(lambda: AgentConnection.objects.filter(user=agent).exists(), "the agent's websocket")

    customer_context = new_context(locale="en-US", viewport={"width": 1200, "height": 800})
    customer = customer_context.new_page()
    customer.goto(f"{live_asgi_server}/demo-shop/")
    customer.get_by_role("button", name="Open chat").click()
    box = customer.get_by_role("textbox", name="Type your message…")
    expect(box).to_be_focused()
    expect(customer.get_by_text("Hi! Ask us anything about plants and orders.")).to_be_visible()

    # The bot answers at once.
    box.fill(QUESTION)
    box.press("Enter")
    expect(bubbles(customer, ANSWER)).to_have_count(1)
    conversation_id = customer.evaluate("SupportWidget.status().conversationId")
    assert Conversation.objects.get(pk=conversation_id).status == "bot"

    # The customer asks for a person: Ana is online, so she gets it and the widget says so.
    customer.locator("#support-widget-host .qr").get_by_role("button", name="Talk to a person").click()
    expect(customer.get_by_text("Ana joined the conversation")).to_be_visible()
    conversation = Conversation.objects.get(pk=conversation_id)
    assert (conversation.status, conversation.assignee_id) == ("open", agent.pk)

    # It arrived live in the agent's list; she opens it and replies.
    row = agent_page.locator(f"#conv-{conversation_id}")
    expect(row).to_be_visible()
    expect(row).to_have_count(1)
    row.click()
    expect(agent_page.get_by_text(QUESTION).first).to_be_visible()
    agent_page.locator("#composer-text").fill("Hi, I'm Ana! Which order is it about?")
    agent_page.locator("#composer-send").click()
    expect(bubbles(customer, "Hi, I'm Ana! Which order is it about?")).to_have_count(1)
    expect(customer.locator("#support-widget-host .who").filter(has_text="Ana").first).to_be_visible()

    # The customer answers; the agent sees it without reloading.
    box.fill("Order 1042, the monstera")
    box.press("Enter")
    expect(agent_page.get_by_text("Order 1042, the monstera").first).to_be_visible()
    customer.screenshot(path=str(SCREENSHOT))

    # Reload: the whole history is still there, once.
    customer.reload()
    customer.get_by_role("button", name="Open chat").click()
    for text in (QUESTION, ANSWER, "Ana joined the conversation", "Hi, I'm Ana! Which order is it about?",
                 "Order 1042, the monstera"):
        expect(bubbles(customer, text)).to_have_count(1)
    assert customer.evaluate("SupportWidget.status().conversationId") == conversation_id

    # The connection drops. Meanwhile the agent replies and the customer writes: after the
    # reconnect nothing is lost and nothing is doubled.
    customer_context.set_offline(True)
    customer.evaluate("SupportWidget._dropConnection()")
    customer.wait_for_function("() => !SupportWidget.status().connected")  # a function: no eval under the CSP
    agent_page.locator("#composer-text").fill("Found it: it ships tomorrow.")
    agent_page.locator("#composer-send").click()
    expect(agent_page.get_by_text("Found it: it ships tomorrow.").first).to_be_visible()
    box = customer.get_by_role("textbox", name="Type your message…")
    box.fill("Great, thanks!")
    box.press("Enter")
    customer_context.set_offline(False)
    customer.wait_for_function("() => SupportWidget.status().connected && SupportWidget.status().pending === 0")
    expect(bubbles(customer, "Found it: it ships tomorrow.")).to_have_count(1)
    expect(bubbles(customer, "Great, thanks!")).to_have_count(1)
    expect(agent_page.get_by_text("Great, thanks!").first).to_be_visible()
    assert Message.objects.filter(conversation_id=conversation_id, text="Great, thanks!").count() == 1
    assert Message.objects.filter(conversation_id=conversation_id, text="Found it: it ships tomorrow.").count() == 1


def test_widget_is_isolated_from_the_shop_css(live_asgi_server, new_context):
    Inbox.objects.create(name="Casa Verde", channel_kind=ChannelKind.WEBCHAT, default_language="pt")
    page = new_context(locale="en-US").new_page()
    page.goto(f"{live_asgi_server}/demo-shop/")
    launcher = page.get_by_role("button", name="Abrir chat")  # texts follow the page's language (pt-BR shop)
    expect(launcher).to_be_visible()
    styles = launcher.evaluate("b => { const s = getComputedStyle(b); return [s.textTransform, s.borderStyle, s.fontFamily]; }")
    # The shop's global `button {}` and `* {}` rules (uppercase, dotted border, Georgia) do not reach it.
    assert styles[0] == "none" and styles[1] != "dotted" and "Georgia" not in styles[2]
    # And the widget's rules do not leak out: the shop's buttons keep their look.
    shop_button = page.get_by_role("button", name="Adicionar ao carrinho").first
    assert shop_button.evaluate("b => getComputedStyle(b).borderStyle") == "dotted"
    launcher.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(launcher).to_be_focused()


def test_offline_inbox_asks_for_an_email(live_asgi_server, new_context):
    inbox = Inbox.objects.create(name="Casa Verde", channel_kind=ChannelKind.WEBCHAT, default_language="en",
                                 out_of_hours_message="We are away until Monday 9:00.")
    from bot.models import BotSettings

    BotSettings.objects.create(inbox=inbox, enabled=False)
    page = new_context(locale="en-US").new_page()
    page.goto(f"{live_asgi_server}/demo-shop/")
    page.get_by_role("button", name="Open chat").click()
    expect(page.get_by_text("We are away until Monday 9:00.")).to_be_visible()
    page.get_by_role("textbox", name="Type your message…").fill("Can I return a pot?")
    page.get_by_role("textbox", name="Type your message…").press("Enter")
    expect(bubbles(page, "Can I return a pot?")).to_have_count(1)
    email = page.get_by_role("textbox", name="Your e-mail")
    email.fill("not-an-email")
    page.get_by_role("button", name="Save").click()
    expect(email).to_be_visible()  # the browser's own validation keeps the form
    email.fill("joana@example.com")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Thanks! We'll answer here and by e-mail.")).to_be_visible()
    conversation = wait_until(lambda: Conversation.objects.filter(inbox=inbox).first(), "the conversation")
    assert conversation.status == "pending"
    wait_until(lambda: Conversation.objects.get(pk=conversation.pk).contact.email == "joana@example.com",
               "the e-mail on the contact")


def test_pre_chat_form_phone_is_read_in_the_inbox_region(live_asgi_server, new_context):
    """A visitor in a Brazilian shop types her mobile the way Brazilians write it; the agent's
    contact gets the E.164 number, and the WhatsApp customer on that line shows as a possible
    duplicate (typed in a browser, so it is not merged by itself)."""
    from inbox import services

    Inbox.objects.create(name="Loja", channel_kind=ChannelKind.WEBCHAT, phone_region="BR", default_language="pt",
                         widget_settings={"pre_chat_form": True, "title": "Loja"})
    whatsapp_contact = services.contact_for_identity(channel_kind=ChannelKind.WHATSAPP, address="551187654321")
    page = new_context(locale="pt-BR").new_page()
    page.goto(f"{live_asgi_server}/demo-shop/")
    page.get_by_role("button", name="Abrir chat").click()  # a pt-BR shop: the widget speaks the page's language
    form = page.locator("#support-widget-host form").filter(has_text="Antes de começar")
    form.get_by_role("textbox", name="Seu e-mail").fill("maria@example.com")
    form.get_by_role("textbox", name="Seu telefone ou WhatsApp (opcional)").fill("(11) 98765-4321")
    form.get_by_role("button", name="Iniciar conversa").click()
    expect(page.get_by_role("textbox", name="Escreva sua mensagem…")).to_be_visible()
    visitor = wait_until(lambda: Contact.objects.filter(identities__channel_kind="webchat", phone__gt="").first(),
                         "the visitor's phone")
    assert visitor.phone == "+5511987654321" and visitor.email == "maria@example.com"
    from inbox.selectors import duplicate_suggestions

    assert [c for c, _reason in duplicate_suggestions(contact=whatsapp_contact)] == [visitor]
