"""Write path: conversation status changes (``inbox.services.conversations``)"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from inbox import services
from tests.factories import make_inbox, receive

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_bot(settings, monkeypatch):
    """These tests are about the inbox; the bot is tested in tests/bot."""
    monkeypatch.setattr("bot.engine.bot_enabled_for", lambda inbox: False)


def test_snooze_in_the_past_is_refused():
    conversation = receive(make_inbox(), "hi").conversation
    with pytest.raises(services.ServiceError):
        services.snooze(conversation=conversation, until=timezone.now() - dt.timedelta(minutes=1))
