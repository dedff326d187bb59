"""Write path: agents' presence (``inbox.services.presence``)"""

from __future__ import annotations


import pytest

from inbox import services
from tests.factories import make_agent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_bot(settings, monkeypatch):
    """These tests are about the inbox; the bot is tested in tests/bot."""
    monkeypatch.setattr("bot.engine.bot_enabled_for", lambda inbox: False)


def test_presence_follows_open_tabs():
    agent = make_agent()
    assert services.agent_presence(user=agent) == "offline"
    services.agent_connected(user=agent, channel_name="a")
    services.agent_connected(user=agent, channel_name="b")
    services.agent_heartbeat(user=agent, channel_name="a", presence="away")
    assert services.agent_presence(user=agent) == "online"
    services.agent_disconnected(user=agent, channel_name="b")
    assert services.agent_presence(user=agent) == "away"
    services.agent_disconnected(user=agent, channel_name="a")
    assert services.agent_presence(user=agent) == "offline"
