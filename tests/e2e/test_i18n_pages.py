"""A Portuguese and a Spanish agent in real Chromium: the inbox, a conversation (with a system
line that arrives live and reads in each agent's own language), the customer sidebar with
money in the shop's currency, the reports, and the widget on the shop page in the shop's
language. ``UPDATE_SCREENSHOTS=1`` saves the pictures to docs/screenshots/.

Run:
    .venv/bin/python -m tests.servers --redis --sqlite-file -- .venv/bin/python -m pytest tests/e2e/test_i18n_pages.py -q
"""

from __future__ import annotations

import itertools
import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from channels_adapters.base import InboundMessage
from inbox import services
from inbox.models import AgentProfile, Conversation, Inbox
from retention import services as retention_services
from tests.browser import login, screenshot_path

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
_ids = itertools.count(1)

#: What each agent must read, in their language.
EXPECTED = {
    "pt-BR": {"inbox": "Caixa de entrada", "reports": "Relatórios", "reply": "Responder", "note": "Nota privada",
              "unassigned": "Sem responsável", "joined": "Bruno assumiu a conversa", "total": "Total gasto",
              "money": "R$\u00a01.234,56", "note_placeholder": "Escreva uma nota privada: só atendentes veem",
              "handoff": "Transferida para os atendentes: O cliente pediu uma pessoa",
              "edited": "editada", "deleted": "Apagada pelo cliente"},
    "es": {"inbox": "Bandeja de entrada", "reports": "Informes", "reply": "Responder", "note": "Nota privada",
           "unassigned": "Sin asignar", "joined": "Bruno se unió a la conversación", "total": "Total gastado",
           "money": "R$1,234.56", "note_placeholder": "Escribe una nota privada: solo la ven los agentes",
           "handoff": "Derivada a los agentes: El cliente pidió hablar con una persona",
           "edited": "editado", "deleted": "Eliminado por el cliente"},
}
#: dd/mm/yyyy hh:mm, 24-hour clock.
DATETIME_24H = re.compile(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}")


def agent(username: str, first: str, language: str, inbox: Inbox):
    user = get_user_model().objects.create_user(username, password=f"pw-{username}-123", first_name=first)
    AgentProfile.objects.create(user=user, display_name=first, language=language, time_zone="America/Sao_Paulo")
    inbox.members.add(user)
    return user


@pytest.fixture
def shop(settings):
    settings.CHANNEL_ADAPTERS = {kind: "channels_adapters.locmem.LocmemAdapter"
                                 for kind in ("webchat", "whatsapp", "messenger", "instagram", "email")}
    inbox = Inbox.objects.create(name="Chat do site", channel_kind="webchat", default_language="pt", currency="BRL",
                                 greeting="Olá! 👋 Como podemos ajudar?", auto_assign=False,
                                 widget_settings={"title": "Atendimento Casa Verde"})
    ana = agent("ana", "Ana", "pt-br", inbox)
    lucia = agent("lucia", "Lucía", "es", inbox)
    bruno = agent("bruno", "Bruno", "", inbox)
    result = services.receive_inbound(inbox=inbox, auto_reply=False, inbound=InboundMessage(
        provider_message_id=f"i18n-{next(_ids)}", sender_address="visitor-1", sender_name="Maria Souza",
        text="Oi! Não recebi meu pedido 10234"))
    conversation = services.hand_off(conversation=result.conversation,
                                     reason=Conversation.HandoffReason.ASKED_FOR_HUMAN)
    retention_services.order_upsert(external_id="10234", contact=conversation.contact, ordered_at=timezone.now(),
                                    total=Decimal("1234.56"), currency="BRL", status="shipped")
    return {"inbox": inbox, "ana": ana, "lucia": lucia, "bruno": bruno, "conversation": conversation}


def open_inbox(new_context, user, locale: str, url: str, server: str):
    context = new_context(viewport={"width": 1440, "height": 900}, locale=locale)
    login(context, user, base_url=server)
    page = context.new_page()
    page.goto(f"{server}{url}")
    expect(page.locator("#inbox")).to_have_attribute("data-live", "connected")
    return page


def test_portuguese_and_spanish_agents_each_read_their_language(live_asgi_server, new_context, shop):
    conversation = shop["conversation"]
    url = f"/conversations/{conversation.pk}/"
    pages = {"pt-BR": open_inbox(new_context, shop["ana"], "pt-BR", url, live_asgi_server),
             "es": open_inbox(new_context, shop["lucia"], "es-MX", url, live_asgi_server)}
    for language, page in pages.items():
        words = EXPECTED[language]
        expect(page.locator(".mainnav")).to_contain_text(words["inbox"])
        expect(page.locator(".mainnav")).to_contain_text(words["reports"])
        expect(page.locator("#conv-assignee")).to_have_text(words["unassigned"])
        expect(page.locator(".composer-tabs")).to_contain_text(words["reply"])
        expect(page.locator("#history .msg-system").last).to_contain_text(words["handoff"])
        stamp = page.locator("#history .msg-in .msg-foot time").first.inner_text()
        assert DATETIME_24H.fullmatch(stamp), stamp
        # The sidebar panel (another app's fragment) and money in the shop's currency.
        expect(page.locator(".retention-panel")).to_contain_text(words["total"])
        expect(page.locator('[data-metric="total-BRL"]')).to_have_text(words["money"])
        # A string from the JavaScript catalog.
        page.locator(".composer-tab.note").click()
        expect(page.locator("#composer-text")).to_have_attribute("placeholder", words["note_placeholder"])
        page.locator(".composer-tab:not(.note)").click()

    # One system line, written once, arrives live and reads in each agent's own language.
    services.assign(conversation=conversation, agent=shop["bruno"], actor=shop["bruno"])
    for language, page in pages.items():
        expect(page.locator("#history")).to_contain_text(EXPECTED[language]["joined"])
        expect(page.locator("#conv-assignee")).to_have_text("Bruno")

    pages["pt-BR"].screenshot(path=str(screenshot_path("inbox.pt-BR.png")))
    pages["es"].screenshot(path=str(screenshot_path("inbox.es.png")))

    # The customer edits, then deletes her message: the live re-render (the page script, not the
    # server template) labels both from the JavaScript catalog.
    first = conversation.messages.filter(direction="in").order_by("pk").first()
    for change in ({"edit_of_provider_id": first.provider_message_id, "text": "Oi! Não recebi o pedido 10234"},
                   {"unsend_of_provider_id": first.provider_message_id, "text": ""}):
        services.receive_inbound(inbox=shop["inbox"], auto_reply=False, inbound=InboundMessage(
            provider_message_id=f"i18n-{next(_ids)}", sender_address="visitor-1", **change))
    for language, page in pages.items():
        bubble = page.locator(f'#history [data-message-id="{first.pk}"]')
        expect(bubble.locator('[data-role="edits"] summary')).to_have_text(EXPECTED[language]["edited"])
        expect(bubble.locator('[data-role="deleted"]')).to_have_text(EXPECTED[language]["deleted"])

    # After a reload (server-rendered history) the line is still each reader's own.
    for language, page in pages.items():
        page.reload()
        expect(page.locator("#history")).to_contain_text(EXPECTED[language]["joined"])
        expect(page.locator(f'#history [data-message-id="{first.pk}"] [data-role="deleted"]')).to_have_text(
            EXPECTED[language]["deleted"])


def test_reports_in_the_agents_language(live_asgi_server, new_context, shop):
    for user, locale, name, heading, column in (
            (shop["ana"], "pt-BR", "pt-BR", "Relatórios", "Conversas por canal e dia"),
            (shop["lucia"], "es-MX", "es", "Informes", "Conversaciones por canal y día")):
        context = new_context(viewport={"width": 1280, "height": 1000}, locale=locale)
        login(context, user, base_url=live_asgi_server)
        page = context.new_page()
        page.goto(f"{live_asgi_server}/retention/reports/")
        expect(page.locator("h1")).to_have_text(heading)
        expect(page.locator("#report-conversations")).to_contain_text(column)
        page.screenshot(path=str(screenshot_path(f"reports.{name}.png")))


def test_language_menu_switches_and_is_remembered(live_asgi_server, new_context, shop):
    context = new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    login(context, shop["bruno"], base_url=live_asgi_server)
    page = context.new_page()
    page.goto(f"{live_asgi_server}/")
    expect(page.locator(".mainnav")).to_contain_text("Inbox")  # no choice yet: the browser's English
    page.locator("#preferences-menu summary").click()
    page.locator("#pref-language").select_option("es")
    page.locator("#preferences-form button[type=submit]").click()
    expect(page.locator(".mainnav")).to_contain_text("Bandeja de entrada")
    page.goto(f"{live_asgi_server}/retention/reports/")
    expect(page.locator("h1")).to_have_text("Informes")
    assert AgentProfile.objects.get(user=shop["bruno"]).language == "es"


@pytest.mark.parametrize("language", ["pt", "es"])
def test_widget_speaks_the_shop_language(live_asgi_server, new_context, shop, language):
    Inbox.objects.filter(pk=shop["inbox"].pk).update(default_language=language,
                                                     currency="BRL" if language == "pt" else "MXN")
    context = new_context(viewport={"width": 1280, "height": 860}, locale="en-US")  # an English browser
    page = context.new_page()
    page.goto(f"{live_asgi_server}/demo-shop/")
    expect(page.locator("html")).to_have_attribute("lang", "pt-br" if language == "pt" else "es")
    page.locator("#support-widget-host .launcher").click()
    placeholder = {"pt": "Escreva sua mensagem…", "es": "Escribe tu mensaje…"}[language]
    expect(page.locator("#support-widget-host textarea")).to_have_attribute("placeholder", placeholder)
    price = {"pt": "R$\u00a0149,90", "es": "$649.00"}[language]
    expect(page.locator(".price").first).to_have_text(price)
    page.screenshot(path=str(screenshot_path(f"widget.{'pt-BR' if language == 'pt' else 'es'}.png")))
