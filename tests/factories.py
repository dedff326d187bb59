"""Small builders for test data. They go through the write path where one exists."""

from __future__ import annotations

import itertools

from django.contrib.auth import get_user_model

from channels_adapters.base import InboundMessage
from inbox import services
from inbox.models import AgentProfile, Inbox

_seq = itertools.count(1)


def make_agent(username: str | None = None, *, inboxes=(), staff: bool = False, **extra):
    username = username or f"agent{next(_seq)}"
    user = get_user_model().objects.create_user(username=username, password="pw-" + username, is_staff=staff, **extra)
    AgentProfile.objects.create(user=user, display_name=username.title())
    for inbox in inboxes:
        inbox.members.add(user)
    return user


def make_inbox(kind: str = "webchat", *, name: str | None = None, members=(), **fields) -> Inbox:
    inbox = Inbox.objects.create(name=name or f"{kind} inbox {next(_seq)}", channel_kind=kind, **fields)
    inbox.members.add(*members)
    return inbox


def inbound(text: str = "hello", *, sender: str = "customer-1", provider_id: str | None = None, **fields) -> InboundMessage:
    return InboundMessage(provider_message_id=provider_id or f"p-{next(_seq)}", sender_address=sender, text=text, **fields)


def receive(inbox: Inbox, text: str = "hello", **kwargs):
    auto_reply = kwargs.pop("auto_reply", True)
    conversation = kwargs.pop("conversation", None)
    return services.receive_inbound(inbox=inbox, inbound=inbound(text, **kwargs), conversation=conversation,
                                    auto_reply=auto_reply)
