"""Fixtures for the widget tests: a web chat inbox, visitor tokens, immediate tasks."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from widget import auth as widget_auth
from inbox.models import ChannelKind, Inbox


@pytest.fixture(autouse=True)
def immediate_tasks():
    from huey.contrib.djhuey import HUEY

    previous = HUEY.immediate
    HUEY.immediate = True
    cache.clear()  # rate-limit counters of an earlier test must not leak into this one
    yield
    HUEY.immediate = previous
    cache.clear()


def make_inbox(**fields) -> Inbox:
    defaults = {"name": "Casa Verde chat", "channel_kind": ChannelKind.WEBCHAT,
                "allowed_origins": "https://shop.example.com"}
    return Inbox.objects.create(**{**defaults, **fields})


def disable_bot(inbox: Inbox) -> None:
    from bot.models import BotSettings

    BotSettings.objects.update_or_create(inbox=inbox, defaults={"enabled": False})


@pytest.fixture
def inbox(db):
    inbox = make_inbox()
    disable_bot(inbox)
    return inbox


@pytest.fixture
def visitor_token(inbox):
    def factory(visitor_id: str | None = None) -> str:
        return widget_auth.issue_token(inbox=inbox, visitor_id=visitor_id or widget_auth.new_visitor_id())

    return factory
