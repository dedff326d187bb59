"""Messenger end to end: webhook → inbox, profile names, echoes, watermarks, sends, sender
actions, and the 24-hour / HUMAN_AGENT window."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from inbox import services
from inbox.models import Contact, Conversation, Message
from tests.factories import make_agent, make_inbox

from .conftest import load_fixture

pytestmark = pytest.mark.django_db


@pytest.fixture
def inbox(fake_graph, monkeypatch):
    monkeypatch.setattr("bot.engine.bot_enabled_for", lambda inbox: False)
    return make_inbox("messenger", channel_config={
        "page_id": "111222333", "page_access_token": "page-token", "app_secret": "app-secret"})


def test_message_lands_with_the_profile_name(post_webhook, inbox, fake_graph):
    fake_graph.add_profile("7654321098765432", "Lucía", "Fernández")
    assert post_webhook(inbox, load_fixture("messenger/message__text.json")).status_code == 200
    message = Message.objects.get()
    assert message.text == "Hi! Where is my parcel?"
    assert Contact.objects.get().name == "Lucía Fernández"


def test_reply_is_sent_with_the_send_api_and_ticks_follow_watermarks(post_webhook, inbox, fake_graph, django_capture_on_commit_callbacks):
    post_webhook(inbox, load_fixture("messenger/message__text.json"))
    conversation = Conversation.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.send_reply(conversation=conversation, author=make_agent(inboxes=[inbox]), text="On its way!")
    reply.refresh_from_db()
    assert reply.delivery_state == "sent"
    body = [r for r in fake_graph.requests if r.path.endswith("/me/messages") and "message" in (r.json or {})][-1].json
    assert body["recipient"]["id"] == "7654321098765432" and body["messaging_type"] == "RESPONSE"
    assert body["message"]["text"] == "On its way!"

    read = json.loads(load_fixture("messenger/read.json"))
    read["entry"][0]["messaging"][0]["read"]["watermark"] = int((timezone.now() + dt.timedelta(seconds=5)).timestamp() * 1000)
    read["entry"][0]["messaging"][0]["sender"]["id"] = "7654321098765432"
    post_webhook(inbox, json.dumps(read).encode())
    reply.refresh_from_db()
    assert reply.delivery_state == "read"


def test_echo_of_our_own_send_creates_no_duplicate(post_webhook, inbox, fake_graph, django_capture_on_commit_callbacks):
    post_webhook(inbox, load_fixture("messenger/message__text.json"))
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.send_reply(conversation=Conversation.objects.get(), text="hello")
    reply.refresh_from_db()
    echo = json.loads(load_fixture("messenger/message__echo.json"))
    event = echo["entry"][0]["messaging"][0]
    event["message"]["mid"] = reply.provider_message_id
    event["recipient"]["id"] = "7654321098765432"
    post_webhook(inbox, json.dumps(echo).encode())
    assert Message.objects.filter(direction="out", sender_kind="agent").count() == 1


def test_message_sent_from_metas_page_inbox_shows_up(post_webhook, inbox):
    post_webhook(inbox, load_fixture("messenger/message__text.json"))
    post_webhook(inbox, load_fixture("messenger/message__echo.json"))
    echo = Message.objects.get(direction="out")
    assert echo.metadata.get("sent_from_provider_app")


def test_agent_typing_and_reading_send_sender_actions(post_webhook, inbox, fake_graph, django_capture_on_commit_callbacks):
    post_webhook(inbox, load_fixture("messenger/message__text.json"))
    conversation = Conversation.objects.get()
    agent = make_agent(inboxes=[inbox])
    services.typing(conversation=conversation, who="agent", is_typing=True, name="Ana")
    with django_capture_on_commit_callbacks(execute=True):
        services.mark_read(conversation=conversation, user=agent)
    actions = [r.json.get("sender_action") for r in fake_graph.requests if r.json and "sender_action" in r.json]
    assert actions == ["typing_on", "mark_seen"]


def test_past_24_hours_refused_unless_human_agent_tag(post_webhook, inbox, fake_graph, django_capture_on_commit_callbacks):
    post_webhook(inbox, load_fixture("messenger/message__text.json"))
    conversation = Conversation.objects.get()
    Conversation.objects.filter(pk=conversation.pk).update(last_incoming_at=timezone.now() - dt.timedelta(days=2))
    with pytest.raises(services.WindowClosed):
        services.send_reply(conversation=conversation, text="late answer")
    inbox.channel_config["human_agent_tag"] = True
    inbox.save()
    conversation.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.send_reply(conversation=conversation, author=make_agent(inboxes=[inbox]), text="late answer")
    reply.refresh_from_db()
    assert reply.delivery_state == "sent", reply.delivery_error
    body = [r for r in fake_graph.requests if r.json and "message" in r.json][-1].json
    assert body["messaging_type"] == "MESSAGE_TAG" and body["tag"] == "HUMAN_AGENT"
    Conversation.objects.filter(pk=conversation.pk).update(last_incoming_at=timezone.now() - dt.timedelta(days=8))
    conversation.refresh_from_db()
    with pytest.raises(services.WindowClosed):
        services.send_reply(conversation=conversation, text="too late")
