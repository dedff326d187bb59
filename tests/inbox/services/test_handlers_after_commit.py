"""Inbound handlers (surveys, the bot) run in a task after the customer's message committed
(``inbox.services.hooks.run_inbound_handlers_for``): the message is broadcast first, each
message is handled once however often the task runs, and the sweep finds one whose task was lost."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from inbox import services, tasks
from inbox.models import Message
from tests.factories import make_inbox, receive

pytestmark = pytest.mark.django_db

calls: list[int] = []


def recording_handler(message) -> bool:
    calls.append(message.pk)
    return True


@pytest.fixture(autouse=True)
def only_the_recording_handler(settings, monkeypatch):
    calls.clear()
    settings.INBOUND_MESSAGE_HANDLERS = ["tests.inbox.services.test_handlers_after_commit.recording_handler"]
    services.hooks._load.cache_clear()
    yield
    services.hooks._load.cache_clear()


def test_the_handlers_run_after_the_commit_not_inside_it(django_capture_on_commit_callbacks):
    inbox = make_inbox("whatsapp")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = receive(inbox, "oi", provider_id="wamid.a")
    assert calls == []  # nothing ran inside the receiving transaction
    assert len(callbacks) >= 2  # the broadcasts and the handler task, all after commit
    for callback in callbacks:
        callback()
    assert calls == [result.message.pk]
    result.message.refresh_from_db()
    assert result.message.handled_at is not None


def test_a_message_is_handled_once_however_often_the_task_runs(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        result = receive(make_inbox("whatsapp"), "oi", provider_id="wamid.b")
    services.run_inbound_handlers_for(result.message.pk)
    services.run_inbound_handlers_for(result.message.pk)
    assert calls == [result.message.pk]


def test_the_sweep_runs_the_handlers_of_a_message_whose_task_was_lost(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):  # the task never runs: a killed worker
        result = receive(make_inbox("whatsapp"), "oi", provider_id="wamid.c")
    Message.objects.filter(pk=result.message.pk).update(created_at=timezone.now() - dt.timedelta(minutes=5))
    counts = tasks.sweep()
    assert counts["handlers_rerun"] == 1 and calls == [result.message.pk]
    assert tasks.sweep()["handlers_rerun"] == 0


def test_echoes_and_agent_messages_are_never_due():
    inbox = make_inbox("whatsapp")
    receive(inbox, "sent from the phone app", provider_id="wamid.echo", is_echo=True)
    assert services.messages_due_for_handlers(older_than=timezone.now() + dt.timedelta(minutes=1)) == []
