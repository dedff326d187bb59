"""Fixtures for the retention tests: in-memory channel adapters, Huey inline, and a small
factory for a conversation in which the customer wrote."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.contrib.auth import get_user_model

from channels_adapters import locmem
from channels_adapters.base import InboundMessage
from inbox import services as inbox_services
from inbox.models import Inbox

_ids = itertools.count(1)

@pytest.fixture(autouse=True)
def _retention_env(settings):
    from huey.contrib.djhuey import HUEY

    settings.CHANNEL_ADAPTERS = {
        "webchat": "channels_adapters.locmem.LocmemAdapter",
        "email": "channels_adapters.locmem.LocmemAdapter",
        "whatsapp": "tests.retention.adapters.WindowedLocmemAdapter",
        "messenger": "tests.retention.adapters.WindowedLocmemAdapter",
    }
    settings.CONVERSATION_RESOLVED_HANDLERS = ["retention.surveys.on_conversation_resolved"]
    settings.PUBLIC_BASE_URL = "http://testserver"
    previous = HUEY.immediate
    HUEY.immediate = True
    locmem.reset()
    yield
    HUEY.immediate = previous
    locmem.reset()


@pytest.fixture
def outbox():
    return locmem.outbox


@pytest.fixture
def make_inbox(db):
    def factory(kind: str = "webchat", **fields) -> Inbox:
        return Inbox.objects.create(name=f"{kind} inbox {next(_ids)}", channel_kind=kind, **fields)

    return factory


@pytest.fixture
def agent(db):
    return get_user_model().objects.create_user("agent", password="pw-agent-123")


def customer_writes(inbox: Inbox, text: str = "hello", *, address: str = "", payload: str = "",
                    automated: bool = False, name: str = "Ana Souza", email: str = ""):
    """The customer writes on ``inbox`` (the bot is not run); returns the InboundResult."""
    address = address or (email or f"visitor-{next(_ids)}")
    inbound = InboundMessage(provider_message_id=f"in-{next(_ids)}", sender_address=address, text=text,
                             sender_name=name, quick_reply_payload=payload, automated=automated,
                             contact_email=email)
    return inbox_services.receive_inbound(inbox=inbox, inbound=inbound, auto_reply=False)


@pytest.fixture
def conversation_factory(make_inbox, agent, django_capture_on_commit_callbacks):
    """A conversation on a new inbox of ``kind`` where the customer wrote and ``agent`` replied."""
    def factory(kind: str = "webchat", *, text: str = "where is my order?", automated: bool = False, **inbox_fields):
        inbox = make_inbox(kind, **inbox_fields)
        inbox.members.add(agent)
        email = "ana@example.com" if kind == "email" else ""
        with django_capture_on_commit_callbacks(execute=True):
            result = customer_writes(inbox, text, automated=automated, email=email,
                                     address="5511999990000" if kind == "whatsapp" else "")
            inbox_services.send_reply(conversation=result.conversation, text="On its way!", author=agent)
        locmem.reset()
        result.conversation.refresh_from_db()
        return result.conversation

    return factory


def at(text: str) -> dt.datetime:
    """An aware UTC datetime from ISO text, for frozen clocks passed as ``now=``."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc)
