"""The agents' websocket (``AgentConsumer``) with Channels' WebsocketCommunicator.

Negative checks ("B heard nothing") do not wait for a timeout: the in-memory layer delivers
each channel's messages in order, so a later event that B must receive proves nothing came
before it.
"""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from inbox import services
from inbox.consumers import AgentConsumer
from inbox.models import AgentConnection

from .conftest import inbound, make_agent

pytestmark = pytest.mark.django_db(transaction=True)


def communicator_for(user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(AgentConsumer.as_asgi(), "/ws/agent/")
    communicator.scope["user"] = user
    return communicator


async def receive_event(communicator, name: str, *, skip=("conversation.created", "conversation.updated",
                                                          "conversation.needs_agent", "agent.presence")) -> dict:
    """The next event called ``name``, skipping the listed kinds of events on the way."""
    while True:
        message = await communicator.receive_json_from(timeout=5)
        if message["event"] == name:
            return message
        assert message["event"] in skip, f"expected {name}, got {message}"


def test_unauthenticated_is_closed_with_4401():
    async def scenario():
        communicator = communicator_for(AnonymousUser())
        connected, _ = await communicator.connect()
        assert connected
        output = await communicator.receive_output(timeout=5)
        assert output == {"type": "websocket.close", "code": 4401}
        await communicator.wait()

    async_to_sync(scenario)()


def test_events_reach_only_agents_of_the_inbox(inbox_a, inbox_b, agent, other_agent):
    async def scenario():
        a, b = communicator_for(agent), communicator_for(other_agent)
        assert (await a.connect())[0] and (await b.connect())[0]
        result = await database_sync_to_async(inbound)(inbox_a, "<b>parcel</b> late")
        message = await receive_event(a, "message.created")
        assert message["data"]["text"] == "<b>parcel</b> late"
        assert message["data"]["conversation_id"] == result.conversation.pk
        # Now something in B's own inbox: it must be the first message event B sees.
        await database_sync_to_async(inbound)(inbox_b, "mail for B", sender="b@example.com")
        seen = await receive_event(b, "message.created")
        assert seen["data"]["text"] == "mail for B"
        await a.disconnect()
        await b.disconnect()

    async_to_sync(scenario)()


def test_typing_is_forwarded_to_colleagues_not_echoed(inbox_a, inbox_b, agent):
    colleague = make_agent("carla", inbox_a, first_name="Carla")
    conversation = inbound(inbox_a, "hello").conversation
    foreign = inbound(inbox_b, "other", sender="x@example.com").conversation

    async def scenario():
        ana, carla = communicator_for(agent), communicator_for(colleague)
        assert (await ana.connect())[0] and (await carla.connect())[0]
        # Typing in a conversation of another inbox is ignored (Ana is not a member).
        await ana.send_json_to({"action": "typing", "conversation_id": foreign.pk, "typing": True})
        await ana.send_json_to({"action": "typing", "conversation_id": conversation.pk, "typing": True})
        event = await receive_event(carla, "typing")
        assert event["data"] == {"conversation_id": conversation.pk, "who": "agent", "name": "Ana", "typing": True,
                                 "user_id": agent.pk}
        # Ana's own typing is not echoed: her next event is Carla's typing.
        await carla.send_json_to({"action": "typing", "conversation_id": conversation.pk, "typing": False})
        event = await receive_event(ana, "typing")
        assert event["data"]["name"] == "Carla" and event["data"]["typing"] is False
        await ana.disconnect()
        await carla.disconnect()

    async_to_sync(scenario)()


def test_contact_typing_reaches_agents(inbox_a, agent):
    conversation = inbound(inbox_a, "hello").conversation

    async def scenario():
        ana = communicator_for(agent)
        assert (await ana.connect())[0]
        await database_sync_to_async(services.typing)(conversation=conversation, who="contact", is_typing=True,
                                                      name="Maria")
        event = await receive_event(ana, "typing")
        assert event["data"]["who"] == "contact" and event["data"]["name"] == "Maria"
        await ana.disconnect()

    async_to_sync(scenario)()


def test_presence_rows_follow_the_socket(inbox_a, agent):
    def rows():
        return list(AgentConnection.objects.filter(user=agent).values_list("presence", flat=True))

    async def scenario():
        ana = communicator_for(agent)
        assert (await ana.connect())[0]
        assert await database_sync_to_async(rows)() == ["online"]
        await ana.send_json_to({"action": "presence", "presence": "away"})
        event = await receive_event(ana, "agent.presence", skip=())
        while event["data"]["presence"] != "away":  # the "online" of the connect comes first
            event = await receive_event(ana, "agent.presence", skip=())
        assert event["data"]["user_id"] == agent.pk
        assert await database_sync_to_async(rows)() == ["away"]
        await ana.disconnect()
        assert await database_sync_to_async(rows)() == []

    async_to_sync(scenario)()


def test_through_the_asgi_app_with_a_session_cookie(settings, inbox_a, agent, client):
    """Origin check and session authentication in front of the consumer, through config/asgi.py
    (the origin validator reads its settings per connection)."""
    from config.asgi import application

    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    client.force_login(agent)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()

    async def scenario():
        good = WebsocketCommunicator(application, "/ws/agent/",
                                     headers=[(b"cookie", cookie), (b"host", b"127.0.0.1"),
                                              (b"origin", b"http://127.0.0.1")])
        assert (await good.connect())[0]
        await good.disconnect()
        foreign = WebsocketCommunicator(application, "/ws/agent/",
                                        headers=[(b"cookie", cookie), (b"host", b"127.0.0.1"),
                                                 (b"origin", b"http://evil.example")])
        assert not (await foreign.connect())[0]
        anonymous = WebsocketCommunicator(application, "/ws/agent/",
                                          headers=[(b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1")])
        assert (await anonymous.connect())[0]
        assert (await anonymous.receive_output(timeout=5))["code"] == 4401
        await anonymous.disconnect()  # end the app task too, so the event loop can close

    async_to_sync(scenario)()
