"""The agents' websocket follows inbox membership and checks the full origin (issue #11 item 20)."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from .conftest import inbound, make_agent, make_inbox
from .test_consumer import communicator_for, receive_event

pytestmark = pytest.mark.django_db(transaction=True)


def test_agent_removed_from_an_inbox_stops_hearing_it(inbox_a):
    other = make_inbox("Still mine")
    agent = make_agent("ana", inbox_a, other)

    async def scenario():
        socket = communicator_for(agent)
        assert (await socket.connect())[0]
        await database_sync_to_async(inbound)(inbox_a, "before removal")
        assert (await receive_event(socket, "message.created"))["data"]["text"] == "before removal"

        await database_sync_to_async(inbox_a.members.remove)(agent)
        await receive_event(socket, "membership.changed")
        await database_sync_to_async(inbound)(inbox_a, "secret after removal", sender="v2")
        await database_sync_to_async(inbound)(other, "still allowed", sender="v3")
        # Events arrive in order: the allowed one proves nothing of inbox_a came before it.
        message = await receive_event(socket, "message.created")
        assert message["data"]["text"] == "still allowed"

        await database_sync_to_async(inbox_a.members.add)(agent)
        await receive_event(socket, "membership.changed")
        await database_sync_to_async(inbound)(inbox_a, "welcome back", sender="v4")
        assert (await receive_event(socket, "message.created"))["data"]["text"] == "welcome back"
        await socket.disconnect()

    async_to_sync(scenario)()


def test_inbox_members_set_in_bulk_also_updates_sockets(inbox_a):
    agent = make_agent("ana", inbox_a)
    other = make_inbox("Other")

    async def scenario():
        socket = communicator_for(agent)
        assert (await socket.connect())[0]
        await database_sync_to_async(inbox_a.members.clear)()
        await receive_event(socket, "membership.changed")
        await database_sync_to_async(agent.inboxes.add)(other)
        await receive_event(socket, "membership.changed")
        await database_sync_to_async(inbound)(inbox_a, "not for ana", sender="v2")
        await database_sync_to_async(inbound)(other, "for ana", sender="v3")
        assert (await receive_event(socket, "message.created"))["data"]["text"] == "for ana"
        await socket.disconnect()

    async_to_sync(scenario)()


@pytest.mark.parametrize("origin,accepted", [
    ("https://inbox.example.com", True),
    ("http://inbox.example.com", False),       # same host, other scheme
    ("https://inbox.example.com:8443", False),  # same host, other port
    ("https://evil.example.net", False),
    (None, False),
])
def test_origin_must_match_scheme_host_and_port(settings, inbox_a, origin, accepted):
    from django.test import Client

    from config.asgi import application

    settings.ALLOWED_HOSTS = ["inbox.example.com"]
    settings.PUBLIC_BASE_URL = "https://inbox.example.com"
    settings.CSRF_TRUSTED_ORIGINS = []
    agent = make_agent("ana", inbox_a)
    client = Client()
    client.force_login(agent)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()

    async def scenario():
        headers = [(b"host", b"inbox.example.com"), (b"cookie", cookie)]
        if origin:
            headers.append((b"origin", origin.encode()))
        socket = WebsocketCommunicator(application, "/ws/agent/", headers=headers)
        socket.scope["scheme"] = "wss"
        connected, _ = await socket.connect()
        assert connected is accepted
        if connected:
            await socket.disconnect()

    async_to_sync(scenario)()
