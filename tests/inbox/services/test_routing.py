"""Write path: assignment, hand-off and auto-assignment (``inbox.services.routing``)"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from inbox import services
from inbox.models import Contact, Conversation
from tests.factories import make_agent, make_inbox, receive

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_bot(settings, monkeypatch):
    """These tests are about the inbox; the bot is tested in tests/bot."""
    monkeypatch.setattr("bot.engine.bot_enabled_for", lambda inbox: False)


def test_assign_with_expected_owner_gives_one_clear_owner():
    inbox = make_inbox()
    ana, bruno = make_agent("ana", inboxes=[inbox]), make_agent("bruno", inboxes=[inbox])
    conversation = receive(inbox, "hi").conversation
    services.assign(conversation=conversation, agent=ana, actor=ana, expected_assignee_id=None)
    with pytest.raises(services.AssignmentConflict) as excinfo:
        services.assign(conversation=conversation, agent=bruno, actor=bruno, expected_assignee_id=None)
    assert excinfo.value.current_assignee == ana
    conversation.refresh_from_db()
    assert conversation.assignee == ana and conversation.status == Conversation.Status.OPEN


def test_assign_refuses_an_agent_outside_the_inbox():
    inbox = make_inbox()
    outsider = make_agent()
    conversation = receive(inbox, "hi").conversation
    with pytest.raises(services.ServiceError):
        services.assign(conversation=conversation, agent=outsider)


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_end_with_one_owner():
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"] in ("", ":memory:") or "memory" in str(
            connection.settings_dict.get("TEST", {}).get("NAME") or connection.creation._get_test_db_name()):
        pytest.skip("threads need a file or server database to share")
    inbox = make_inbox()
    agents = [make_agent(inboxes=[inbox]) for _ in range(4)]
    conversation = receive(inbox, "hi").conversation
    outcomes = []

    def claim(agent):
        try:
            services.assign(conversation=conversation, agent=agent, actor=agent, expected_assignee_id=None)
            outcomes.append(("ok", agent.pk))
        except services.AssignmentConflict:
            outcomes.append(("conflict", agent.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(a,)) for a in agents]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [pk for outcome, pk in outcomes if outcome == "ok"]
    assert len(winners) == 1
    conversation.refresh_from_db()
    assert conversation.assignee_id == winners[0]


def test_hand_off_records_reason_and_auto_assigns_an_online_agent():
    inbox = make_inbox()
    ana = make_agent("ana", inboxes=[inbox])
    make_agent("bruno", inboxes=[inbox])  # offline
    services.agent_connected(user=ana, channel_name="tab-1")
    conversation = Conversation.objects.create(inbox=inbox, contact=Contact.objects.create(name="X"))
    services.hand_off(conversation=conversation, reason="asked_for_human")
    conversation.refresh_from_db()
    assert conversation.handoff_reason == "asked_for_human"
    assert conversation.assignee == ana and conversation.status == Conversation.Status.OPEN
    assert conversation.messages.filter(sender_kind="system", metadata__event="agent_joined").exists()


def test_auto_assignment_respects_maximum_and_round_robin():
    inbox = make_inbox()
    ana, bruno = make_agent("ana", inboxes=[inbox]), make_agent("bruno", inboxes=[inbox])
    ana.agent_profile.max_open_conversations = 1
    ana.agent_profile.save()
    for agent in (ana, bruno):
        services.agent_connected(user=agent, channel_name=f"tab-{agent.pk}")
    owners = []
    for i in range(3):
        conversation = Conversation.objects.create(inbox=inbox, contact=Contact.objects.create(name=f"C{i}"))
        owners.append(services.hand_off(conversation=conversation, reason="low_confidence").assignee)
    assert owners.count(ana) == 1 and owners.count(bruno) == 2


def test_no_online_agent_leaves_it_unassigned_pending():
    inbox = make_inbox()
    make_agent(inboxes=[inbox])
    conversation = Conversation.objects.create(inbox=inbox, contact=Contact.objects.create(name="X"))
    conversation = services.hand_off(conversation=conversation, reason="low_confidence", detail="score 0.31")
    assert conversation.status == Conversation.Status.PENDING and conversation.assignee is None
    assert conversation.handoff_detail == "score 0.31"
