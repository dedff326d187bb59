"""Every agent, admin and bot page, the login page, the error pages (400, 403, 404, 500, CSRF)
and the login-lockout page, rendered for a Portuguese and a Spanish agent or visitor, show no
English word of the app's own interface (permission names in the admin included).

The forbidden words come from the catalogs themselves: every word of the English source
strings that the language's translations never use (so "total" or "status", written the same
in Portuguese, are allowed there). The visible text is the page's text plus the attributes a
person reads (title, placeholder, aria-label, alt, button values). Test data is written in
the agent's language, so a hit is an untranslated interface string.
"""

from __future__ import annotations

import re
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from inbox import services
from inbox.models import AgentProfile, Conversation
from tests.factories import make_agent, make_inbox, receive

LOCALE = Path(__file__).resolve().parents[2] / "locale"
WORD = re.compile(r"[A-Za-zÀ-ÿ][a-zà-ÿ]{3,}")
#: Product and technical names written the same in every language; "search", "staff" and
#: "login" are Django's own (the admin's untranslated search icon alt text, Spanish "Es staff",
#: Portuguese "Último login").
ALLOWED = {"search", "staff", "login", "nuvemshop", "tiendanube", "shopify", "woocommerce", "whatsapp", "messenger", "json", "html", "webhook", "webhooks", "token", "widget", "chat", "online",
           "offline", "email", "mime", "hmac", "imap", "smtp", "pt_br", "emoji", "admin", "django", "http", "https",
           "callback", "pix", "csat", "bot", "bots", "round", "robin", "csv", "pdf", "uid", "url", "api", "docs"}
VISIBLE_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt"}


def _identifiers() -> set[str]:
    """Words of names people type as they are: time zones, the bot texts' JSON keys."""
    from bot.models import DEFAULT_TEXTS
    from inbox.locale import COMMON_TIME_ZONES

    return {w.lower() for name in [*COMMON_TIME_ZONES, *DEFAULT_TEXTS] for w in re.split(r"[/_]", name)}


def _readable(text: str) -> str:
    """Placeholders and markup are not words a person reads."""
    return re.sub(r"%\(\w+\)[sdr]|\{\{[^}]*\}\}|\{\w*\}|<[^>]+>", " ", text)


def english_words(locale_name: str) -> set[str]:
    source, translated = set(), set()
    for domain in ("django", "djangojs"):
        with (LOCALE / locale_name / "LC_MESSAGES" / f"{domain}.po").open("rb") as handle:
            catalog = read_po(handle)
        for message in catalog:
            if not message.id:
                continue
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            for text in ids:
                source.update(w.lower() for w in WORD.findall(_readable(text)))
            for text in strings:
                translated.update(w.lower() for w in WORD.findall(_readable(text)))
    return source - translated - ALLOWED - _identifiers()


class VisibleText(HTMLParser):
    SKIP = {"script", "style", "code", "pre", "textarea"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0
        self._skip_tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag in self.SKIP:
            self._skipping += 1
            self._skip_tags.append(tag)
        for name in VISIBLE_ATTRIBUTES & set(values):
            self.parts.append(values[name] or "")
        if tag == "input" and values.get("type") in ("submit", "button"):
            self.parts.append(values.get("value") or "")

    def handle_endtag(self, tag):
        if self._skip_tags and tag == self._skip_tags[-1]:
            self._skip_tags.pop()
            self._skipping -= 1

    def handle_data(self, data):
        if not self._skipping:
            self.parts.append(data)


def visible_words(html: str) -> set[str]:
    parser = VisibleText()
    parser.feed(html)
    return {w.lower() for w in WORD.findall(_readable(" ".join(parser.parts)))}


DATA = {
    "pt-br": {"inbox": "Loja Verde", "contact": "Maria Souza", "text": "Olá, cadê meu pedido número 10234?",
              "reply": "Oi Maria! Vou verificar agora.", "note": "Cliente recorrente, prioridade.", "locale": "pt",
              "label": "entrega", "answer": ("Prazo de entrega", "O prazo é de 2 a 8 dias úteis.", ["quando chega"]),
              "unanswered": "vocês vendem vasos de cerâmica?"},
    "es": {"inbox": "Tienda Verde", "contact": "Lucía Fernández", "text": "Hola, ¿dónde está mi pedido 10234?",
           "reply": "¡Hola Lucía! Ya lo reviso.", "note": "Clienta frecuente, prioridad.", "locale": "es",
           "label": "entrega", "answer": ("Plazo de entrega", "El plazo es de 2 a 8 días hábiles.", ["cuándo llega"]),
           "unanswered": "¿venden macetas de cerámica?"},
}


@pytest.fixture(params=["pt-br", "es"])
def world(request, client, db):
    from bot import services as bot_services
    from retention import services as retention_services

    language = request.param
    data = DATA[language]
    inbox = make_inbox("webchat", name=data["inbox"], default_language=data["locale"], currency="BRL")
    agent = make_agent("agente", inboxes=[inbox], staff=True, is_superuser=True)
    AgentProfile.objects.filter(user=agent).update(language=language, display_name="Agente")
    result = receive(inbox, data["text"], sender="visitor-1", sender_name=data["contact"], auto_reply=False)
    conversation = result.conversation
    services.hand_off(conversation=conversation, reason=Conversation.HandoffReason.ASKED_FOR_HUMAN)
    services.assign(conversation=conversation, agent=agent, actor=agent)
    services.send_reply(conversation=conversation, text=data["reply"], author=agent)
    services.add_note(conversation=conversation, author=agent, text=data["note"])
    services.set_labels(conversation=conversation, labels=[data["label"]])
    services.resolve(conversation=conversation, actor=agent)
    retention_services.order_upsert(external_id="10234", contact=conversation.contact, ordered_at=timezone.now(),
                                    total=Decimal("1234.56"), currency="BRL", status="delivered")
    title, text, variants = data["answer"]
    bot_services.answer_create(title=title, text=text, locale=data["locale"], variants=variants)
    bot_services.unanswered_record(question=data["unanswered"], language=data["locale"], reason="low_confidence")
    client.force_login(agent)
    return {"language": language, "client": client, "conversation": conversation, "inbox": inbox, "agent": agent}


def agent_and_bot_pages(world) -> list[str]:
    conversation = world["conversation"]
    return [
        "/", "/?view=all", f"/conversations/{conversation.pk}/", f"/conversations/{conversation.pk}/row/?view=all",
        f"/retention/contacts/{conversation.contact_id}/panel/", "/retention/reports/", "/retention/followups/preview/",
        "/bot/answers/", "/bot/answers/new/", "/bot/console/", "/bot/unanswered/",
    ]


def admin_rows(world) -> None:
    """One row of every admin model the scenario has none of, so each change page is rendered
    (read-only models have no add page: their labels show only there)."""
    import datetime as dt

    from django.contrib.auth.models import Group, Permission
    from rest_framework.authtoken.models import Token

    from bot.models import BotDecisionLog, BotSettings
    from inbox.models import AgentConnection, Team, WebhookEvent
    from retention.models import FollowUpRule, FollowUpSend, InboxRetentionSettings, Survey
    from shops.models import ShopConnection, ShopEvent, ShopSync

    inbox, agent, conversation = world["inbox"], world["agent"], world["conversation"]
    data, now = DATA[world["language"]], timezone.now()
    Token.objects.create(user=agent)
    Group.objects.create(name="Supervisão").permissions.add(*Permission.objects.filter(codename__startswith="view_"))
    Team.objects.create(name="Equipe").members.add(agent)
    AgentConnection.objects.create(user=agent, channel_name="test.agente!1")
    WebhookEvent.objects.create(inbox=inbox, channel_kind="webchat", body=b"{}", status=WebhookEvent.Status.FAILED,
                                attempts=2, next_attempt_at=now)
    BotSettings.objects.get_or_create(inbox=inbox)
    BotDecisionLog.objects.create(conversation=conversation, question=data["text"], language=data["locale"],
                                  action=BotDecisionLog.Action.HANDOFF, reason="low_confidence")
    InboxRetentionSettings.objects.get_or_create(inbox=inbox)
    Survey.objects.create(conversation=conversation, inbox=inbox, contact=conversation.contact, agent=agent,
                          channel_kind="webchat", language=data["locale"], scheduled_for=now, rating=5)
    rule = FollowUpRule.objects.create(name=data["label"], trigger=FollowUpRule.Trigger.ORDER_DELIVERED)
    FollowUpSend.objects.create(rule=rule, contact=conversation.contact, trigger_key="order:1",
                                status=FollowUpSend.Status.DEFERRED, due_at=now, send_after=now + dt.timedelta(hours=9))
    connection = ShopConnection.objects.create(platform="nuvemshop", name=data["inbox"], inbox=inbox)
    # a topic is the platform's own identifier ("order/paid"), shown as it is: none here
    ShopEvent.objects.create(connection=connection, platform="nuvemshop", topic="", body=b"{}",
                             status=ShopEvent.Status.PROCESSED)
    ShopSync.objects.create(connection=connection, kind=ShopSync.Kind.BACKFILL, status=ShopSync.Status.DONE, since=now)


def admin_pages() -> list[str]:
    pages = ["/admin/"]
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        try:
            pages.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        except NoReverseMatch:
            continue
        if model_admin.has_add_permission(type("R", (), {"user": type("U", (), {"has_perm": lambda *a: True})()})()):
            pages.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_add"))
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            pages.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[first.pk]))
    return pages


def english_on(client, url: str, forbidden: set[str], status: int = 200) -> set[str]:
    response = client.get(url)
    assert response.status_code == status, f"{url}: {response.status_code}"
    return visible_words(response.content.decode()) & forbidden


def test_forbidden_words_are_the_interface_words():
    """The word list holds the interface's own English and none of the translations' words."""
    words = english_words("pt_BR")
    assert {"unassigned", "resolve", "snooze", "reports", "satisfaction"} <= words
    assert "total" not in words and "status" not in words  # the same in Portuguese
    assert {"reports", "unassigned", "status"} <= english_words("es")
    assert visible_words('<p title="Snooze">Reply <script>var Resolve</script></p>') == {"snooze", "reply"}


def test_agent_and_bot_pages_have_no_english(world):
    forbidden = english_words("pt_BR" if world["language"] == "pt-br" else "es")
    found = {url: words for url in agent_and_bot_pages(world) if (words := english_on(world["client"], url, forbidden))}
    assert not found, f"English on {world['language']} pages: {found}"


def test_admin_pages_have_no_english(world):
    admin_rows(world)
    unrendered = [m._meta.label for m in admin.site._registry if not m._default_manager.exists()]
    assert not unrendered, f"no row, so no change page checked: {unrendered}"
    forbidden = english_words("pt_BR" if world["language"] == "pt-br" else "es")
    found = {url: words for url in admin_pages() if (words := english_on(world["client"], url, forbidden))}
    assert not found, f"English on {world['language']} admin pages: {found}"


@pytest.mark.parametrize("language", ["pt-br", "es"])
def test_login_page_follows_the_browser(client, db, language):
    forbidden = english_words("pt_BR" if language == "pt-br" else "es")
    response = client.get("/login/", HTTP_ACCEPT_LANGUAGE=f"{language},en;q=0.5")
    assert response.status_code == 200
    assert not visible_words(response.content.decode()) & forbidden
    assert f'lang="{language}"' in response.content.decode()


def test_bot_import_errors_page_has_no_english(world):
    """The answers import's error page (a file with a broken row: no text, an unknown language)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("respostas.csv", "title,answer,locale,tags,variants\nPrazo,,xx,,quando chega\n".encode(),
                                content_type="text/csv")
    response = world["client"].post("/bot/answers/import/", {"file": upload})
    assert response.status_code == 400
    forbidden = english_words("pt_BR" if world["language"] == "pt-br" else "es")
    found = visible_words(response.content.decode()) & forbidden
    assert not found, f"English on the {world['language']} import errors page: {found}"


ERROR_PAGES = {"/test-errors/400/": 400, "/test-errors/403/": 403, "/no-such-page/": 404, "/test-errors/500/": 500}


@pytest.mark.urls("tests.i18n.error_urls")
@pytest.mark.parametrize("logged_in", [True, False], ids=["agent", "anonymous"])
def test_error_pages_have_no_english(world, logged_in):
    """400, 403, 404, 500 (DEBUG off) and the CSRF failure page, for the agent (her profile's
    language) and for a visitor whose browser asks for the same language."""
    from django.test import Client

    language = world["language"]
    forbidden = english_words("pt_BR" if language == "pt-br" else "es")
    client = Client(raise_request_exception=False, enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE=language)
    if logged_in:
        client.force_login(world["agent"])
    found = {url: words for url, status in ERROR_PAGES.items()
             if (words := english_on(client, url, forbidden, status))}
    csrf = client.post("/login/", {"username": "x", "password": "y"})
    assert csrf.status_code == 403
    if words := visible_words(csrf.content.decode()) & forbidden:
        found["CSRF failure"] = words
    assert not found, f"English on {language} error pages: {found}"


@pytest.mark.parametrize("language", ["pt-br", "es"])
def test_lockout_page_has_no_english(client, db, settings, language):
    from django.core.cache import cache

    settings.AXES_FAILURE_LIMIT = 1
    cache.clear()
    make_agent("bloqueada")
    headers = {"HTTP_ACCEPT_LANGUAGE": language}
    client.post("/login/", {"username": "bloqueada", "password": "errada"}, **headers)
    response = client.post("/login/", {"username": "bloqueada", "password": "pw-bloqueada"}, **headers)
    cache.clear()
    assert response.status_code == 429
    assert not visible_words(response.content.decode()) & english_words("pt_BR" if language == "pt-br" else "es")


def test_a_page_with_english_is_caught(client, db):
    """The check fails where it must: the same page in English is full of forbidden words."""
    agent = make_agent("english", inboxes=[make_inbox("webchat", name="Loja")])
    AgentProfile.objects.filter(user=agent).update(language="en")
    client.force_login(agent)
    assert {"unassigned", "reports"} <= english_on(client, "/", english_words("pt_BR"))
