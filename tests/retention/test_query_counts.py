"""The reports page and the contact panel keep a constant number of queries as data grows."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from retention import services
from retention.models import Survey

from .test_panel_reports import NO_QUIET, answer_survey, conversation_at, order

pytestmark = pytest.mark.django_db


def count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.fixture
def viewer(client, agent):
    client.force_login(agent)
    return client


def add_activity(make_inbox, viewer_agent, n: int, tag: str) -> list:
    """``n`` rounds on new inboxes, each answered by a new agent: resolved, surveyed (web chat),
    with orders."""
    conversations = []
    for i in range(n):
        inbox = make_inbox(("webchat", "whatsapp")[i % 2], timezone="America/Sao_Paulo",
                           business_hours={str(day): [["09:00", "18:00"]] for day in range(5)})
        helper = get_user_model().objects.create_user(f"helper-{tag}{i}")
        inbox.members.add(viewer_agent, helper)
        services.inbox_settings_update(inbox=inbox, survey_enabled=True, survey_delay_minutes=0, **NO_QUIET)
        conversation = conversation_at(inbox, f"2030-01-0{1 + i % 3}T1{i % 10}:00", agent=helper,
                                       first_response_min=5 + i, resolved_min=30 + i)
        if inbox.channel_kind == "webchat":  # WhatsApp's 24-hour window has closed by the survey's time
            answer_survey(conversation, 1 + i % 5)
        order(conversation.contact, f"O-{tag}{i}", f"2030-01-0{1 + i % 3}T08:00")
        order(conversation.contact, f"O-{tag}{i}-2", "2030-01-03T08:00")
        conversations.append(conversation)
    return conversations


def test_reports_page(viewer, make_inbox, agent):
    url = "/retention/reports/?from=2030-01-01&to=2030-01-03"
    add_activity(make_inbox, agent, 2, "a")
    small = count(viewer, url)
    add_activity(make_inbox, agent, 15, "b")
    assert "helper-b14" in viewer.get(url).content.decode()
    assert count(viewer, url) == small


def test_contact_panel(viewer, make_inbox, agent):
    (conversation,) = add_activity(make_inbox, agent, 1, "a")
    contact = conversation.contact
    url = f"/retention/contacts/{contact.pk}/panel/"
    small = count(viewer, url)
    for i, more in enumerate(add_activity(make_inbox, agent, 15, "b")):
        services.order_upsert(external_id=f"O-{more.contact_id}", contact=contact, ordered_at=more.created_at,
                              total=10 + i, currency=("BRL", "USD")[i % 2], status="paid")
    # Give the answered surveys of the new conversations to this customer.
    Survey.objects.filter(status=Survey.Status.ANSWERED).update(contact=contact)
    html = viewer.get(url).content.decode()
    assert html.count("rp-stars") == 5 and html.count("data-order=") == 5
    assert count(viewer, url) == small
