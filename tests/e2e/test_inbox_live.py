"""The agent inbox end to end: two agents in two browser contexts against the real ASGI server
(Daphne + Redis channel layer); what one does appears on the other's page without a reload.

Run: python -m tests.servers --redis --sqlite-file -- python -m pytest tests/e2e/test_inbox_live.py
"""

from __future__ import annotations

import itertools

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from channels_adapters.base import InboundMessage, StatusUpdate
from inbox import services
from inbox.models import Conversation, Inbox
from tests.browser import login, screenshot_path

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENSHOT = screenshot_path("inbox.png")
_ids = itertools.count(1)


@pytest.fixture(autouse=True)
def inline_tasks_and_locmem(settings):
    """Sends made by this process (the demo data) go to the locmem adapter, inline."""
    from huey.contrib.djhuey import HUEY

    settings.CHANNEL_ADAPTERS = {kind: "channels_adapters.locmem.LocmemAdapter"
                                 for kind in ("webchat", "email", "messenger", "whatsapp")}
    previous = HUEY.immediate
    HUEY.immediate = True
    yield
    HUEY.immediate = previous


def agent(username: str, first: str, last: str, *inboxes: Inbox):
    user = get_user_model().objects.create_user(username=username, first_name=first, last_name=last)
    for inbox in inboxes:
        inbox.members.add(user)
    return user


def inbound(inbox: Inbox, text: str, *, sender: str, name: str, **extra):
    message = InboundMessage(provider_message_id=f"live-{next(_ids)}", sender_address=sender, text=text,
                             sender_name=name, **extra)
    return services.receive_inbound(inbox=inbox, inbound=message, auto_reply=False)


def open_page(new_context, user, url: str, server: str):
    context = new_context(viewport={"width": 1440, "height": 900})
    login(context, user, base_url=server)
    page = context.new_page()
    page.goto(f"{server}{url}")
    # The socket is open (and its groups joined) before the test makes anything happen.
    expect(page.locator("#inbox")).to_have_attribute("data-live", "connected")
    return page


def test_messages_and_replies_appear_live(live_asgi_server, new_context):
    inbox = Inbox.objects.create(name="Website chat", channel_kind="webchat")
    ana = agent("ana", "Ana", "Lima", inbox)
    bruno = agent("bruno", "Bruno", "Costa", inbox)
    conversation = inbound(inbox, "Hi, where is my order?", sender="visitor-1", name="Maria Souza").conversation
    url = f"/conversations/{conversation.pk}/"
    page_a = open_page(new_context, ana, url, live_asgi_server)
    page_b = open_page(new_context, bruno, url, live_asgi_server)
    history_a = page_a.locator("#history")
    expect(history_a).to_contain_text("Hi, where is my order?")

    # A customer message arrives through the services in this process; the event travels
    # through Redis to the server and over the websocket to Ana's page.
    inbound(inbox, "It is order #4521 <script>window.hacked=1</script>", sender="visitor-1", name="Maria Souza")
    expect(history_a.locator(".msg-in .msg-text").last).to_have_text(
        "It is order #4521 <script>window.hacked=1</script>")
    assert page_a.evaluate("window.hacked") is None  # shown as text, never run
    # Bruno's list row updated too (preview of the new message).
    expect(page_b.locator(f"#conv-{conversation.pk} .conv-preview")).to_contain_text("It is order #4521")

    # Bruno replies from his page; Ana sees it without a reload, and sees who now owns it.
    page_b.locator("#composer-text").fill("Hi Maria, it ships today.")
    page_b.locator("#composer-text").press("Enter")
    expect(history_a.locator(".msg-out .msg-text").last).to_have_text("Hi Maria, it ships today.")
    expect(page_a.locator("#conv-assignee")).to_have_text("Bruno Costa")
    expect(page_b.locator("#composer-text")).to_have_value("")

    # Ana resolves; Bruno's header follows.
    page_a.locator("#resolve-button").click()
    expect(page_b.locator("#conv-status")).to_have_text("Resolved")
    assert Conversation.objects.get(pk=conversation.pk).status == "resolved"


def test_the_same_customer_on_another_channel_shows_in_the_open_history(live_asgi_server, new_context):
    web = Inbox.objects.create(name="Website chat", channel_kind="webchat")
    mail = Inbox.objects.create(name="support@shop", channel_kind="email")
    ana = agent("ana", "Ana", "Lima", web, mail)
    chat = inbound(web, "Hi, my parcel is late", sender="visitor-9", name="Maria Souza").conversation
    services.contact_add_identity(contact=chat.contact, channel_kind="email", address="maria@example.com")
    page = open_page(new_context, ana, f"/conversations/{chat.pk}/", live_asgi_server)
    inbound(mail, "Sending the invoice by mail as asked", sender="maria@example.com", name="Maria Souza")
    expect(page.locator("#history")).to_contain_text("Sending the invoice by mail as asked")
    expect(page.locator("#history .history-sep")).to_have_count(2)  # both channels, one history


def test_screenshot_of_the_inbox(live_asgi_server, new_context):
    """Realistic demo data, for the README."""
    web = Inbox.objects.create(name="Website chat", channel_kind="webchat")
    wa = Inbox.objects.create(name="WhatsApp · Sales", channel_kind="whatsapp")
    fb = Inbox.objects.create(name="Facebook page", channel_kind="messenger")
    mail = Inbox.objects.create(name="support@lojaverde.com", channel_kind="email")
    ana = agent("ana", "Ana", "Lima", web, wa, fb, mail)
    bruno = agent("bruno", "Bruno", "Costa", web, wa, fb, mail)
    agent("carla", "Carla", "Mendes", web, wa, fb, mail)

    kenji = inbound(fb, "Do you have the green backpack in stock?", sender="psid-77", name="Kenji Tanaka").conversation
    services.send_reply(conversation=kenji, text="Yes! The 25 L model is back in stock.", author=bruno)
    services.resolve(conversation=kenji, actor=bruno)

    john = inbound(mail, "Hello,\n\nI was charged twice for order #1182. Could you refund one of the charges?\n\nThanks,\nJohn",
                   sender="john.smith@example.com", name="John Smith", metadata={"subject": "Double charge on #1182"}).conversation
    services.assign(conversation=john, agent=ana, actor=ana)
    services.set_labels(conversation=john, labels=["billing"])
    services.set_priority(conversation=john, priority=3)

    lea = inbound(web, "Bonjour! Do you ship to France?", sender="visitor-9", name="Léa Dubois").conversation
    services.send_reply(conversation=lea, text="We do: 5–7 business days, free over €60.", author=bruno)
    inbound(web, "Perfect, thank you!", sender="visitor-9", name="Léa Dubois")

    omar = inbound(web, "Can I change the size after ordering?", sender="visitor-12", name="Omar Haddad").conversation
    services.hand_off(conversation=omar, reason=Conversation.HandoffReason.LOW_CONFIDENCE)

    # Maria wrote on the website chat before; now on WhatsApp (same e-mail: one contact).
    first = inbound(web, "Hi! Is the linen shirt true to size?", sender="visitor-3", name="Maria Souza",
                    contact_email="maria.souza@example.com").conversation
    services.send_reply(conversation=first, text="It runs slightly large; most customers take one size down.",
                        author=ana)
    services.resolve(conversation=first, actor=ana)
    maria = inbound(wa, "Oi! My order #4521 says delivered but I didn't get it", sender="5511999990000",
                    name="Maria Souza", contact_email="maria.souza@example.com").conversation
    services.merge_contacts(primary=first.contact, duplicate=Conversation.objects.get(pk=maria.pk).contact)
    maria = Conversation.objects.get(pk=maria.pk)
    services.hand_off(conversation=maria, reason=Conversation.HandoffReason.ASKED_FOR_HUMAN)
    services.assign(conversation=maria, agent=ana, actor=ana)
    reply = services.send_reply(conversation=maria, author=ana,
                                text="I'm sorry, Maria! Let me check with the carrier right away.")
    reply.refresh_from_db()
    services.apply_status_update(inbox=wa, update=StatusUpdate(status="read", provider_message_id=reply.provider_message_id))
    services.add_note(conversation=maria, author=ana, text="Carrier says it was left with the building's concierge.")
    inbound(wa, "Thank you! I'll wait", sender="5511999990000", name="Maria Souza")
    services.set_labels(conversation=maria, labels=["delivery", "vip"])
    services.set_priority(conversation=maria, priority=4)

    page = open_page(new_context, ana, f"/conversations/{maria.pk}/", live_asgi_server)
    expect(page.locator("#history")).to_contain_text("I'll wait")
    expect(page.locator(".window-open")).to_contain_text("Window closes in")
    expect(page.locator(".history-sep")).to_have_count(2)
    expect(page.locator(f"#conv-{omar.pk} .badge-handoff")).to_have_text("The bot was not confident")
    page.evaluate("document.querySelectorAll('.flashes').forEach(f => f.remove())")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000
