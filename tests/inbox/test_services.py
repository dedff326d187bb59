"""The write path: identities, idempotency, status rules, assignment, merge, delivery states."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from channels_adapters.base import InboundAttachment, StatusUpdate
from inbox import services
from inbox.models import ChannelKind, Contact, ContactIdentity, Conversation, Message
from inbox.selectors import conversation_list, duplicate_suggestions
from tests.factories import inbound, make_agent, make_inbox, receive

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_bot(settings, monkeypatch):
    """These tests are about the inbox; the bot is tested in tests/bot."""
    monkeypatch.setattr(services, "_bot_enabled", lambda inbox: False)


def test_first_message_creates_contact_identity_conversation_and_message():
    inbox = make_inbox("whatsapp")
    result = receive(inbox, "nao recebi meu pedido", sender="5511999990000", sender_name="Maria",
                     contact_phone="5511999990000")
    assert result.created
    contact = result.conversation.contact
    assert contact.name == "Maria" and contact.phone == "+5511999990000"
    assert ContactIdentity.objects.get(channel_kind="whatsapp", address="5511999990000").contact == contact
    assert result.conversation.status == Conversation.Status.PENDING  # no bot: straight to agents
    assert result.message.direction == "in" and result.message.sender_kind == "contact"
    assert result.conversation.last_incoming_at is not None


def test_redelivered_event_creates_nothing():
    inbox = make_inbox("whatsapp")
    first = receive(inbox, "hi", provider_id="wamid.1")
    again = receive(inbox, "hi", provider_id="wamid.1")
    assert not again.created and again.message.pk == first.message.pk
    assert Message.objects.count() == 1 and Contact.objects.count() == 1


def test_same_provider_id_in_another_inbox_is_a_different_message():
    receive(make_inbox("whatsapp"), "hi", provider_id="same")
    receive(make_inbox("whatsapp"), "hi", provider_id="same")
    assert Message.objects.count() == 2


def test_next_message_joins_the_open_conversation_and_resolved_starts_a_new_one():
    inbox = make_inbox("webchat")
    first = receive(inbox, "one")
    second = receive(inbox, "two")
    assert second.conversation.pk == first.conversation.pk
    services.resolve(conversation=first.conversation)
    third = receive(inbox, "three")
    assert third.conversation.pk != first.conversation.pk


def test_email_reply_within_window_reopens_the_resolved_conversation():
    inbox = make_inbox("email")
    first = receive(inbox, "question", sender="a@example.com")
    services.resolve(conversation=first.conversation)
    again = receive(inbox, "one more thing", sender="a@example.com")
    assert again.conversation.pk == first.conversation.pk
    assert again.conversation.status == Conversation.Status.PENDING


def test_snoozed_conversation_wakes_when_customer_writes_and_when_time_comes():
    inbox = make_inbox()
    agent = make_agent(inboxes=[inbox])
    conversation = receive(inbox, "hi").conversation
    services.assign(conversation=conversation, agent=agent)
    services.snooze(conversation=conversation, until=timezone.now() + dt.timedelta(hours=1))
    receive(inbox, "still there?")
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.OPEN and conversation.snoozed_until is None

    services.snooze(conversation=conversation, until=timezone.now() + dt.timedelta(hours=1))
    assert services.wake_snoozed(now=timezone.now() + dt.timedelta(hours=2)) == 1
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.OPEN


def test_snooze_in_the_past_is_refused():
    conversation = receive(make_inbox(), "hi").conversation
    with pytest.raises(services.ServiceError):
        services.snooze(conversation=conversation, until=timezone.now() - dt.timedelta(minutes=1))


def test_reply_to_resolved_conversation_reopens_it_and_assigns_the_author(django_capture_on_commit_callbacks):
    inbox = make_inbox()
    agent = make_agent(inboxes=[inbox])
    conversation = receive(inbox, "hi").conversation
    services.resolve(conversation=conversation)
    message = services.send_reply(conversation=conversation, author=agent, text="Back to you")
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.OPEN
    assert conversation.assignee == agent
    assert conversation.first_response_at is not None
    assert message.delivery_state == Message.Delivery.QUEUED


def test_empty_reply_and_note_are_refused():
    conversation = receive(make_inbox(), "hi").conversation
    with pytest.raises(services.ServiceError):
        services.send_reply(conversation=conversation, text="   ")
    with pytest.raises(services.ServiceError):
        services.add_note(conversation=conversation, author=None, text="")


def test_whatsapp_window_refuses_free_text_after_24_hours_but_allows_a_template():
    inbox = make_inbox("whatsapp")
    agent = make_agent(inboxes=[inbox])
    conversation = receive(inbox, "hi").conversation
    Conversation.objects.filter(pk=conversation.pk).update(last_incoming_at=timezone.now() - dt.timedelta(hours=25))
    conversation.refresh_from_db()
    window = services.service_window(conversation)
    assert window["applies"] and not window["open"]
    with pytest.raises(services.WindowClosed):
        services.send_reply(conversation=conversation, author=agent, text="hello again")
    assert not Message.objects.filter(direction="out", sender_kind="agent").exists()
    message = services.send_reply(conversation=conversation, author=agent, text="",
                                  template={"name": "order_update", "language": "pt_BR", "parameters": ["10234"]})
    assert message.metadata["template"]["name"] == "order_update"


def test_window_is_open_inside_24_hours_and_absent_for_webchat():
    conversation = receive(make_inbox("whatsapp"), "hi").conversation
    window = services.service_window(conversation)
    assert window["open"] and window["closes_at"] > timezone.now() + dt.timedelta(hours=23)
    assert services.service_window(receive(make_inbox("webchat"), "hi").conversation)["applies"] is False


def test_private_note_is_never_sent(django_capture_on_commit_callbacks):
    inbox = make_inbox()
    agent = make_agent(inboxes=[inbox])
    conversation = receive(inbox, "hi").conversation
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        note = services.add_note(conversation=conversation, author=agent, text="VIP customer")
    assert note.is_private_note and note.delivery_state == ""
    # Only broadcasts are scheduled (agents' group), no delivery task.
    assert all("deliver_message" not in repr(cb) for cb in callbacks)


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


def test_merge_moves_conversations_and_identities_without_losing_messages():
    email_inbox, wa_inbox = make_inbox("email"), make_inbox("whatsapp")
    a = receive(email_inbox, "by mail", sender="maria@example.com", contact_email="maria@example.com").conversation.contact
    b = receive(wa_inbox, "by whatsapp", sender="5511988887777", contact_phone="5511988887777").conversation.contact
    services.contact_update(contact=b, email="Maria@Example.com")
    assert duplicate_suggestions(contact=a) == [(b, "Same e-mail address (maria@example.com)")]
    merged = services.merge_contacts(primary=a, duplicate=b)
    assert Contact.objects.count() == 1
    assert merged.phone == "+5511988887777"
    assert set(merged.identities.values_list("channel_kind", flat=True)) == {"email", "whatsapp"}
    assert Message.objects.filter(conversation__contact=merged).count() == 2
    # The next WhatsApp message finds the merged contact.
    assert receive(wa_inbox, "again", sender="5511988887777").conversation.contact == merged


def test_merge_with_itself_is_refused():
    contact = Contact.objects.create(name="X")
    with pytest.raises(services.ServiceError):
        services.merge_contacts(primary=contact, duplicate=contact)


def test_delivery_state_never_moves_backwards():
    inbox = make_inbox("whatsapp")
    conversation = receive(inbox, "hi", sender="551100").conversation
    message = services.send_reply(conversation=conversation, text="hello")
    services.record_send_success(message=services.claim_for_sending(message_id=message.pk), provider_message_id="wamid.out")
    for status in ("read", "delivered", "sent"):
        services.apply_status_update(inbox=inbox, update=StatusUpdate(status=status, provider_message_id="wamid.out"))
    message.refresh_from_db()
    assert message.delivery_state == "read"
    services.apply_status_update(inbox=inbox, update=StatusUpdate(
        status="failed", provider_message_id="wamid.out", error_code="131047", error_title="Re-engagement message"))
    message.refresh_from_db()
    assert message.delivery_state == "read"  # a late failure does not undo a read


def test_sweep_resends_a_stuck_webchat_send_once_and_leaves_a_finished_one_alone():
    """The widget dedupes by message id, so a send whose worker died is queued again."""
    from channels_adapters import locmem
    from inbox import tasks

    inbox = make_inbox("webchat")
    conversation = receive(inbox, "hi", sender="v-stuck").conversation
    message = services.send_reply(conversation=conversation, text="hello")  # on_commit not run: no send yet
    services.claim_for_sending(message_id=message.pk)  # a worker claimed it, then died
    counts = tasks.sweep(now=timezone.now() + dt.timedelta(minutes=10))
    message.refresh_from_db()
    assert counts["uncertain_sends"] == 1
    assert message.delivery_state == "sent" and [m.text for m in locmem.outbox] == ["hello"]
    assert not services.requeue_uncertain_send(message=message, now=timezone.now())
    message.refresh_from_db()
    assert message.delivery_state == "sent"


def test_failed_status_shows_the_providers_reason():
    inbox = make_inbox("whatsapp")
    conversation = receive(inbox, "hi", sender="551100").conversation
    message = services.send_reply(conversation=conversation, text="hello")
    services.record_send_success(message=services.claim_for_sending(message_id=message.pk), provider_message_id="wamid.x")
    services.apply_status_update(inbox=inbox, update=StatusUpdate(
        status="failed", provider_message_id="wamid.x", error_code="131026", error_title="Message undeliverable"))
    message.refresh_from_db()
    assert message.delivery_state == "failed" and message.delivery_error_code == "131026"
    assert "undeliverable" in message.delivery_error


def test_watermark_marks_earlier_messages_read():
    inbox = make_inbox("messenger")
    conversation = receive(inbox, "hi", sender="psid-1").conversation
    ids = []
    for text in ("one", "two"):
        message = services.send_reply(conversation=conversation, text=text)
        services.record_send_success(message=services.claim_for_sending(message_id=message.pk), provider_message_id=f"m_{text}")
        ids.append(message.pk)
    services.apply_status_update(inbox=inbox, update=StatusUpdate(
        status="read", recipient_address="psid-1", watermark=timezone.now()))
    assert set(Message.objects.filter(pk__in=ids).values_list("delivery_state", flat=True)) == {"read"}


def test_reaction_is_shown_on_the_message_it_reacts_to():
    inbox = make_inbox("whatsapp")
    first = receive(inbox, "hello", sender="5511", provider_id="wamid.A")
    receive(inbox, "👍", sender="5511", provider_id="wamid.R", reaction_to_provider_id="wamid.A")
    first.message.refresh_from_db()
    assert first.message.metadata["reactions"] == {"5511": "👍"}
    assert Message.objects.count() == 1
    receive(inbox, "", sender="5511", provider_id="wamid.R2", reaction_to_provider_id="wamid.A")
    first.message.refresh_from_db()
    assert first.message.metadata["reactions"] == {}


def test_echo_of_a_message_sent_from_the_providers_app_is_shown_once():
    inbox = make_inbox("messenger")
    receive(inbox, "hi", sender="psid-9")
    echo = receive(inbox, "sent from the Page inbox", sender="psid-9", provider_id="m_echo", is_echo=True)
    assert echo.message.direction == "out" and echo.message.metadata["sent_from_provider_app"]
    assert not receive(inbox, "sent from the Page inbox", sender="psid-9", provider_id="m_echo", is_echo=True).created


def test_attachment_with_data_is_stored_and_oversized_is_marked(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.MAX_ATTACHMENT_BYTES = 10
    inbox = make_inbox("email")
    result = receive(inbox, "see files", sender="a@b.c", attachments=[
        InboundAttachment(kind="file", filename="ok.txt", content_type="text/plain", data=b"12345"),
        InboundAttachment(kind="file", filename="big.bin", content_type="application/octet-stream", data=b"x" * 11),
    ])
    statuses = dict(result.message.attachments.values_list("filename", "status"))
    assert statuses == {"ok.txt": "stored", "big.bin": "too_large"}


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


def test_one_contact_across_channels_after_identity_is_added():
    email_inbox, wa_inbox = make_inbox("email"), make_inbox("whatsapp")
    contact = receive(wa_inbox, "hi", sender="5511").conversation.contact
    services.contact_add_identity(contact=contact, channel_kind=ChannelKind.EMAIL, address="x@example.com")
    assert receive(email_inbox, "mail", sender="x@example.com").conversation.contact == contact
