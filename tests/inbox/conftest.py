"""Shared setup for the inbox tests: real services, the locmem channel adapter, inline tasks."""

from __future__ import annotations

import itertools

import pytest
from django.contrib.auth import get_user_model

from channels_adapters import locmem
from channels_adapters.base import InboundMessage
from channels_adapters.locmem import LocmemAdapter
from inbox import services
from inbox.models import Inbox

_ids = itertools.count(1)


class WindowedLocmemAdapter(LocmemAdapter):
    """The locmem adapter with WhatsApp's 24-hour customer-service window."""

    window_hours = 24


@pytest.fixture(autouse=True)
def inbox_test_setup(settings, tmp_path):
    from huey.contrib.djhuey import HUEY

    settings.CHANNEL_ADAPTERS = {
        "webchat": "channels_adapters.locmem.LocmemAdapter",
        "email": "channels_adapters.locmem.LocmemAdapter",
        "messenger": "channels_adapters.locmem.LocmemAdapter",
        "whatsapp": "tests.inbox.conftest.WindowedLocmemAdapter",
    }
    settings.MEDIA_ROOT = str(tmp_path / "media")
    previous = HUEY.immediate
    HUEY.immediate = True
    locmem.reset()
    yield
    HUEY.immediate = previous
    locmem.reset()


def make_agent(username: str, *inboxes: Inbox, first_name: str = ""):
    user = get_user_model().objects.create_user(username=username,
                                                first_name=first_name or username.title())
    for inbox in inboxes:
        inbox.members.add(user)
    return user


def make_inbox(name: str, kind: str = "webchat", **fields) -> Inbox:
    # Inboxes are configuration (made in the admin), not conversation data.
    return Inbox.objects.create(name=name, channel_kind=kind, **fields)


def inbound(inbox: Inbox, text: str, *, sender: str = "visitor-1", name: str = "Maria Souza", **extra):
    """A customer message through the real write path (the bot stays out of it)."""
    message = InboundMessage(provider_message_id=f"test-{next(_ids)}", sender_address=sender, text=text,
                             sender_name=name, **extra)
    return services.receive_inbound(inbox=inbox, inbound=message, auto_reply=False)


@pytest.fixture
def inbox_a(db):
    return make_inbox("Shop chat")


@pytest.fixture
def inbox_b(db):
    return make_inbox("Other brand", "email")


@pytest.fixture
def agent(inbox_a):
    return make_agent("ana", inbox_a, first_name="Ana")


@pytest.fixture
def other_agent(inbox_b):
    return make_agent("bruno", inbox_b, first_name="Bruno")
