"""Conversation lists as an agent sees them (``inbox.selectors``)."""

from __future__ import annotations


import pytest

from inbox import services
from inbox.selectors import conversation_list
from tests.factories import make_agent, make_inbox, receive

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_bot(settings, monkeypatch):
    """These tests are about the inbox; the bot is tested in tests/bot."""
    monkeypatch.setattr("bot.engine.bot_enabled_for", lambda inbox: False)


def test_conversation_list_views_and_search():
    inbox, other = make_inbox(), make_inbox()
    ana = make_agent("ana", inboxes=[inbox])
    mine = receive(inbox, "where is my order", sender="c1", sender_name="Carla").conversation
    services.assign(conversation=mine, agent=ana)
    receive(inbox, "refund please", sender="c2", sender_name="Diego")
    receive(other, "not visible", sender="c3")
    assert [c.pk for c in conversation_list(user=ana, view="mine")] == [mine.pk]
    assert len(conversation_list(user=ana, view="unassigned")) == 1
    assert len(conversation_list(user=ana, view="all")) == 2  # inbox B is not hers
    assert [c.contact.name for c in conversation_list(user=ana, query="refund")] == ["Diego"]
    assert [c.contact.name for c in conversation_list(user=ana, query="carla")] == ["Carla"]
    unread = {c.contact.name: c.unread_count for c in conversation_list(user=ana)}
    assert unread == {"Carla": 1, "Diego": 1}
    services.mark_read(conversation=mine, user=ana)
    assert {c.contact.name: c.unread_count for c in conversation_list(user=ana)}["Carla"] == 0
