"""The agent inbox pages: list, filters, search, permissions, escaping, actions."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from channels_adapters import locmem
from inbox import services
from inbox.models import Contact, Conversation, Message
from inbox.views import snooze_until

from .conftest import inbound, make_agent, make_inbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_a(client, agent):
    client.force_login(agent)
    return client


def row_ids(response) -> list[int]:
    return [c.pk for c in response.context["page"].object_list]


def test_anonymous_is_sent_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_login_page_renders_a_form(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b'name="username"' in response.content and b"csrfmiddlewaretoken" in response.content


def test_list_shows_only_the_agents_inboxes(client_a, inbox_a, inbox_b):
    mine = inbound(inbox_a, "Where is my order?").conversation
    theirs = inbound(inbox_b, "Invoice please", sender="x@example.com", name="Other Person").conversation
    response = client_a.get("/")
    assert response.status_code == 200
    assert row_ids(response) == [mine.pk]
    assert b"Where is my order?" in response.content
    assert b"Invoice please" not in response.content
    assert theirs.pk not in row_ids(client_a.get("/conversations/?view=all"))


def test_views_mine_and_unassigned(client_a, agent, inbox_a):
    first = inbound(inbox_a, "one", sender="v1", name="First").conversation
    second = inbound(inbox_a, "two", sender="v2", name="Second").conversation
    services.assign(conversation=first, agent=agent, actor=agent)
    assert row_ids(client_a.get("/?view=mine")) == [first.pk]
    assert row_ids(client_a.get("/?view=unassigned")) == [second.pk]
    assert set(row_ids(client_a.get("/?view=all"))) == {first.pk, second.pk}


def test_filters_status_channel_label_inbox(client, inbox_a):
    mail = make_inbox("Mail", "email")
    agent = make_agent("carla", inbox_a, mail)
    client.force_login(agent)
    chat = inbound(inbox_a, "chat question", sender="v1", name="Chat Person").conversation
    email = inbound(mail, "mail question", sender="m@example.com", name="Mail Person").conversation
    services.resolve(conversation=email, actor=agent)
    services.set_labels(conversation=chat, labels=["billing"])
    assert row_ids(client.get("/?status=resolved")) == [email.pk]
    assert row_ids(client.get("/?channel=email")) == [email.pk]
    assert row_ids(client.get("/?channel=webchat")) == [chat.pk]
    assert row_ids(client.get("/?label=billing")) == [chat.pk]
    assert row_ids(client.get(f"/?inbox={mail.pk}")) == [email.pk]
    # Unknown values are ignored rather than failing the page.
    assert set(row_ids(client.get("/?status=nonsense&channel=fax"))) == {chat.pk, email.pk}


def test_search_by_contact_and_text(client_a, inbox_a):
    maria = inbound(inbox_a, "My parcel is late", sender="v1", name="Maria Souza").conversation
    john = inbound(inbox_a, "Do you ship to Lisbon?", sender="v2", name="John Smith").conversation
    assert row_ids(client_a.get("/?q=maria")) == [maria.pk]
    assert row_ids(client_a.get("/?q=lisbon")) == [john.pk]
    assert row_ids(client_a.get("/?q=nothing-matches-this")) == []


def test_pagination_25_per_page(client_a, inbox_a):
    for i in range(27):
        inbound(inbox_a, f"hello {i}", sender=f"v{i}", name=f"Person {i}")
    first = client_a.get("/")
    second = client_a.get("/?page=2")
    assert len(row_ids(first)) == 25
    assert len(row_ids(second)) == 2
    assert not set(row_ids(first)) & set(row_ids(second))


def test_queries_per_page_do_not_grow_with_rows(client_a, inbox_a, django_assert_max_num_queries):
    def fill(count, start):
        for i in range(start, start + count):
            conversation = inbound(inbox_a, f"hi {i}", sender=f"q{i}", name=f"Q {i}").conversation
            services.set_labels(conversation=conversation, labels=["vip", f"l{i}"])

    fill(2, 0)
    with django_assert_max_num_queries(12) as few:
        client_a.get("/")
    fill(30, 2)
    with django_assert_max_num_queries(12) as many:
        response = client_a.get("/")
    assert len(row_ids(response)) == 25
    assert len(many.captured_queries) == len(few.captured_queries)


def test_other_inbox_conversation_is_404_everywhere(client_a, inbox_b):
    conversation = inbound(inbox_b, "secret", sender="s@example.com").conversation
    pk = conversation.pk
    assert client_a.get(f"/conversations/{pk}/").status_code == 404
    assert client_a.get(f"/conversations/{pk}/row/").status_code == 404
    assert client_a.post(f"/conversations/{pk}/reply/", {"text": "hi"}).status_code == 404
    assert client_a.post(f"/conversations/{pk}/status/", {"action": "resolve"}).status_code == 404
    assert client_a.post(f"/conversations/{pk}/assign/", {"agent": "me"}).status_code == 404
    conversation.refresh_from_db()
    assert conversation.status != Conversation.Status.RESOLVED
    assert not Message.objects.filter(conversation=conversation, direction="out", sender_kind="agent").exists()


def test_message_text_is_escaped(client_a, inbox_a):
    conversation = inbound(inbox_a, "<script>alert('x')</script><b>bold</b>", name="<img src=x onerror=alert(1)>").conversation
    detail = client_a.get(f"/conversations/{conversation.pk}/")
    listing = client_a.get("/")
    for response in (detail, listing):
        assert b"<script>alert(" not in response.content
        assert b"<img src=x" not in response.content
    assert b"&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;" in detail.content


def test_conversation_shows_cross_channel_history(client, inbox_a):
    whatsapp = make_inbox("WhatsApp", "whatsapp")
    agent = make_agent("dora", inbox_a, whatsapp)
    client.force_login(agent)
    chat = inbound(inbox_a, "hi from the site", sender="v1", name="Maria", contact_email="maria@example.com").conversation
    wa = inbound(whatsapp, "hi from my phone", sender="5511999990000", name="Maria",
                 contact_email="maria@example.com").conversation
    services.merge_contacts(primary=chat.contact, duplicate=Conversation.objects.get(pk=wa.pk).contact)
    response = client.get(f"/conversations/{chat.pk}/")
    body = response.content.decode()
    assert "hi from the site" in body and "hi from my phone" in body
    assert body.count('class="history-sep') == 2
    assert 'aria-label="WhatsApp"' in body and 'aria-label="Web chat"' in body


def test_opening_marks_read(client_a, agent, inbox_a):
    conversation = inbound(inbox_a, "unread one").conversation
    assert client_a.get("/").context["page"].object_list[0].unread_count == 1
    client_a.get(f"/conversations/{conversation.pk}/")
    assert client_a.get("/").context["page"].object_list[0].unread_count == 0


def test_reply_and_note_through_the_page(client_a, agent, inbox_a, django_capture_on_commit_callbacks):
    conversation = inbound(inbox_a, "hello?").conversation
    url = f"/conversations/{conversation.pk}/reply/"
    with django_capture_on_commit_callbacks(execute=True):
        response = client_a.post(url, {"text": "Hi Maria, checking now.", "private": "0"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 200 and response.json()["ok"] is True
    reply = Message.objects.get(pk=response.json()["data"]["id"])
    assert reply.direction == "out" and not reply.is_private_note and reply.author == agent
    assert [m.text for m in locmem.outbox] == ["Hi Maria, checking now."]
    reply.refresh_from_db()
    assert reply.delivery_state == "sent"
    response = client_a.post(url, {"text": "VIP customer", "private": "1"})
    assert response.status_code == 302  # without JavaScript: back to the conversation
    note = Message.objects.filter(conversation=conversation, is_private_note=True, sender_kind="agent").get()
    assert note.text == "VIP customer"
    assert len(locmem.outbox) == 1  # notes never reach the customer
    empty = client_a.post(url, {"text": "  "}, HTTP_ACCEPT="application/json")
    assert empty.status_code == 400 and "needs text" in empty.json()["error"]


def test_reply_with_attachment(client_a, inbox_a):
    from django.core.files.uploadedfile import SimpleUploadedFile

    conversation = inbound(inbox_a, "send me the invoice").conversation
    upload = SimpleUploadedFile("invoice.pdf", b"%PDF-1.4 test", content_type="application/pdf")
    response = client_a.post(f"/conversations/{conversation.pk}/reply/", {"text": "Here it is", "attachments": upload},
                             HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    attachment = Message.objects.get(pk=response.json()["data"]["id"]).attachments.get()
    assert attachment.filename == "invoice.pdf" and attachment.file.read() == b"%PDF-1.4 test"


def test_reply_to_resolved_reopens(client_a, agent, inbox_a):
    conversation = inbound(inbox_a, "thanks").conversation
    services.resolve(conversation=conversation, actor=agent)
    client_a.post(f"/conversations/{conversation.pk}/reply/", {"text": "One more thing"})
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.OPEN


def test_assign_to_me_and_conflict(client_a, agent, inbox_a):
    colleague = make_agent("eva", inbox_a)
    conversation = inbound(inbox_a, "help").conversation
    url = f"/conversations/{conversation.pk}/assign/"
    # Eva takes it first, while Ana's page still shows it unassigned.
    services.assign(conversation=conversation, agent=colleague, actor=colleague)
    response = client_a.post(url, {"agent": "me", "expected": "none"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 409
    assert response.json()["error"] == "This conversation was just assigned to eva."
    conversation.refresh_from_db()
    assert conversation.assignee == colleague
    response = client_a.post(url, {"agent": "me", "expected": str(colleague.pk)}, HTTP_ACCEPT="application/json")
    assert response.status_code == 200 and response.json()["data"]["assignee_id"] == agent.pk
    response = client_a.post(url, {"agent": "", "expected": str(agent.pk)}, HTTP_ACCEPT="application/json")
    conversation.refresh_from_db()
    assert conversation.assignee is None


def test_assign_to_non_member_is_refused(client_a, inbox_a, other_agent):
    conversation = inbound(inbox_a, "help").conversation
    response = client_a.post(f"/conversations/{conversation.pk}/assign/", {"agent": other_agent.pk},
                             HTTP_ACCEPT="application/json")
    assert response.status_code == 400 and "not a member" in response.json()["error"]


def test_resolve_reopen_snooze(client_a, inbox_a):
    conversation = inbound(inbox_a, "help").conversation
    url = f"/conversations/{conversation.pk}/status/"
    client_a.post(url, {"action": "resolve"})
    conversation.refresh_from_db()
    assert conversation.status == "resolved"
    client_a.post(url, {"action": "reopen"})
    conversation.refresh_from_db()
    assert conversation.status in ("open", "pending")
    before = timezone.now()
    response = client_a.post(url, {"action": "snooze", "snooze": "1h"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    conversation.refresh_from_db()
    assert conversation.status == "snoozed"
    assert before + dt.timedelta(minutes=59) < conversation.snoozed_until < before + dt.timedelta(minutes=61)
    bad = client_a.post(url, {"action": "snooze", "snooze": "custom", "until": "not a date"}, HTTP_ACCEPT="application/json")
    assert bad.status_code == 400


def test_snooze_presets():
    now = timezone.make_aware(dt.datetime(2025, 3, 12, 15, 30))  # a Wednesday
    assert snooze_until("1h", now=now) == now + dt.timedelta(hours=1)
    tomorrow = timezone.localtime(snooze_until("tomorrow", now=now))
    assert (tomorrow.day, tomorrow.hour, tomorrow.minute) == (13, 9, 0)
    monday = timezone.localtime(snooze_until("nextweek", now=now))
    assert (monday.weekday(), monday.day, monday.hour) == (0, 17, 9)
    assert snooze_until("custom", "2025-03-20T10:15", now=now).hour == 10
    assert snooze_until("custom", "garbage", now=now) is None
    assert snooze_until("bogus", now=now) is None


def test_labels_and_priority(client_a, inbox_a):
    conversation = inbound(inbox_a, "help").conversation
    response = client_a.post(f"/conversations/{conversation.pk}/labels/", {"labels": "billing, vip, ,billing"},
                             HTTP_ACCEPT="application/json")
    assert response.json()["labels"] == ["billing", "vip"]
    client_a.post(f"/conversations/{conversation.pk}/priority/", {"priority": "3"})
    conversation.refresh_from_db()
    assert conversation.priority == 3
    bad = client_a.post(f"/conversations/{conversation.pk}/priority/", {"priority": "99"}, HTTP_ACCEPT="application/json")
    assert bad.status_code == 400


def test_merge_duplicate_contact(client, inbox_a):
    mail = make_inbox("Mail", "email")
    agent = make_agent("fabio", inbox_a, mail)
    client.force_login(agent)
    # A widget customer the shop verified (identity user:<id>), so the merge is safe.
    chat = inbound(inbox_a, "hi", sender="user:41", name="Maria", contact_email="maria@example.com").conversation
    email = inbound(mail, "hello by mail", sender="maria@example.com", name="Maria S",
                    contact_email="maria@example.com").conversation
    primary, duplicate = chat.contact, Conversation.objects.get(pk=email.pk).contact
    assert primary.pk != duplicate.pk
    page = client.get(f"/conversations/{chat.pk}/")
    assert page.context["duplicates"] == [(duplicate, "Same e-mail address (maria@example.com)")]
    assert "Same e-mail address (maria@example.com)" in page.content.decode()
    response = client.post(f"/contacts/{primary.pk}/merge/", {"duplicate": duplicate.pk,
                                                              "next": f"/conversations/{chat.pk}/"})
    assert response.status_code == 302 and response["Location"] == f"/conversations/{chat.pk}/"
    assert not Contact.objects.filter(pk=duplicate.pk).exists()
    assert Conversation.objects.get(pk=email.pk).contact_id == primary.pk


def test_retry_failed_message(client_a, inbox_a, django_capture_on_commit_callbacks):
    from channels_adapters.base import PermanentSendError

    conversation = inbound(inbox_a, "help").conversation
    locmem.fail_next(PermanentSendError("recipient unreachable"))
    with django_capture_on_commit_callbacks(execute=True):
        message = services.send_reply(conversation=conversation, text="Answer")
    message.refresh_from_db()
    assert message.delivery_state == "failed"
    page = client_a.get(f"/conversations/{conversation.pk}/").content.decode()
    assert "recipient unreachable" in page and f"/messages/{message.pk}/retry/" in page
    with django_capture_on_commit_callbacks(execute=True):
        client_a.post(f"/messages/{message.pk}/retry/")
    message.refresh_from_db()
    assert message.delivery_state == "sent"


def test_service_window_banner(client, db, django_capture_on_commit_callbacks):
    whatsapp = make_inbox("WhatsApp", "whatsapp", channel_config={
        "templates": [{"name": "order_update", "language": "en", "params_count": 2}]})
    agent = make_agent("gil", whatsapp)
    client.force_login(agent)
    conversation = inbound(whatsapp, "oi", sender="5511999990000").conversation
    page = client.get(f"/conversations/{conversation.pk}/").content.decode()
    assert "Window closes in 23 h" in page
    # Arrange a customer message from 30 hours ago (time cannot pass in a test).
    Conversation.objects.filter(pk=conversation.pk).update(last_incoming_at=timezone.now() - dt.timedelta(hours=30))
    page = client.get(f"/conversations/{conversation.pk}/").content.decode()
    assert "Window closed: send a template" in page and "order_update" in page
    url = f"/conversations/{conversation.pk}/reply/"
    refused = client.post(url, {"text": "hello"}, HTTP_ACCEPT="application/json")
    assert refused.status_code == 400 and "template" in refused.json()["error"]
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(url, {"template_name": "order_update", "template_language": "en",
                                 "template_params": ["Maria", "#1234"]}, HTTP_ACCEPT="application/json")
    assert sent.status_code == 200
    assert locmem.outbox[-1].template.name == "order_update"
    assert locmem.outbox[-1].template.parameters == ["Maria", "#1234"]


def test_row_fragment_respects_filters(client_a, inbox_a):
    conversation = inbound(inbox_a, "help").conversation
    response = client_a.get(f"/conversations/{conversation.pk}/row/")
    assert response.status_code == 200 and f'id="conv-{conversation.pk}"'.encode() in response.content
    assert response["X-Unread-Total"] == "1"
    assert client_a.get(f"/conversations/{conversation.pk}/row/?status=resolved").status_code == 204


def test_csrf_is_enforced(inbox_a, agent):
    from django.test import Client

    conversation = inbound(inbox_a, "help").conversation
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(agent)
    assert strict.post(f"/conversations/{conversation.pk}/status/", {"action": "resolve"}).status_code == 403
