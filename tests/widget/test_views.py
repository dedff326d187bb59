"""The widget's HTTP endpoints, through the real URL routing."""

from __future__ import annotations

import json

import pytest

from channels_adapters.webchat import inbound_from_widget, visitor_address
from inbox import services
from widget import auth as widget_auth
from inbox.models import Attachment, ChannelKind, Contact, ContactIdentity, Message

from .conftest import make_inbox

ORIGIN = "https://shop.example.com"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def post_json(client, url, data, **headers):
    return client.post(url, data=json.dumps(data), content_type="application/json", HTTP_ORIGIN=ORIGIN, **headers)


def session(client, inbox, **body):
    response = post_json(client, f"/widget/api/session?inbox={inbox.public_id}", body)
    assert response.status_code == 200, response.content
    return response.json()


def say(inbox, visitor_id: str, text: str, client_id: str):
    return services.receive_inbound(inbox=inbox, inbound=inbound_from_widget(
        visitor_id=visitor_id, client_id=client_id, text=text))


# --- script, config, demo ---------------------------------------------------------------------------


def test_widget_js_is_served_as_javascript(client, db):
    response = client.get("/widget.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert b"attachShadow" in response.content


def test_config_gives_look_and_availability(client, inbox):
    inbox.widget_settings = {"color": "#16a34a", "title": "Casa Verde", "pre_chat_form": True, "position": "left"}
    inbox.greeting = "Hi! How can we help?"
    inbox.save()
    response = client.get(f"/widget/api/config?inbox={inbox.public_id}", HTTP_ORIGIN=ORIGIN)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    data = response.json()
    assert (data["title"], data["color"], data["position"], data["pre_chat_form"]) == ("Casa Verde", "#16a34a", "left", True)
    assert data["greeting"] == "Hi! How can we help?"
    assert data["availability"]["online"] is False  # nobody is connected
    assert data["availability"]["open_now"] is True  # no business hours: always open


def test_config_refuses_other_origins_and_unknown_inboxes(client, inbox):
    assert client.get(f"/widget/api/config?inbox={inbox.public_id}", HTTP_ORIGIN="https://evil.example").status_code == 403
    assert client.get("/widget/api/config?inbox=nope", HTTP_ORIGIN=ORIGIN).status_code == 404
    whatsapp = make_inbox(channel_kind=ChannelKind.WHATSAPP, name="WA")
    assert client.get(f"/widget/api/config?inbox={whatsapp.public_id}", HTTP_ORIGIN=ORIGIN).status_code == 404


def test_preflight_names_the_token_header(client, inbox):
    response = client.options(f"/widget/api/messages?inbox={inbox.public_id}", HTTP_ORIGIN=ORIGIN)
    assert response.status_code == 204
    assert "X-Widget-Token" in response["Access-Control-Allow-Headers"]
    assert response["Access-Control-Allow-Origin"] == ORIGIN


def test_config_shows_out_of_hours(client, inbox):
    # Open one minute a week, on a day that is not today: closed now.
    import datetime as dt

    tomorrow = (dt.datetime.now(dt.timezone.utc).weekday() + 1) % 7
    inbox.business_hours = {str(tomorrow): [["09:00", "09:01"]]}
    inbox.out_of_hours_message = "Back tomorrow at 9."
    inbox.save()
    availability = client.get(f"/widget/api/config?inbox={inbox.public_id}", HTTP_ORIGIN=ORIGIN).json()["availability"]
    assert availability["open_now"] is False and availability["online"] is False
    assert availability["next_opening"].startswith(
        (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)).date().isoformat())
    assert availability["message"] == "Back tomorrow at 9."


def test_demo_shop_embeds_the_first_webchat_inbox(client, inbox):
    response = client.get("/demo-shop/")
    assert response.status_code == 200
    assert f'data-inbox="{inbox.public_id}"'.encode() in response.content
    assert b'src="/widget.js"' in response.content


# --- sessions -----------------------------------------------------------------------------------


def test_session_is_new_then_resumed(client, inbox):
    first = session(client, inbox)
    assert first["resumed"] is False and first["conversation_id"] is None
    visitor = widget_auth.read_token(first["token"], inbox=inbox)
    say(inbox, visitor, "hello", "c1")
    again = session(client, inbox, token=first["token"])
    assert again["resumed"] is True
    assert widget_auth.read_token(again["token"], inbox=inbox) == visitor
    assert again["conversation_id"] == widget_auth.visitor_conversation(inbox=inbox, visitor_id=visitor).pk


@pytest.mark.parametrize("bad", ["forged.token.value", "", "x" * 600])
def test_forged_token_starts_a_new_anonymous_session(client, inbox, bad):
    data = session(client, inbox, token=bad)
    assert data["resumed"] is False
    assert widget_auth.read_token(data["token"], inbox=inbox)


def test_token_of_another_inbox_is_not_accepted(client, inbox):
    other = make_inbox(name="Other shop")
    foreign = widget_auth.issue_token(inbox=other, visitor_id="v-other")
    data = session(client, inbox, token=foreign)
    assert data["resumed"] is False
    assert widget_auth.read_token(data["token"], inbox=inbox) != "v-other"


def test_expired_token_is_refused(inbox, settings):
    token = widget_auth.issue_token(inbox=inbox, visitor_id="v1")
    assert widget_auth.read_token(token, inbox=inbox) == "v1"
    settings.WIDGET_TOKEN_MAX_AGE = -1  # every token is older than that
    assert widget_auth.read_token(token, inbox=inbox) is None


def test_new_sessions_are_rate_limited_per_ip(client, inbox, settings):
    settings.WIDGET_RATE_LIMITS = {"session-ip": (2, 3600)}
    session(client, inbox)
    session(client, inbox)
    response = post_json(client, f"/widget/api/session?inbox={inbox.public_id}", {})
    assert response.status_code == 429
    assert "try again later" in response.json()["error"]


# --- identity verification ----------------------------------------------------------------------------


def test_identity_verified_joins_the_customer_contact(client, inbox):
    user_hash = widget_auth.identity_hash(inbox=inbox, user_id="42")
    first = session(client, inbox, user_id="42", user_hash=user_hash, name="Maria Souza")
    assert first["identified"] is True
    visitor_a = widget_auth.read_token(first["token"], inbox=inbox)
    say(inbox, visitor_a, "where is my order?", "a1")
    # The same customer on another device: a new visitor, the same contact and conversation.
    second = post_json(client, f"/widget/api/session?inbox={inbox.public_id}",
                       {"user_id": "42", "user_hash": user_hash}).json()
    visitor_b = widget_auth.read_token(second["token"], inbox=inbox)
    assert visitor_b != visitor_a
    assert second["conversation_id"] == widget_auth.visitor_conversation(inbox=inbox, visitor_id=visitor_a).pk
    contact = ContactIdentity.objects.get(channel_kind="webchat", address="user:42").contact
    assert contact.name == "Maria Souza"
    assert set(contact.identities.values_list("address", flat=True)) == {
        "user:42", visitor_address(visitor_a), visitor_address(visitor_b)}
    history = client.get(f"/widget/api/messages?inbox={inbox.public_id}", HTTP_X_WIDGET_TOKEN=second["token"],
                         HTTP_ORIGIN=ORIGIN).json()
    assert [m["text"] for m in history["messages"]] == ["where is my order?"]


def test_identity_with_bad_hash_is_refused_and_joins_nothing(client, inbox):
    wrong = widget_auth.identity_hash(inbox=inbox, user_id="43")
    response = post_json(client, f"/widget/api/session?inbox={inbox.public_id}", {"user_id": "42", "user_hash": wrong})
    assert response.status_code == 403
    assert "verification failed" in response.json()["error"]
    assert not ContactIdentity.objects.filter(address="user:42").exists()
    other_inbox = make_inbox(name="Other")  # a hash made with another inbox's secret is wrong too
    foreign = widget_auth.identity_hash(inbox=other_inbox, user_id="42")
    assert post_json(client, f"/widget/api/session?inbox={inbox.public_id}",
                     {"user_id": "42", "user_hash": foreign}).status_code == 403


def test_verified_email_merges_the_persons_other_channel_history(client, inbox):
    whatsapp = make_inbox(channel_kind=ChannelKind.WHATSAPP, name="WA")
    from channels_adapters.base import InboundMessage

    services.receive_inbound(inbox=whatsapp, inbound=InboundMessage(
        provider_message_id="wamid.1", sender_address="5511999990000", text="oi", contact_email="maria@example.com"))
    whatsapp_contact = ContactIdentity.objects.get(channel_kind="whatsapp").contact
    session(client, inbox, user_id="42", user_hash=widget_auth.identity_hash(inbox=inbox, user_id="42"),
            email="Maria@Example.com", email_hash=widget_auth.email_hash(inbox=inbox, email="maria@example.com"))
    contact = ContactIdentity.objects.get(channel_kind="webchat", address="user:42").contact
    assert contact.identities.filter(channel_kind="whatsapp").exists()
    assert contact.identities.filter(channel_kind="email", address="maria@example.com").exists()
    assert contact.conversations.filter(inbox=whatsapp).exists()


# --- history ------------------------------------------------------------------------------------------


def test_history_pages_after_an_id_without_gaps_or_duplicates(client, inbox):
    token = session(client, inbox)["token"]
    visitor = widget_auth.read_token(token, inbox=inbox)
    for i in range(7):
        say(inbox, visitor, f"message {i}", f"m{i}")
    conversation = widget_auth.visitor_conversation(inbox=inbox, visitor_id=visitor)
    services.add_note(conversation=conversation, author=None, text="private: customer seems angry")
    services.send_reply(conversation=conversation, text="Hello from the shop", sender_kind="bot")
    url = f"/widget/api/messages?inbox={inbox.public_id}"
    latest = client.get(url + "&limit=3", HTTP_X_WIDGET_TOKEN=token, HTTP_ORIGIN=ORIGIN).json()
    assert [m["text"] for m in latest["messages"]] == ["message 5", "message 6", "Hello from the shop"]
    assert latest["has_more"] is True
    seen, after = [], 0
    while True:
        page = client.get(url + f"&after={after}&limit=3", HTTP_X_WIDGET_TOKEN=token, HTTP_ORIGIN=ORIGIN).json()
        seen += page["messages"]
        if not page["has_more"]:
            break
        after = page["messages"][-1]["id"]
    expected = list(Message.objects.filter(conversation=conversation, is_private_note=False).order_by("id")
                    .values_list("id", flat=True))
    assert [m["id"] for m in seen] == expected
    assert all("private" not in m["text"] for m in seen)
    assert all("is_private_note" not in m and "metadata" not in m for m in seen)


def test_history_needs_a_valid_token_and_shows_only_the_visitors_messages(client, inbox):
    token_a, token_b = session(client, inbox)["token"], session(client, inbox)["token"]
    say(inbox, widget_auth.read_token(token_a, inbox=inbox), "I am A", "a")
    say(inbox, widget_auth.read_token(token_b, inbox=inbox), "I am B", "b")
    url = f"/widget/api/messages?inbox={inbox.public_id}"
    assert client.get(url, HTTP_ORIGIN=ORIGIN).status_code == 401
    assert client.get(url, HTTP_X_WIDGET_TOKEN="forged", HTTP_ORIGIN=ORIGIN).status_code == 401
    texts = [m["text"] for m in client.get(url, HTTP_X_WIDGET_TOKEN=token_a, HTTP_ORIGIN=ORIGIN).json()["messages"]]
    assert texts == ["I am A"]


# --- uploads and downloads ----------------------------------------------------------------------------


def upload(client, inbox, token, content: bytes, name: str, client_id: str = "u1", text: str = ""):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(f"/widget/api/upload?inbox={inbox.public_id}", HTTP_X_WIDGET_TOKEN=token, HTTP_ORIGIN=ORIGIN,
                       data={"file": SimpleUploadedFile(name, content, content_type="image/png"),
                             "client_id": client_id, "text": text})


def test_upload_image_and_pdf(client, inbox, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    token = session(client, inbox)["token"]
    response = upload(client, inbox, token, PNG, "plant.png", text="is this leaf ok?")
    assert response.status_code == 201, response.content
    message = response.json()["message"]
    assert message["text"] == "is this leaf ok?"
    (attachment,) = message["attachments"]
    assert (attachment["kind"], attachment["content_type"], attachment["size"]) == ("image", "image/png", len(PNG))
    assert attachment["url"] == f"/widget/attachments/{attachment['id']}/"
    again = upload(client, inbox, token, PNG, "plant.png")  # the same client_id resent
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert Attachment.objects.count() == 1
    pdf = upload(client, inbox, token, PDF, "invoice.pdf", client_id="u2")
    assert pdf.json()["message"]["attachments"][0]["content_type"] == "application/pdf"


def test_upload_refuses_wrong_types_and_large_files(client, inbox, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    token = session(client, inbox)["token"]
    fake = upload(client, inbox, token, b"<script>alert(1)</script>", "evil.png")
    assert fake.status_code == 415 and "PDF" in fake.json()["error"]
    settings.WIDGET_MAX_UPLOAD_BYTES = 1024 * 1024
    big = upload(client, inbox, token, PNG + b"\x00" * (1024 * 1024), "big.png", client_id="u3")
    assert big.status_code == 413 and "1 MB" in big.json()["error"]
    assert client.post(f"/widget/api/upload?inbox={inbox.public_id}", HTTP_X_WIDGET_TOKEN=token).status_code == 400
    assert not Message.objects.exists()


def test_attachment_download_only_for_its_visitor(client, inbox, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    token_a, token_b = session(client, inbox)["token"], session(client, inbox)["token"]
    attachment = upload(client, inbox, token_a, PNG, "plant.png").json()["message"]["attachments"][0]
    url = f"{attachment['url']}?inbox={inbox.public_id}"
    own = client.get(url + f"&t={token_a}")
    assert own.status_code == 200 and b"".join(own.streaming_content) == PNG
    assert client.get(url + f"&t={token_b}").status_code == 404
    assert client.get(url).status_code == 401


# --- e-mail capture -----------------------------------------------------------------------------------


def test_email_capture_stores_the_address_on_the_visitors_contact(client, inbox):
    token = session(client, inbox)["token"]
    url = f"/widget/api/contact?inbox={inbox.public_id}"
    bad = post_json(client, url, {"email": "not an email"}, HTTP_X_WIDGET_TOKEN=token)
    assert bad.status_code == 400 and "valid e-mail" in bad.json()["error"]
    # Someone else already has this address: an unverified visitor must not get their history.
    other = services.contact_for_identity(channel_kind="whatsapp", address="5511", email="ana@example.com")
    ok = post_json(client, url, {"email": " Ana@Example.com ", "name": "Ana"}, HTTP_X_WIDGET_TOKEN=token)
    assert ok.status_code == 200 and ok.json()["has_email"] is True
    contact = widget_auth.visitor_contact(visitor_id=widget_auth.read_token(token, inbox=inbox))
    assert (contact.email, contact.name) == ("ana@example.com", "Ana")
    assert contact.pk != other.pk and Contact.objects.filter(pk=other.pk).exists()
    assert post_json(client, url, {"email": "a@b.co"}).status_code == 401
