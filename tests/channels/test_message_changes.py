"""Edits, deletions, orders, flow replies, number changes, echoes and reactions shown in the
right state (issue #11 items 6, 8, 9), replayed through the real webhook URL."""

from __future__ import annotations

import json

import pytest

from inbox import services
from inbox.models import Contact, ContactIdentity, Conversation, Message, WebhookEvent
from tests.factories import make_agent, make_inbox

from .conftest import load_fixture

pytestmark = pytest.mark.django_db
ORIGINAL = "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTdBQzE0NjQ3RjNGNEQ1QjVEMgA="


@pytest.fixture
def bot_calls(settings):
    """A handler standing in for the bot: it owns new conversations and records each message
    it is asked to answer."""
    from inbox.services import hooks as service_hooks

    from .hooks import recorder

    settings.INBOUND_MESSAGE_HANDLERS = ["tests.channels.hooks.recorder"]
    service_hooks._load.cache_clear()
    recorder.seen.clear()
    yield recorder.seen
    service_hooks._load.cache_clear()


@pytest.fixture
def inbox(fake_graph):
    return make_inbox("whatsapp", channel_config={
        "phone_number_id": "1234567890", "access_token": "test-token", "app_secret": "app-secret"})


def resolve_the_conversation():
    conversation = Conversation.objects.get()
    services.resolve(conversation=conversation)
    return conversation


def test_edit_changes_the_original_keeps_its_history_and_wakes_nobody(post_webhook, inbox, bot_calls, client):
    post_webhook(inbox, load_fixture("whatsapp/message__text.json"))
    conversation = resolve_the_conversation()
    bot_calls.clear()
    assert post_webhook(inbox, load_fixture("whatsapp/message__edit.json")).status_code == 200
    post_webhook(inbox, load_fixture("whatsapp/message__edit.json"))  # redelivery

    (message,) = Message.objects.filter(direction="in")
    assert message.provider_message_id == ORIGINAL
    assert message.text == "Hello, is my order #1234 on its way?"
    assert [v["text"] for v in message.metadata["edits"]] == ["Hello, is my order on its way?"]
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.RESOLVED and bot_calls == []
    assert not Message.objects.filter(text__startswith="[unsupported").exists()
    assert "1 edits" in WebhookEvent.objects.order_by("pk")[1].summary

    client.force_login(make_agent(inboxes=[inbox]))
    html = client.get(f"/conversations/{conversation.pk}/").content.decode()
    assert "Hello, is my order #1234 on its way?" in html and "edited" in html
    assert "Hello, is my order on its way?" in html  # the history, one click away


def test_revoke_marks_the_original_deleted_keeps_it_and_wakes_nobody(post_webhook, inbox, bot_calls, client):
    post_webhook(inbox, load_fixture("whatsapp/message__text.json"))
    conversation = resolve_the_conversation()
    bot_calls.clear()
    assert post_webhook(inbox, load_fixture("whatsapp/message__revoke.json")).status_code == 200

    (message,) = Message.objects.filter(direction="in")
    assert message.text == "Hello, is my order on its way?"  # kept for the record
    assert message.metadata["deleted_by_customer"] is True
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.RESOLVED and bot_calls == []
    client.force_login(make_agent(inboxes=[inbox]))
    html = client.get(f"/conversations/{conversation.pk}/").content.decode()
    assert "Deleted by the customer" in html


def test_edit_of_an_unknown_message_is_reported_not_stored(post_webhook, inbox, bot_calls):
    post_webhook(inbox, load_fixture("whatsapp/message__edit.json"))
    assert Message.objects.count() == 0
    assert "edit of an unknown message" in WebhookEvent.objects.get().summary


def test_order_and_flow_reply_are_readable_on_the_message(post_webhook, inbox, bot_calls):
    post_webhook(inbox, load_fixture("whatsapp/message__order.json"))
    post_webhook(inbox, load_fixture("whatsapp/message__interactive_nfm_reply.json"))
    order, flow = Message.objects.order_by("pk")
    assert "2 × SKU-RED-42 — 89.90 BRL" in order.text and order.metadata["order"]["catalog_id"] == "CAT-1"
    assert "reason: Wrong size" in flow.text and flow.metadata["flow_reply"]["response"]["order_number"] == "1234"
    assert not order.metadata.get("unsupported") and not flow.metadata.get("unsupported")


def test_number_change_moves_the_whatsapp_identity(post_webhook, inbox, bot_calls):
    post_webhook(inbox, load_fixture("whatsapp/message__text.json"))
    contact = Contact.objects.get()
    conversation = resolve_the_conversation()
    bot_calls.clear()
    assert post_webhook(inbox, load_fixture("whatsapp/message__system_number_change.json")).status_code == 200
    assert list(contact.identities.values_list("address", flat=True)) == ["16505559999"]
    notice = Message.objects.get(provider_message_id="wamid.SYS1")
    assert notice.sender_kind == "system" and "changed from 16505551234 to 16505559999" in notice.text
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.RESOLVED and bot_calls == []
    # The customer's next message from the new number reaches the same contact.
    body = load_fixture("whatsapp/message__text.json").replace(b'"16505551234"', b'"16505559999"').replace(
        b"wamid.HBgL", b"wamid.NEWNUMBER")
    post_webhook(inbox, body)
    assert Contact.objects.count() == 1 and ContactIdentity.objects.count() == 1


@pytest.fixture
def messenger(fake_graph):
    return make_inbox("messenger", channel_config={
        "page_id": "111222333", "page_access_token": "page-token", "app_secret": "app-secret"})


def test_conversation_that_starts_with_an_echo_belongs_to_agents(post_webhook, messenger, bot_calls):
    assert post_webhook(messenger, load_fixture("messenger/message__echo.json")).status_code == 200
    conversation = Conversation.objects.get()
    assert conversation.status != Conversation.Status.BOT
    assert conversation.status == Conversation.Status.OPEN
    # The customer answers the human: the bot stays out.
    post_webhook(messenger, load_fixture("messenger/message__text.json"))
    assert bot_calls == [] and Conversation.objects.get().status == Conversation.Status.OPEN


def test_whatsapp_business_app_echo_starts_an_agents_conversation(post_webhook, inbox, bot_calls):
    assert post_webhook(inbox, load_fixture("whatsapp/echo__business_app.json")).status_code == 200
    echo = Message.objects.get()
    assert echo.direction == "out" and echo.metadata.get("sent_from_provider_app")
    assert echo.conversation.status == Conversation.Status.OPEN
    post_webhook(inbox, load_fixture("whatsapp/message__text.json"))
    assert bot_calls == [] and Conversation.objects.get().status == Conversation.Status.OPEN


def reaction_body(emoji, timestamp, *, target="wamid.TARGET", reaction_id="wamid.R"):
    document = json.loads(load_fixture("whatsapp/message__reaction.json"))
    message = document["entry"][0]["changes"][0]["value"]["messages"][0]
    message.update({"id": f"{reaction_id}{timestamp}", "timestamp": str(timestamp)})
    message["reaction"] = {"message_id": target, "emoji": emoji}
    return json.dumps(document).encode()


def test_redelivered_old_reaction_does_not_come_back_after_removal(post_webhook, inbox, bot_calls,
                                                                   django_capture_on_commit_callbacks):
    post_webhook(inbox, load_fixture("whatsapp/message__text.json"))
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.send_reply(conversation=Conversation.objects.get(), text="Sure!")
    Message.objects.filter(pk=reply.pk).update(provider_message_id="wamid.TARGET")

    old = reaction_body("👍", 1717171800)
    post_webhook(inbox, old)
    post_webhook(inbox, reaction_body("", 1717171900))  # removed
    post_webhook(inbox, old)  # Meta redelivers the old one
    reply.refresh_from_db()
    assert reply.metadata.get("reactions", {}) == {}
    post_webhook(inbox, reaction_body("❤️", 1717172000))
    reply.refresh_from_db()
    assert reply.metadata["reactions"] == {"16505551234": "❤️"}

    summaries = list(WebhookEvent.objects.order_by("pk").values_list("summary", flat=True))
    assert "1 reactions" in summaries[1] and "duplicates" not in summaries[1].replace("0 duplicates", "")


def test_reaction_to_an_unknown_message_is_recorded_in_the_summary(post_webhook, inbox, bot_calls):
    post_webhook(inbox, reaction_body("👍", 1717171800, target="wamid.NEVERSEEN"))
    summary = WebhookEvent.objects.get().summary
    assert "reaction to an unknown message" in summary and "wamid.NEVERSEEN" in summary
    assert Message.objects.count() == 0


@pytest.fixture
def instagram(fake_graph):
    return make_inbox("instagram", channel_config={
        "instagram_account_id": "17841400000000001", "access_token": "ig-token", "app_secret": "app-secret"})


def test_instagram_edit_and_unsend_use_the_same_write_path(post_webhook, instagram, bot_calls):
    text = json.loads(load_fixture("instagram/message__text.json"))
    text["entry"][0]["messaging"][0]["message"]["mid"] = "aWdfORIGINAL0001"
    post_webhook(instagram, json.dumps(text).encode())
    resolve_the_conversation()
    bot_calls.clear()
    post_webhook(instagram, load_fixture("instagram/message_edit.json"))
    unsend = json.loads(load_fixture("instagram/message__unsend.json"))
    unsend["entry"][0]["messaging"][0]["message"]["mid"] = "aWdfORIGINAL0001"
    post_webhook(instagram, json.dumps(unsend).encode())
    (message,) = Message.objects.filter(direction="in")
    assert message.text == "Na verdade, no 39" and message.metadata["edits"][0]["text"].startswith("Oi!")
    assert message.metadata["deleted_by_customer"] is True
    assert Conversation.objects.get().status == Conversation.Status.RESOLVED and bot_calls == []
