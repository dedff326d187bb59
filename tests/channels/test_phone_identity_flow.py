"""One contact per person by phone number, end to end through the real URLs: the shop's order
API, WhatsApp webhooks, the widget's contact form, the agent's pages, and sends to the fake
Graph API (docs/phone-numbers.md)."""

from __future__ import annotations

import json
import time

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from inbox import services
from inbox.models import Contact, ContactIdentity, Conversation, Message
from inbox.selectors import duplicate_suggestions
from retention.models import Order
from tests.factories import make_agent, make_inbox

pytestmark = pytest.mark.django_db

PHONE_NUMBER_ID = "1234567890"


@pytest.fixture
def whatsapp(fake_graph, monkeypatch):
    monkeypatch.setattr("bot.engine.bot_enabled_for", lambda inbox: False)
    return make_inbox("whatsapp", channel_config={
        "phone_number_id": PHONE_NUMBER_ID, "access_token": "test-token", "app_secret": "app-secret"})


@pytest.fixture
def shop():
    user = get_user_model().objects.create_user("shop", password="pw-shop-123")
    user.user_permissions.add(Permission.objects.get(codename="add_order"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def post_order(shop, phone: str, external_id: str = "A-100", **customer):
    response = shop.post("/retention/api/orders/", {
        "external_id": external_id, "customer": {"phone": phone, "name": "Maria Souza", **customer},
        "ordered_at": "2030-01-05T10:00:00Z", "status": "paid", "total": "120.50", "currency": "BRL"}, format="json")
    assert response.status_code in (200, 201), response.data
    return response.data


def whatsapp_message(wa_id: str, text: str, wamid: str) -> dict:
    return {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550100000",
                                                      "phone_number_id": PHONE_NUMBER_ID},
        "contacts": [{"profile": {"name": "Maria"}, "wa_id": wa_id}],
        "messages": [{"from": wa_id, "id": wamid, "timestamp": str(int(time.time())), "type": "text",
                      "text": {"body": text}}]}}]}]}


def panel_html(client, inbox, contact) -> str:
    client.force_login(make_agent(inboxes=[inbox]))
    response = client.get(f"/retention/contacts/{contact.pk}/panel/")
    assert response.status_code == 200
    return response.content.decode()


def test_order_then_whatsapp_without_the_ninth_digit_is_one_contact(shop, whatsapp, post_webhook, client):
    order = post_order(shop, "+55 11 98765-4321")
    post_webhook(whatsapp, whatsapp_message("551187654321", "Oi, cadê meu pedido?", "wamid.A1"))
    contact = Contact.objects.get()
    assert contact.pk == order["contact_id"] and contact.phone == "+5511987654321"
    # The identity keeps the exact wa_id WhatsApp sent: that is what replies must go to.
    assert "551187654321" in set(contact.identities.values_list("address", flat=True))
    (conversation,) = Conversation.objects.all()
    assert conversation.contact_id == contact.pk and conversation.messages.count() == 1
    assert 'data-order="A-100"' in panel_html(client, whatsapp, contact)


def test_whatsapp_then_order_is_one_contact(shop, whatsapp, post_webhook, client):
    post_webhook(whatsapp, whatsapp_message("551187654321", "Oi!", "wamid.B1"))
    whatsapp_contact = Contact.objects.get()
    assert whatsapp_contact.phone == "+5511987654321"  # WhatsApp contacts store their number
    order = post_order(shop, "+55 11 98765-4321", email="maria@example.com")
    assert order["contact_id"] == whatsapp_contact.pk and Contact.objects.count() == 1
    assert Contact.objects.get().email == "maria@example.com"
    post_webhook(whatsapp, whatsapp_message("551187654321", "Chegou?", "wamid.B2"))
    assert Conversation.objects.count() == 1 and Message.objects.count() == 2
    assert 'data-order="A-100"' in panel_html(client, whatsapp, whatsapp_contact)


@pytest.mark.parametrize("typed, wa_id, canonical", [
    ("+54 9 11 1234-5678", "5491112345678", "+5491112345678"),
    ("+54 11 15-1234-5678", "541112345678", "+5491112345678"),
    ("+52 55 1234 5678", "5215512345678", "+525512345678"),
    ("00351 912 345 678", "351912345678", "+351912345678"),
])
def test_equivalent_forms_in_argentina_mexico_and_plain_ones_elsewhere(shop, whatsapp, post_webhook,
                                                                      typed, wa_id, canonical):
    order = post_order(shop, typed)
    post_webhook(whatsapp, whatsapp_message(wa_id, "hola", f"wamid.{wa_id}"))
    contact = Contact.objects.get()
    assert contact.pk == order["contact_id"] and contact.phone == canonical


def test_widget_visitor_typing_a_national_number_in_a_br_inbox(shop, whatsapp, post_webhook, client, settings):
    settings.PHONE_DEFAULT_REGION = "US"  # the inbox's own region wins
    web = make_inbox("webchat", phone_region="BR")
    post_webhook(whatsapp, whatsapp_message("551187654321", "Oi!", "wamid.C1"))
    origin = {"HTTP_ORIGIN": "https://shop.example.com"}
    session = client.post(f"/widget/api/session?inbox={web.public_id}", data="{}", content_type="application/json",
                          **origin)
    assert session.status_code == 200, session.content
    response = client.post(f"/widget/api/contact?inbox={web.public_id}",
                           data=json.dumps({"email": "maria@example.com", "phone": "(11) 98765-4321"}),
                           content_type="application/json", HTTP_X_WIDGET_TOKEN=session.json()["token"], **origin)
    assert response.status_code == 200, response.content
    visitor = Contact.objects.get(identities__channel_kind="webchat")
    whatsapp_contact = Contact.objects.get(identities__channel_kind="whatsapp")
    assert visitor.phone == "+5511987654321" and visitor.pk != whatsapp_contact.pk
    # Typed in a browser, so unverified: it matches, but nothing merges by itself, not even on
    # the customer's next WhatsApp message, and agents are never offered the merge (it would
    # give that browser the customer's history).
    assert [c for c, _reason in duplicate_suggestions(contact=whatsapp_contact)] == [visitor]
    agent = make_agent(inboxes=[whatsapp, web])
    assert duplicate_suggestions(contact=whatsapp_contact, user=agent) == []
    post_webhook(whatsapp, whatsapp_message("551187654321", "Oi de novo", "wamid.C2"))
    assert Contact.objects.count() == 2


def test_the_next_whatsapp_message_heals_existing_duplicates(whatsapp, post_webhook):
    # As left by the old normaliser: the WhatsApp contact without a phone, and an order contact
    # whose identity was the number with the ninth digit.
    old = services.contact_for_identity(channel_kind="whatsapp", address="551187654321")
    Contact.objects.filter(pk=old.pk).update(phone="")
    order_contact = Contact.objects.create(name="Maria Souza", phone="+5511987654321")
    ContactIdentity.objects.create(contact=order_contact, channel_kind="whatsapp", address="5511987654321")
    Order.objects.create(contact=order_contact, external_id="Z-1", ordered_at="2030-01-05T10:00:00Z",
                         status="paid", total="1.00", currency="BRL")
    post_webhook(whatsapp, whatsapp_message("551187654321", "Oi!", "wamid.D1"))
    (contact,) = Contact.objects.all()
    assert contact.pk == old.pk and contact.phone == "+5511987654321" and contact.name == "Maria"
    assert Order.objects.get().contact_id == contact.pk
    assert set(contact.identities.values_list("address", flat=True)) == {"551187654321", "5511987654321"}


def test_two_people_on_one_line_are_left_as_suggestions(whatsapp, post_webhook):
    a = Contact.objects.create(email="ana@example.com", phone="+5511987654321")
    ContactIdentity.objects.create(contact=a, channel_kind="email", address="ana@example.com")
    b = Contact.objects.create(email="bruno@example.com", phone="+5511987654321")
    ContactIdentity.objects.create(contact=b, channel_kind="email", address="bruno@example.com")
    post_webhook(whatsapp, whatsapp_message("551187654321", "Oi!", "wamid.E1"))
    assert Contact.objects.count() == 3
    newcomer = Contact.objects.get(identities__channel_kind="whatsapp")
    assert {c for c, _reason in duplicate_suggestions(contact=newcomer)} == {a, b}


def test_an_unreadable_number_is_kept_as_typed_and_never_merged_on(shop, whatsapp):
    first = post_order(shop, "ramal 12", external_id="U-1", email="u1@example.com")
    second = post_order(shop, "ramal 12", external_id="U-2", email="u2@example.com")
    assert first["contact_id"] != second["contact_id"]
    contact = Contact.objects.get(pk=first["contact_id"])
    assert contact.phone == "ramal 12" and contact.phone_valid is False
    assert not ContactIdentity.objects.filter(channel_kind="whatsapp").exists()
    response = shop.post("/retention/api/orders/", {"external_id": "U-3", "customer": {"phone": "12"},
                                                    "ordered_at": "2030-01-05T10:00:00Z", "status": "paid",
                                                    "total": "1", "currency": "BRL"}, format="json")
    assert response.status_code == 400 and "cannot be read" in json.dumps(response.data)


def test_a_send_to_an_order_number_learns_the_real_wa_id(shop, whatsapp, post_webhook, fake_graph,
                                                        django_capture_on_commit_callbacks):
    order = post_order(shop, "+55 11 98765-4321")
    contact = Contact.objects.get(pk=order["contact_id"])
    fake_graph.set_wa_id("5511987654321", "551187654321")  # registered before the ninth digit
    conversation = services.start_conversation(inbox=whatsapp, contact=contact)
    with django_capture_on_commit_callbacks(execute=True):
        first = services.send_reply(conversation=conversation, text="Seu pedido saiu!",
                                    template={"name": "order_update", "language": "pt_BR", "parameters": ["A-100"]})
    first.refresh_from_db()
    assert first.delivery_state == "sent", first.delivery_error
    sends = [r for r in fake_graph.requests if r.path == f"/{PHONE_NUMBER_ID}/messages"]
    assert sends[-1].json["to"] == "5511987654321"
    assert ContactIdentity.objects.filter(contact=contact, channel_kind="whatsapp", address="551187654321").exists()
    # The customer's answer comes from the real wa_id and lands in the same conversation.
    post_webhook(whatsapp, whatsapp_message("551187654321", "Obrigada!", "wamid.F1"))
    assert Conversation.objects.count() == 1 and Contact.objects.count() == 1
    # Later replies go to the wa_id WhatsApp named.
    with django_capture_on_commit_callbacks(execute=True):
        services.send_reply(conversation=Conversation.objects.get(), text="De nada!")
    assert [r for r in fake_graph.requests if r.path == f"/{PHONE_NUMBER_ID}/messages"][-1].json["to"] == "551187654321"


def test_heal_command_dry_run_then_for_real(capsys):
    legacy_national = Contact.objects.create(phone="+11987654321")  # stored by the old normaliser
    ContactIdentity.objects.create(contact=legacy_national, channel_kind="email", address="m@example.com")
    wa = Contact.objects.create()
    ContactIdentity.objects.create(contact=wa, channel_kind="whatsapp", address="551187654321")
    visitor = Contact.objects.create(phone="+5511987654321")
    ContactIdentity.objects.create(contact=visitor, channel_kind="webchat", address="visitor:1")
    call_command("heal_phone_duplicates", "--dry-run")
    out = capsys.readouterr().out
    assert f"contact {legacy_national.pk}: +11987654321 -> +5511987654321" in out
    assert f"contact {wa.pk}: phone +5511987654321 from wa_id 551187654321" in out
    assert "Dry run:" in out and Contact.objects.count() == 3
    assert Contact.objects.get(pk=wa.pk).phone == ""
    call_command("heal_phone_duplicates")
    out = capsys.readouterr().out
    assert f"contact {wa.pk} (+5511987654321) did merge into contact {legacy_national.pk}" in out
    assert "1 duplicate(s) did merge" in out
    survivor = Contact.objects.get(pk=legacy_national.pk)
    assert survivor.phone == "+5511987654321"
    assert set(survivor.identities.values_list("channel_kind", flat=True)) == {"email", "whatsapp"}
    assert Contact.objects.filter(pk=visitor.pk).exists()  # a widget visitor is never merged by number
    call_command("heal_phone_duplicates")
    assert "0 number(s) did become canonical, 0 WhatsApp contact(s) did get their number, 0 duplicate(s)" in \
        capsys.readouterr().out
