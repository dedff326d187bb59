import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from inbox import services as inbox_services
from inbox.models import Contact, Conversation
from retention import services, surveys
from retention.models import Survey

from .conftest import at, customer_writes

pytestmark = pytest.mark.django_db
NO_QUIET = {"quiet_start": dt.time(0, 0), "quiet_end": dt.time(0, 0)}


def enable(inbox, **fields):
    return services.inbox_settings_update(inbox=inbox, survey_enabled=True,
                                          **{"survey_delay_minutes": 0, **NO_QUIET, **fields})


def resolve(conversation, capture, agent=None):
    with capture(execute=True):
        inbox_services.resolve(conversation=conversation, actor=agent)


def test_resolving_sends_star_quick_replies_on_the_widget(conversation_factory, agent, outbox,
                                                          django_capture_on_commit_callbacks):
    conversation = conversation_factory("webchat")
    enable(conversation.inbox)
    resolve(conversation, django_capture_on_commit_callbacks, agent)

    survey = Survey.objects.get(conversation=conversation)
    assert survey.status == Survey.Status.SENT and survey.agent == agent
    assert survey.contact_id == conversation.contact_id
    [sent] = outbox
    assert sent.text.startswith("How did we do?")
    assert [q.title for q in sent.quick_replies] == ["⭐1", "⭐2", "⭐3", "⭐4", "⭐5"]
    assert [q.payload for q in sent.quick_replies] == [f"survey:{survey.token}:{n}" for n in range(1, 6)]
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.RESOLVED  # the bot's survey does not reopen it


def test_one_survey_per_conversation_even_when_resolved_twice(conversation_factory, agent, outbox,
                                                              django_capture_on_commit_callbacks):
    conversation = conversation_factory("webchat")
    enable(conversation.inbox)
    resolve(conversation, django_capture_on_commit_callbacks, agent)
    inbox_services.reopen(conversation=conversation)
    resolve(conversation, django_capture_on_commit_callbacks, agent)
    assert Survey.objects.filter(conversation=conversation).count() == 1
    assert len(outbox) == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        Survey.objects.create(conversation=conversation, inbox=conversation.inbox, contact=conversation.contact,
                              channel_kind="webchat", scheduled_for=at("2025-01-01T00:00"))


def test_surveys_off_by_default(conversation_factory, outbox, django_capture_on_commit_callbacks):
    conversation = conversation_factory("webchat")
    resolve(conversation, django_capture_on_commit_callbacks)
    assert not Survey.objects.exists() and outbox == []


def test_never_sent_to_an_opted_out_contact(conversation_factory, outbox, django_capture_on_commit_callbacks):
    conversation = conversation_factory("webchat")
    enable(conversation.inbox)
    services.contact_opt_out(contact=conversation.contact, reason="test")
    resolve(conversation, django_capture_on_commit_callbacks)
    survey = Survey.objects.get(conversation=conversation)
    assert (survey.status, survey.skip_reason) == (Survey.Status.SKIPPED, "opted out")
    assert outbox == []


def test_opt_out_between_schedule_and_send_wins(conversation_factory, outbox, django_capture_on_commit_callbacks):
    conversation = conversation_factory("webchat")
    enable(conversation.inbox, survey_delay_minutes=60)
    resolve(conversation, django_capture_on_commit_callbacks)
    survey = Survey.objects.get(conversation=conversation)
    assert survey.status == Survey.Status.SCHEDULED
    services.contact_opt_out(contact=conversation.contact)
    with django_capture_on_commit_callbacks(execute=True):
        assert surveys.send_due_surveys(now=survey.scheduled_for + dt.timedelta(minutes=1)) == 0
    survey.refresh_from_db()
    assert survey.status == Survey.Status.SKIPPED and outbox == []


def test_not_sent_when_the_last_customer_message_was_automated(conversation_factory, outbox,
                                                               django_capture_on_commit_callbacks):
    conversation = conversation_factory("email", text="I am out of office", automated=True)
    enable(conversation.inbox)
    resolve(conversation, django_capture_on_commit_callbacks)
    survey = Survey.objects.get(conversation=conversation)
    assert survey.status == Survey.Status.SKIPPED and "automated" in survey.skip_reason
    assert outbox == []


def test_delay_then_periodic_send(conversation_factory, outbox, django_capture_on_commit_callbacks):
    conversation = conversation_factory("webchat")
    enable(conversation.inbox, survey_delay_minutes=30)
    resolve(conversation, django_capture_on_commit_callbacks)
    survey = Survey.objects.get(conversation=conversation)
    conversation.refresh_from_db()
    assert survey.scheduled_for == conversation.resolved_at + dt.timedelta(minutes=30)
    assert surveys.send_due_surveys(now=survey.scheduled_for - dt.timedelta(seconds=1)) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert surveys.send_due_surveys(now=survey.scheduled_for) == 1
    assert len(outbox) == 1


def test_quiet_hours_defer_the_survey_to_the_morning(conversation_factory, outbox, django_capture_on_commit_callbacks):
    conversation = conversation_factory("webchat", timezone="America/Sao_Paulo")
    enable(conversation.inbox, survey_delay_minutes=60, quiet_start=dt.time(21), quiet_end=dt.time(8))
    resolve(conversation, django_capture_on_commit_callbacks)
    survey = Survey.objects.get(conversation=conversation)
    night = at("2030-01-11T02:00")  # 23:00 in São Paulo (UTC-3), after the survey came due
    services.survey_send(survey=survey, now=night)
    survey.refresh_from_db()
    assert survey.status == Survey.Status.SCHEDULED
    assert survey.scheduled_for == night.replace(hour=11, minute=0)  # 08:00 in São Paulo
    assert outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        services.survey_send(survey=survey, now=survey.scheduled_for)
    assert len(outbox) == 1


@pytest.mark.parametrize("when, expected", [
    ("2030-01-10T12:00", "2030-01-10T12:00"),  # 09:00 local, allowed
    ("2030-01-11T00:30", "2030-01-11T11:00"),  # 21:30 local → 08:00 next morning
    ("2030-01-11T05:00", "2030-01-11T11:00"),  # 02:00 local → 08:00 same day
    ("2030-01-11T11:00", "2030-01-11T11:00"),  # exactly 08:00 local
])
def test_next_send_time_in_the_inbox_timezone(when, expected):
    result = services.next_send_time(at(when), tz_name="America/Sao_Paulo", quiet_start=dt.time(21),
                                     quiet_end=dt.time(8))
    assert result == at(expected)


def test_quiet_hours_within_one_day_and_none():
    assert services.next_send_time(at("2030-01-10T12:30"), tz_name="UTC", quiet_start=dt.time(12),
                                   quiet_end=dt.time(14)) == at("2030-01-10T14:00")
    assert services.next_send_time(at("2030-01-10T03:00"), tz_name="UTC", quiet_start=dt.time(0),
                                   quiet_end=dt.time(0)) == at("2030-01-10T03:00")


def test_quick_reply_answer_is_recorded_and_replaced_not_duplicated(conversation_factory, agent, outbox,
                                                                    django_capture_on_commit_callbacks):
    conversation = conversation_factory("webchat")
    enable(conversation.inbox)
    resolve(conversation, django_capture_on_commit_callbacks, agent)
    survey = Survey.objects.get(conversation=conversation)
    address = conversation.contact.identities.get().address
    with django_capture_on_commit_callbacks(execute=True):
        answer = customer_writes(conversation.inbox, "⭐4", address=address, payload=f"survey:{survey.token}:4")
        assert surveys.handle_inbound(answer.message) is True
    survey.refresh_from_db()
    assert (survey.status, survey.rating, survey.answer_source) == (Survey.Status.ANSWERED, 4, "quick_reply")
    assert survey.agent == agent and survey.contact_id == conversation.contact_id
    assert "Thank you" in outbox[-1].text
    again = customer_writes(conversation.inbox, "⭐2", address=address, payload=f"survey:{survey.token}:2")
    assert surveys.handle_payload(again.message)
    survey.refresh_from_db()
    assert survey.rating == 2 and Survey.objects.count() == 1
    # The write path hands each customer message to the survey first (INBOUND_MESSAGE_HANDLERS).
    with django_capture_on_commit_callbacks(execute=True):  # the handlers run in a task after the commit
        customer_writes(conversation.inbox, "The delivery was late", address=address)
    survey.refresh_from_db()
    assert survey.comment == "The delivery was late"
    later = customer_writes(conversation.inbox, "another question", address=address)
    assert surveys.handle_inbound(later.message) is False  # only the first text is the comment


def test_late_answer_still_counts(conversation_factory, django_capture_on_commit_callbacks):
    conversation = conversation_factory("webchat")
    enable(conversation.inbox)
    resolve(conversation, django_capture_on_commit_callbacks)
    survey = Survey.objects.get(conversation=conversation)
    services.survey_answer(survey=survey, rating=5, source="quick_reply", now=survey.sent_at + dt.timedelta(days=40))
    survey.refresh_from_db()
    assert survey.rating == 5


def test_payload_for_another_contacts_survey_or_bad_rating_is_ignored(conversation_factory,
                                                                      django_capture_on_commit_callbacks):
    conversation = conversation_factory("webchat")
    enable(conversation.inbox)
    resolve(conversation, django_capture_on_commit_callbacks)
    survey = Survey.objects.get(conversation=conversation)
    stranger = customer_writes(conversation.inbox, "⭐1", address="someone-else", payload=f"survey:{survey.token}:1")
    assert surveys.handle_payload(stranger.message) is True
    address = conversation.contact.identities.get().address
    bad = customer_writes(conversation.inbox, "⭐9", address=address, payload=f"survey:{survey.token}:9")
    assert surveys.handle_payload(bad.message) is True
    survey.refresh_from_db()
    assert survey.rating is None and survey.status == Survey.Status.SENT
    plain = customer_writes(conversation.inbox, "hi", address=address, payload="menu:shipping")
    assert surveys.handle_payload(plain.message) is False


def test_email_survey_link_one_click_reuse_and_forgery(conversation_factory, client, outbox,
                                                       django_capture_on_commit_callbacks):
    conversation = conversation_factory("email")
    enable(conversation.inbox)
    resolve(conversation, django_capture_on_commit_callbacks)
    survey = Survey.objects.get(conversation=conversation)
    [sent] = outbox
    assert sent.quick_replies == []
    link = services.survey_link(survey)
    assert f"{link}?r=5" in sent.text and f"{link}?r=1" in sent.text
    path = link.removeprefix("http://testserver")

    page = client.get(f"{path}?r=4")
    assert page.status_code == 200 and b'value="4" checked' in page.content
    survey.refresh_from_db()
    assert survey.rating is None  # opening a link (mail scanners do) records nothing

    assert client.post(path, {"rating": "4", "comment": "Fast <b>help</b>"}).status_code == 200
    assert client.post(path, {"rating": "5"}).status_code == 200  # reused: the same answer changes
    survey.refresh_from_db()
    assert (survey.rating, survey.comment, survey.answer_source) == (5, "", "link")
    assert Survey.objects.count() == 1

    assert client.post(path, {"rating": "7"}).status_code == 400
    forged = path.rstrip("/")[:-3] + "xyz/"
    assert client.get(forged).status_code == 400
    assert client.post(forged, {"rating": "1"}).status_code == 400
    other_token = path.replace(survey.token, "A" * len(survey.token))
    assert client.get(other_token).status_code == 400
    survey.refresh_from_db()
    assert survey.rating == 5


def test_whatsapp_outside_the_window_uses_the_template_or_skips(conversation_factory, outbox,
                                                                django_capture_on_commit_callbacks):
    conversation = conversation_factory("whatsapp")
    enable(conversation.inbox, survey_delay_minutes=60 * 25,
           survey_template={"name": "csat_v1", "language": "pt_BR"})
    resolve(conversation, django_capture_on_commit_callbacks)
    survey = Survey.objects.get(conversation=conversation)
    with django_capture_on_commit_callbacks(execute=True):
        services.survey_send(survey=survey, now=survey.scheduled_for)
    [sent] = outbox
    assert sent.template.name == "csat_v1" and sent.template.parameters == ["Ana"]

    other = conversation_factory("whatsapp")
    enable(other.inbox, survey_delay_minutes=60 * 25)
    resolve(other, django_capture_on_commit_callbacks)
    survey = Survey.objects.get(conversation=other)
    services.survey_send(survey=survey, now=survey.scheduled_for)
    survey.refresh_from_db()
    assert survey.status == Survey.Status.SKIPPED and "window" in survey.skip_reason


def test_whatsapp_inside_the_window_gets_buttons(conversation_factory, outbox, django_capture_on_commit_callbacks):
    conversation = conversation_factory("whatsapp")
    enable(conversation.inbox)
    resolve(conversation, django_capture_on_commit_callbacks)
    [sent] = outbox
    assert len(sent.quick_replies) == 5 and sent.recipient_address == "5511999990000"


@pytest.mark.parametrize("text", ["STOP", "stop.", " Parar ", "BASTA!", "sair", "Unsubscribe", "darme de baja"])
def test_opt_out_words(text):
    assert services.is_opt_out_text(text)


@pytest.mark.parametrize("text", ["don't stop", "stop sending me the wrong size", "parar de pagar?", ""])
def test_not_opt_out(text):
    assert not services.is_opt_out_text(text)


def test_replying_stop_opts_out_and_cancels_scheduled_surveys(conversation_factory, outbox,
                                                              django_capture_on_commit_callbacks):
    conversation = conversation_factory("webchat")
    enable(conversation.inbox, survey_delay_minutes=60)
    resolve(conversation, django_capture_on_commit_callbacks)
    address = conversation.contact.identities.get().address
    with django_capture_on_commit_callbacks(execute=True):
        stop = customer_writes(conversation.inbox, "STOP", address=address)
        assert surveys.handle_inbound(stop.message)
    contact = Contact.objects.get(pk=conversation.contact_id)
    assert contact.opted_out
    assert Survey.objects.get(conversation=conversation).status == Survey.Status.SKIPPED
    assert [m.text for m in outbox] == ["You will not receive automatic messages from us any more."]
    again = customer_writes(conversation.inbox, "stop", address=address)
    assert surveys.handle_inbound(again.message)
    assert len(outbox) == 1  # confirmed once
