"""The visitor's websocket through the real ASGI application (Channels' WebsocketCommunicator).

Each test runs its scenario with ``asyncio.run``; ORM calls inside go through
``database_sync_to_async``. Nothing waits for time to pass: ``receive_json_from`` only bounds
how long a frame that must come may take.
"""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model

from channels_adapters.webchat import MAX_TEXT_LENGTH
from config.asgi import application
from inbox import services
from widget import auth as widget_auth
from inbox.models import Conversation, Message

from .conftest import make_inbox

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = b"https://shop.example.com"
TIMEOUT = 5


def communicator(inbox, token: str | None, origin: bytes = ORIGIN) -> WebsocketCommunicator:
    query = f"inbox={inbox.public_id}" + (f"&token={token}" if token is not None else "")
    return WebsocketCommunicator(application, f"/ws/widget/?{query}", headers=[(b"origin", origin)])


async def connect(inbox, token):
    ws = communicator(inbox, token)
    connected, _ = await ws.connect()
    assert connected
    ready = await ws.receive_json_from(TIMEOUT)
    assert ready["event"] == "ready"
    return ws, ready["data"]


async def next_event(ws, *names):
    """The next frame whose event is one of ``names``, skipping the others (status, typing)."""
    while True:
        frame = await ws.receive_json_from(TIMEOUT)
        if frame["event"] in names:
            return frame


def token_for(inbox, visitor_id: str) -> str:
    return widget_auth.issue_token(inbox=inbox, visitor_id=visitor_id)


# --- connecting -----------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "forged:token", "visitor-a"])
def test_a_valid_token_is_required(inbox, token):
    if token == "visitor-a":
        token = token_for(make_inbox(name="Another shop"), "visitor-a")  # signed, but for another inbox

    async def scenario():
        ws = communicator(inbox, token)
        connected, _ = await ws.connect()
        assert connected
        error = await ws.receive_json_from(TIMEOUT)
        assert error == {"event": "error", "data": {
            "code": "bad_token", "message": "Your chat session expired. Starting a new one."}}
        closed = await ws.receive_output(TIMEOUT)
        assert closed == {"type": "websocket.close", "code": 4401}

    asyncio.run(scenario())


def test_origin_is_checked_against_the_inbox(inbox):
    token = token_for(inbox, "v1")

    async def scenario():
        refused = communicator(inbox, token, origin=b"https://evil.example")
        assert await refused.connect() == (False, 4403)
        no_origin = communicator(inbox, token, origin=b"")
        assert await no_origin.connect() == (False, 4403)
        ws, state = await connect(inbox, token)
        assert state == {"conversation_id": None, "status": None, "assignee_name": ""}
        await ws.disconnect()

    asyncio.run(scenario())


def test_unknown_inbox_is_refused(db):
    inbox = make_inbox()
    inbox.public_id = "does-not-exist"  # not saved: the consumer finds no such inbox

    async def scenario():
        assert await communicator(inbox, "x").connect() == (False, 4404)

    asyncio.run(scenario())


# --- messages -----------------------------------------------------------------------------------


def test_message_is_stored_once_even_when_resent(inbox):
    token = token_for(inbox, "v1")

    async def scenario():
        ws, _ = await connect(inbox, token)
        frame = {"action": "message", "text": "Do you ship to Porto?", "client_id": "abc123"}
        await ws.send_json_to(frame)
        first = await next_event(ws, "ack")
        assert first["data"]["duplicate"] is False
        assert first["data"]["message"]["text"] == "Do you ship to Porto?"
        changed = await next_event(ws, "conversation")
        assert changed["data"]["conversation_id"] == first["data"]["message"]["conversation_id"]
        # A reconnect resends what was not acknowledged, with the same client_id.
        await ws.disconnect()
        ws, state = await connect(inbox, token)
        assert state["conversation_id"] == first["data"]["message"]["conversation_id"]
        await ws.send_json_to(frame)
        second = await next_event(ws, "ack")
        assert second["data"]["duplicate"] is True
        assert second["data"]["message"]["id"] == first["data"]["message"]["id"]
        await ws.disconnect()

    asyncio.run(scenario())
    assert Message.objects.filter(text="Do you ship to Porto?").count() == 1
    assert Message.objects.get().provider_message_id == "web-v1-abc123"


@pytest.mark.parametrize("frame, expected", [
    ({"action": "message", "text": "x" * (MAX_TEXT_LENGTH + 1), "client_id": "c1"}, "at most 5000 characters"),
    ({"action": "message", "text": "   ", "client_id": "c1"}, "empty"),
    ({"action": "message", "text": "hi", "client_id": "../../etc"}, "client_id"),
    ({"action": "message", "text": ["hi"], "client_id": "c1"}, "must be a string"),
    ({"action": "delete_everything"}, "Unknown action"),
])
def test_bad_frames_get_a_clear_error_and_store_nothing(inbox, frame, expected):
    async def scenario():
        ws, _ = await connect(inbox, token_for(inbox, "v1"))
        await ws.send_json_to(frame)
        error = await next_event(ws, "error")
        assert expected in error["data"]["message"]
        await ws.disconnect()

    asyncio.run(scenario())
    assert not Message.objects.exists()


def test_rate_limit_gives_a_clear_error(inbox, settings):
    settings.WIDGET_RATE_LIMITS = {"message-visitor": (2, 3600)}

    async def scenario():
        ws, _ = await connect(inbox, token_for(inbox, "v1"))
        for i in range(3):
            await ws.send_json_to({"action": "message", "text": f"spam {i}", "client_id": f"c{i}"})
        acks = [await next_event(ws, "ack", "error") for _ in range(3)]
        assert [a["event"] for a in acks] == ["ack", "ack", "error"]
        assert acks[2]["data"]["code"] == "rate_limited"
        assert acks[2]["data"]["client_id"] == "c2"
        assert "too quickly" in acks[2]["data"]["message"]
        await ws.disconnect()

    asyncio.run(scenario())
    assert list(Message.objects.values_list("text", flat=True)) == ["spam 0", "spam 1"]


# --- isolation between visitors -------------------------------------------------------------------------


def test_a_visitor_cannot_read_or_write_another_conversation(inbox):
    token_a, token_b = token_for(inbox, "visitor-a"), token_for(inbox, "visitor-b")

    async def scenario():
        ws_a, _ = await connect(inbox, token_a)
        ws_b, _ = await connect(inbox, token_b)
        await ws_b.send_json_to({"action": "message", "text": "B's secret order 991", "client_id": "b1"})
        b_message = (await next_event(ws_b, "ack"))["data"]["message"]
        b_conversation = b_message["conversation_id"]
        # A names B's conversation and B's message: the ids are ignored, A writes to A's own.
        await ws_a.send_json_to({"action": "message", "text": "hello", "client_id": "a1",
                                 "conversation_id": b_conversation})
        a_message = (await next_event(ws_a, "ack"))["data"]["message"]
        assert a_message["conversation_id"] != b_conversation
        await ws_a.send_json_to({"action": "seen", "up_to": b_message["id"]})
        # An agent answers B: only B hears it.
        conversation = await database_sync_to_async(Conversation.objects.get)(pk=b_conversation)
        await database_sync_to_async(services.send_reply)(conversation=conversation, text="B's answer",
                                                          sender_kind="bot")
        reply = await next_event(ws_b, "message.created")
        assert reply["data"]["text"] == "B's answer"
        await ws_a.send_json_to({"action": "ping"})
        frames = []
        while True:
            frame = await ws_a.receive_json_from(TIMEOUT)
            frames.append(frame)
            if frame["event"] == "pong":
                break
        assert all("B's" not in str(f) for f in frames), frames
        await ws_a.disconnect()
        await ws_b.disconnect()

    asyncio.run(scenario())
    assert Message.objects.filter(conversation_id=Message.objects.get(text="hello").conversation_id).count() == 1
    assert Message.objects.get(text="B's secret order 991").conversation.contact.identities.get().address == "visitor:visitor-b"


# --- the conversation, live -------------------------------------------------------------------------------


def make_agent(inbox, username="ana", display="Ana"):
    user = get_user_model().objects.create_user(username=username, password="x", first_name=display)
    inbox.members.add(user)
    return user


def test_hand_off_to_an_online_agent_and_live_replies(inbox):
    agent = make_agent(inbox)
    services.agent_connected(user=agent, channel_name="test-agent-tab")
    token = token_for(inbox, "v1")

    async def scenario():
        ws, _ = await connect(inbox, token)
        await ws.send_json_to({"action": "message", "text": "I need help with my order", "client_id": "c1"})
        ack = (await next_event(ws, "ack"))["data"]["message"]
        await next_event(ws, "conversation")
        conversation = await database_sync_to_async(Conversation.objects.get)(pk=ack["conversation_id"])
        assert (conversation.status, conversation.assignee_id) == ("open", agent.pk)
        # "Ana joined" was posted before this socket joined the group: the history has it.
        history = await database_sync_to_async(
            lambda: list(widget_auth.visitor_messages(inbox=inbox, visitor_id="v1").values_list("text", flat=True)))()
        assert history == ["I need help with my order", "Ana joined the conversation"]

        await database_sync_to_async(services.typing)(conversation=conversation, who="agent", is_typing=True, name="Ana")
        typing = await next_event(ws, "typing")
        assert typing["data"] == {"typing": True, "name": "Ana"}
        await database_sync_to_async(services.add_note)(conversation=conversation, author=agent, text="VIP customer")
        await database_sync_to_async(services.send_reply)(conversation=conversation, text="Hi! Let me check.",
                                                          author=agent)
        created = await next_event(ws, "message.created")
        # The private note was never forwarded: the first message that came is the reply.
        assert created["data"]["text"] == "Hi! Let me check."
        assert created["data"]["author_name"] == "Ana"
        assert "is_private_note" not in created["data"]
        # The widget saw it while open: it becomes "read".
        await ws.send_json_to({"action": "seen", "up_to": created["data"]["id"]})
        while True:
            updated = await next_event(ws, "message.updated")
            if updated["data"]["delivery_state"] == "read":
                break
        await ws.disconnect()

    asyncio.run(scenario())
    assert Message.objects.get(text="Hi! Let me check.").delivery_state == "read"
    assert Message.objects.get(text="I need help with my order").delivery_state == ""


def test_nobody_online_pending_with_availability(inbox):
    async def scenario():
        ws, _ = await connect(inbox, token_for(inbox, "v1"))
        await ws.send_json_to({"action": "message", "text": "anyone there?", "client_id": "c1"})
        await next_event(ws, "ack")
        await next_event(ws, "conversation")
        conversation = await database_sync_to_async(Conversation.objects.get)()
        assert conversation.status == "pending" and conversation.assignee_id is None
        # A status change of a pending conversation carries the availability for the widget.
        await database_sync_to_async(services.set_priority)(conversation=conversation, priority=2)
        status = await next_event(ws, "conversation.status")
        assert status["data"]["status"] == "pending"
        assert status["data"]["availability"]["online"] is False
        await ws.disconnect()

    asyncio.run(scenario())


def test_bot_answers_a_known_question(db):
    from bot import services as bot_services

    inbox = make_inbox()
    bot_services.answer_create(
        title="Shipping times", locale="en", inboxes=[inbox],
        text="We ship within 2 business days; delivery takes 3-5 days.",
        variants=["how long does shipping take", "when will my order arrive", "shipping time"])

    async def scenario():
        ws, _ = await connect(inbox, token_for(inbox, "v1"))
        await ws.send_json_to({"action": "message", "text": "hello", "client_id": "c0"})
        await next_event(ws, "ack")
        await next_event(ws, "conversation")
        # Now in the conversation's group: the bot's answer arrives live.
        await ws.send_json_to({"action": "message", "text": "How long does shipping take?", "client_id": "c1"})
        while True:
            frame = await next_event(ws, "message.created")
            if frame["data"]["sender_kind"] == "bot" and "ship within" in frame["data"]["text"]:
                break
        assert frame["data"]["direction"] == "out"
        assert frame["data"]["quick_replies"], "the answer offers helpful / talk to a person"
        await ws.disconnect()

    asyncio.run(scenario())
    assert Conversation.objects.get().status == "bot"


def test_second_tab_follows_a_conversation_started_elsewhere(inbox):
    token = token_for(inbox, "v1")

    async def scenario():
        tab1, _ = await connect(inbox, token)
        tab2, _ = await connect(inbox, token)
        await tab1.send_json_to({"action": "message", "text": "first", "client_id": "c1"})
        conversation_id = (await next_event(tab1, "ack"))["data"]["message"]["conversation_id"]
        await tab2.send_json_to({"action": "sync"})  # what widget.js does on the storage event
        assert (await next_event(tab2, "conversation"))["data"]["conversation_id"] == conversation_id
        await tab1.send_json_to({"action": "message", "text": "second", "client_id": "c2"})
        assert (await next_event(tab2, "message.created"))["data"]["text"] == "second"
        await tab1.disconnect()
        await tab2.disconnect()

    asyncio.run(scenario())


def test_contact_typing_reaches_agents_not_the_widget(inbox):
    from channels.layers import get_channel_layer

    async def scenario():
        ws, _ = await connect(inbox, token_for(inbox, "v1"))
        await ws.send_json_to({"action": "message", "text": "hi", "client_id": "c1"})
        await next_event(ws, "ack")
        await next_event(ws, "conversation")
        layer = get_channel_layer()
        agent_channel = await layer.new_channel()
        await layer.group_add(f"inbox-{inbox.pk}", agent_channel)
        await ws.send_json_to({"action": "typing", "typing": True})
        while True:
            event = await asyncio.wait_for(layer.receive(agent_channel), TIMEOUT)
            if event["event"] == "typing":
                break
        assert event["data"]["who"] == "contact" and event["data"]["typing"] is True
        await ws.send_json_to({"action": "ping"})
        assert (await ws.receive_json_from(TIMEOUT))["event"] == "pong"  # no echo of its own typing
        await ws.disconnect()

    asyncio.run(scenario())
