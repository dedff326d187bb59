import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from inbox import services as inbox_services
from inbox.models import Conversation, Message
from retention import reports, services
from retention.models import Survey

from .conftest import at, customer_writes

pytestmark = pytest.mark.django_db
NO_QUIET = {"quiet_start": dt.time(0), "quiet_end": dt.time(0)}


def conversation_at(inbox, created: str, *, agent=None, first_response_min=None, resolved_min=None, bot=False):
    """A conversation with frozen timestamps (set after the services built it)."""
    conversation = customer_writes(inbox, "hello").conversation
    if bot:
        inbox_services.send_reply(conversation=conversation, text="Here is the answer", sender_kind="bot")
    if agent:
        inbox_services.send_reply(conversation=conversation, text="Hi!", author=agent)
    if resolved_min is not None:
        inbox_services.resolve(conversation=conversation)
    start = at(created)
    Conversation.objects.filter(pk=conversation.pk).update(
        created_at=start,
        first_response_at=start + dt.timedelta(minutes=first_response_min) if first_response_min else None,
        resolved_at=start + dt.timedelta(minutes=resolved_min) if resolved_min is not None else None)
    Message.objects.filter(conversation=conversation).update(created_at=start + dt.timedelta(minutes=1))
    conversation.refresh_from_db()
    return conversation


def answer_survey(conversation, rating):
    survey = services.survey_schedule(conversation=conversation)
    survey = services.survey_send(survey=survey, now=at("2031-01-01T00:00"))
    services.survey_answer(survey=survey, rating=rating, source="link")
    Survey.objects.filter(pk=survey.pk).update(created_at=conversation.created_at)


def order(contact, ref, when, status="paid"):
    services.order_upsert(external_id=ref, contact=contact, ordered_at=at(when), total=Decimal("20"),
                          currency="BRL", status=status)


@pytest.fixture
def dataset(make_inbox, agent):
    web, wa = make_inbox("webchat"), make_inbox("whatsapp")
    for inbox in (web, wa):
        inbox.members.add(agent)
        services.inbox_settings_update(inbox=inbox, survey_enabled=True, survey_delay_minutes=0, **NO_QUIET)
    c1 = conversation_at(web, "2030-01-01T10:00", agent=agent, first_response_min=10, resolved_min=60)
    c2 = conversation_at(web, "2030-01-01T11:00", agent=agent, first_response_min=30, resolved_min=120)
    c3 = conversation_at(wa, "2030-01-02T09:00", bot=True, resolved_min=20)
    conversation_at(web, "2030-01-05T09:00", agent=agent, first_response_min=5)  # outside the period
    answer_survey(c1, 5)
    answer_survey(c2, 3)
    order(c1.contact, "O-1", "2029-12-01T10:00")
    order(c1.contact, "O-2", "2030-01-01T12:00")
    order(c2.contact, "O-3", "2030-01-02T12:00")
    silent, _ = services.customer_upsert(email="silent@example.com")
    order(silent, "O-4", "2030-01-01T08:00")
    order(silent, "O-5", "2030-01-02T08:00")
    cancelled, _ = services.customer_upsert(email="cancel@example.com")
    order(cancelled, "O-6", "2030-01-01T08:00", status="cancelled")
    return {"web": web, "wa": wa, "conversations": (c1, c2, c3)}


def period(user, **kwargs):
    return reports.period_for(user=user, date_from=dt.date(2030, 1, 1), date_to=dt.date(2030, 1, 2),
                              tz=dt.timezone.utc, **kwargs)


def test_report_numbers_on_a_known_dataset(dataset, agent):
    p = period(agent)
    assert reports.conversations_by_channel_day(p).rows == [["2030-01-01", "webchat", 2], ["2030-01-02", "whatsapp", 1]]
    assert reports.bot_share(p).rows == [[3, 1, 1, 33.3]]
    # No opening hours set: business time equals wall-clock time.
    assert reports.response_times(p).rows == [
        ["first response", 2, 10.0, 30.0], ["resolution", 3, 60.0, 120.0],
        ["first response (business hours)", 2, 10.0, 30.0], ["resolution (business hours)", 3, 60.0, 120.0]]
    satisfaction = reports.satisfaction(p)
    assert satisfaction.rows == [[1, 0], [2, 0], [3, 1], [4, 0], [5, 1]]
    assert "average: 4.0" in satisfaction.note and "CSAT (4-5 stars): 50.0%" in satisfaction.note
    assert reports.agent_load(p).rows == [["agent", 2, 2, 2, 4.0]]
    assert reports.retention(p).rows == [
        ["talked to support", 2, 1, 50.0, 1, 50.0],
        ["did not talk to support", 1, 0, 0.0, 1, 100.0],
    ]


def test_inbox_filter_and_visibility(dataset, agent):
    only_wa = period(agent, inbox_id=dataset["wa"].pk)
    assert reports.conversations_by_channel_day(only_wa).rows == [["2030-01-02", "whatsapp", 1]]
    outsider = get_user_model().objects.create_user("outsider", password="pw-out-123")
    assert reports.conversations_by_channel_day(period(outsider)).rows == []
    assert reports.bot_share(period(outsider)).rows == [[0, 0, 0, None]]


def test_reports_page_and_csv(dataset, agent, client):
    client.force_login(agent)
    page = client.get("/retention/reports/?from=2030-01-01&to=2030-01-02")
    assert page.status_code == 200
    html = page.content.decode()
    for name in reports.REPORTS:
        assert f'id="report-{name}"' in html and f"/retention/reports/{name}.csv?from=2030-01-01&amp;to=2030-01-02" in html
    assert "<svg" in html and "2030-01-01 Web chat: 2" in html
    csv_response = client.get("/retention/reports/response_times.csv?from=2030-01-01&to=2030-01-02")
    assert csv_response["Content-Type"].startswith("text/csv")
    lines = csv_response.content.decode().splitlines()
    assert lines == ["metric,conversations,median minutes,90th percentile minutes",
                     "first response,2,10.0,30.0", "resolution,3,60.0,120.0",
                     "first response (business hours),2,10.0,30.0", "resolution (business hours),3,60.0,120.0"]
    assert client.get("/retention/reports/nope.csv").status_code == 404
    client.logout()
    assert client.get("/retention/reports/").status_code == 302


def test_contact_panel_permissions_and_content(dataset, agent, client):
    c1 = dataset["conversations"][0]
    url = f"/retention/contacts/{c1.contact_id}/panel/"
    assert client.get(url).status_code == 403
    outsider = get_user_model().objects.create_user("outsider", password="pw-out-123")
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    client.force_login(agent)
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-metric="orders">2<' in html and "R$40.00" in html and "R$20.00" in html  # Babel, English
    assert "Returning customer" in html and 'data-order="O-2"' in html and 'data-order="O-1"' in html
    assert "Average 5.0 / 5 from 1 answer" in html
    admin = get_user_model().objects.create_superuser("root", password="pw-root-123")
    client.force_login(admin)
    silent = services.find_contact(email="silent@example.com")
    assert client.get(f"/retention/contacts/{silent.pk}/panel/").status_code == 200
    client.force_login(agent)
    assert client.get(f"/retention/contacts/{silent.pk}/panel/").status_code == 404  # never talked to this agent's inboxes


def test_panel_escapes_customer_text(dataset, agent, client):
    c1 = dataset["conversations"][0]
    Survey.objects.filter(conversation=c1).update(comment="<script>alert(1)</script>")
    client.force_login(agent)
    html = client.get(f"/retention/contacts/{c1.contact_id}/panel/").content.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_business_hours_response_times_count_only_opening_hours(make_inbox, agent):
    """Opening 10:30-18:00 on 2030-01-01 (a Tuesday): a conversation created at 10:00 and
    answered at 10:40 waited 10 business minutes."""
    web = make_inbox("webchat")
    web.members.add(agent)
    Inbox = type(web)
    Inbox.objects.filter(pk=web.pk).update(business_hours={"1": [["10:30", "18:00"]]}, timezone="UTC")
    conversation_at(web, "2030-01-01T10:00", agent=agent, first_response_min=40, resolved_min=90)
    rows = {row[0]: row[1:] for row in reports.response_times(period(agent)).rows}
    assert rows["first response"] == [1, 40.0, 40.0]
    assert rows["first response (business hours)"] == [1, 10.0, 10.0]
    assert rows["resolution (business hours)"] == [1, 60.0, 60.0]
