"""Write path: broadcasts happen after commit (``inbox.services.broadcast``)"""

from __future__ import annotations


import pytest

from tests.factories import make_inbox, receive

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_bot(settings, monkeypatch):
    """These tests are about the inbox; the bot is tested in tests/bot."""
    monkeypatch.setattr("bot.engine.bot_enabled_for", lambda inbox: False)


def test_broadcasts_happen_after_commit(django_capture_on_commit_callbacks, monkeypatch):
    sent = []
    monkeypatch.setattr("inbox.events.send_event", lambda groups, event, payload: sent.append((tuple(groups), event)))
    inbox = make_inbox()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        receive(inbox, "hi")
    assert sent == []  # nothing leaves before the commit
    for callback in callbacks:
        callback()
    events = {event for _, event in sent}
    assert {"message.created", "conversation.created"} <= events
    assert any(groups == (f"inbox-{inbox.pk}",) for groups, _ in sent)
