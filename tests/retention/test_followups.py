import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from inbox import services as inbox_services
from inbox.models import Contact, Conversation, Inbox
from retention import followups, services
from retention.models import FollowUpRule, FollowUpSend

from .conftest import at

pytestmark = pytest.mark.django_db
NO_QUIET = {"quiet_start": dt.time(0), "quiet_end": dt.time(0)}


def delivered_order(contact, ref="D-1", delivered="2030-01-05T12:00"):
    return services.order_upsert(external_id=ref, contact=contact, ordered_at=at("2030-01-01T12:00"),
                                 total=Decimal("50"), currency="BRL", status="delivered",
                                 delivered_at=at(delivered))[0]


def delivery_rule(**fields):
    return services.followup_rule_create(**{
        "name": "Arrived well?", "trigger": "order_delivered", "delay_hours": 72,
        "messages": {"en": "Hi {first_name}, did order {order_id} arrive well?",
                     "pt": "Oi {first_name}, o pedido {order_id} chegou bem?"}, **fields})


def test_delivery_follow_up_is_sent_once(conversation_factory, outbox, django_capture_on_commit_callbacks):
    conversation = conversation_factory("webchat")
    services.inbox_settings_update(inbox=conversation.inbox, **NO_QUIET)
    delivered_order(conversation.contact)
    delivery_rule()
    assert followups.run_due(now=at("2030-01-08T11:59")) == {}  # not due yet
    with django_capture_on_commit_callbacks(execute=True):
        assert followups.run_due(now=at("2030-01-08T12:00")) == {"sent": 1}
        assert followups.run_due(now=at("2030-01-08T12:05")) == {}
    sends = list(FollowUpSend.objects.all())
    assert len(sends) == 1 and sends[0].status == "sent" and sends[0].message is not None
    assert [m.text for m in outbox] == ["Hi Ana, did order D-1 arrive well?"]


def test_direct_resend_of_the_same_trigger_is_refused(conversation_factory, outbox, django_capture_on_commit_callbacks):
    conversation = conversation_factory("webchat")
    services.inbox_settings_update(inbox=conversation.inbox, **NO_QUIET)
    order = delivered_order(conversation.contact)
    rule = delivery_rule()
    key = f"order:{order.pk}"
    with django_capture_on_commit_callbacks(execute=True):
        first = services.followup_send(rule=rule, contact=conversation.contact, trigger_key=key,
                                       due_at=at("2030-01-08T12:00"), context={"order_id": "D-1"},
                                       now=at("2030-01-08T12:00"))
        second = services.followup_send(rule=rule, contact=conversation.contact, trigger_key=key,
                                        due_at=at("2030-01-08T12:00"), context={"order_id": "D-1"},
                                        now=at("2030-01-08T12:00"))
    assert first.status == "sent" and second is None and len(outbox) == 1


def test_opted_out_contact_is_recorded_as_skipped_and_gets_nothing(conversation_factory, outbox):
    conversation = conversation_factory("webchat")
    services.inbox_settings_update(inbox=conversation.inbox, **NO_QUIET)
    delivered_order(conversation.contact)
    delivery_rule()
    services.contact_opt_out(contact=conversation.contact)
    assert followups.run_due(now=at("2030-01-08T12:00")) == {"skipped": 1}
    assert FollowUpSend.objects.get().reason == "opted out" and outbox == []


def test_opt_out_read_inside_the_send_transaction_not_from_a_stale_object(conversation_factory, outbox):
    conversation = conversation_factory("webchat")
    services.inbox_settings_update(inbox=conversation.inbox, **NO_QUIET)
    order = delivered_order(conversation.contact)
    rule = delivery_rule()
    stale = Contact.objects.get(pk=conversation.contact_id)  # read before the opt-out lands
    services.contact_opt_out(contact=conversation.contact)
    record = services.followup_send(rule=rule, contact=stale, trigger_key=f"order:{order.pk}",
                                    due_at=at("2030-01-08T12:00"), now=at("2030-01-08T12:00"))
    assert record.status == "skipped" and outbox == []


def test_quiet_hours_defer_to_the_morning_then_send(conversation_factory, outbox, django_capture_on_commit_callbacks):
    conversation = conversation_factory("webchat", timezone="Europe/Lisbon")
    services.inbox_settings_update(inbox=conversation.inbox, quiet_start=dt.time(21), quiet_end=dt.time(8))
    delivered_order(conversation.contact, delivered="2030-01-05T22:30")
    delivery_rule()
    assert followups.run_due(now=at("2030-01-08T22:30")) == {"deferred": 1}
    record = FollowUpSend.objects.get()
    assert record.send_after == at("2030-01-09T08:00") and outbox == []
    assert followups.run_due(now=at("2030-01-09T07:59")) == {}
    with django_capture_on_commit_callbacks(execute=True):
        assert followups.run_due(now=at("2030-01-09T08:00")) == {"sent": 1}
    assert len(outbox) == 1 and FollowUpSend.objects.count() == 1


def test_language_and_whatsapp_template_outside_the_window(conversation_factory, outbox,
                                                           django_capture_on_commit_callbacks):
    conversation = conversation_factory("whatsapp")
    inbox_services.contact_update(contact=conversation.contact, locale="pt-BR")
    services.inbox_settings_update(inbox=conversation.inbox, **NO_QUIET)
    delivered_order(conversation.contact)
    delivery_rule(template={"name": "delivery_check", "language": "pt_BR"})
    preview = followups.preview(now=at("2030-01-08T12:00"))
    assert [(row.channel, row.text, row.outcome) for row in preview] == [
        ("whatsapp", "Oi Ana, o pedido D-1 chegou bem?", "send template delivery_check")]
    assert not FollowUpSend.objects.exists()  # the preview writes nothing
    with django_capture_on_commit_callbacks(execute=True):
        followups.run_due(now=at("2030-01-08T12:00"))
    [sent] = outbox
    assert sent.template.name == "delivery_check" and sent.template.parameters == ["Ana"]


def test_no_order_for_n_days_restarts_with_a_new_order(conversation_factory, outbox,
                                                       django_capture_on_commit_callbacks):
    conversation = conversation_factory("webchat")
    services.inbox_settings_update(inbox=conversation.inbox, **NO_QUIET)
    contact = conversation.contact
    services.order_upsert(external_id="N-1", contact=contact, ordered_at=at("2030-01-01T12:00"),
                          total=Decimal("10"), currency="BRL")
    services.followup_rule_create(name="Come back", trigger="no_order_for", delay_hours=30 * 24,
                                  messages={"en": "We miss you, {first_name}!"})
    with django_capture_on_commit_callbacks(execute=True):
        assert followups.run_due(now=at("2030-01-20T12:00")) == {}
        assert followups.run_due(now=at("2030-01-31T12:00")) == {"sent": 1}
        assert followups.run_due(now=at("2030-02-01T12:00")) == {}
        services.order_upsert(external_id="N-2", contact=contact, ordered_at=at("2030-02-02T12:00"),
                              total=Decimal("10"), currency="BRL")
        assert followups.run_due(now=at("2030-03-04T12:00")) == {"sent": 1}
    assert len(outbox) == 2
    assert sorted(FollowUpSend.objects.values_list("trigger_key", flat=True)) == [
        f"last-order:{pk}" for pk in sorted(contact.orders.values_list("pk", flat=True))]


def test_old_triggers_are_ignored_so_a_new_rule_does_not_spam_the_past(conversation_factory, outbox):
    conversation = conversation_factory("webchat")
    services.inbox_settings_update(inbox=conversation.inbox, **NO_QUIET)
    delivered_order(conversation.contact, delivered="2029-06-01T12:00")
    delivery_rule(max_age_days=14)
    assert followups.run_due(now=at("2030-01-08T12:00")) == {}


def test_conversation_resolved_trigger_uses_that_conversation(conversation_factory, outbox,
                                                              django_capture_on_commit_callbacks):
    conversation = conversation_factory("webchat")
    services.inbox_settings_update(inbox=conversation.inbox, **NO_QUIET)
    inbox_services.resolve(conversation=conversation)
    conversation.refresh_from_db()
    services.followup_rule_create(name="All good?", trigger="conversation_resolved", delay_hours=24,
                                  messages={"en": "Is everything solved, {first_name}?"})
    with django_capture_on_commit_callbacks(execute=True):
        counts = followups.run_due(now=conversation.resolved_at + dt.timedelta(hours=24))
    assert counts == {"sent": 1}
    assert FollowUpSend.objects.get().conversation_id == conversation.pk


def test_no_address_on_the_preferred_channel_is_skipped_with_a_reason(conversation_factory, outbox):
    conversation = conversation_factory("webchat")
    delivered_order(conversation.contact)
    delivery_rule(channel_preference=["whatsapp"])
    assert followups.run_due(now=at("2030-01-08T12:00")) == {"skipped": 1}
    assert FollowUpSend.objects.get().reason == "no address on a preferred channel"


def test_customer_who_never_wrote_gets_a_new_conversation(outbox, django_capture_on_commit_callbacks):
    """A customer known only from the shop's orders (e-mail identity from the order API)."""
    email_inbox = Inbox.objects.create(name="Mail", channel_kind="email")
    services.inbox_settings_update(inbox=email_inbox, **NO_QUIET)
    contact, _ = services.customer_upsert(email="new.buyer@example.com", name="Nina Buyer")
    delivered_order(contact)
    delivery_rule(channel_preference=["email"])
    rows = followups.preview(now=at("2030-01-08T12:00"))
    assert [r.outcome for r in rows] == ["start a conversation on Mail"]
    assert Conversation.objects.count() == 0  # the preview writes nothing
    with django_capture_on_commit_callbacks(execute=True):
        assert followups.run_due(now=at("2030-01-08T12:00")) == {"sent": 1}
    conversation = Conversation.objects.get()
    assert conversation.contact == contact and conversation.status == "resolved"
    assert outbox[-1].recipient_address == "new.buyer@example.com" and "D-1" in outbox[-1].text


def test_preview_page_is_staff_only(client, conversation_factory):
    conversation = conversation_factory("webchat")
    services.inbox_settings_update(inbox=conversation.inbox, **NO_QUIET)
    user = get_user_model().objects.create_user("plain", password="pw-plain-123")
    client.force_login(user)
    assert client.get("/retention/followups/preview/").status_code == 403
    staff = get_user_model().objects.create_user("staff", password="pw-staff-123", is_staff=True)
    client.force_login(staff)
    response = client.get("/retention/followups/preview/")
    assert response.status_code == 200 and b"dry run" in response.content
