"""One bad item never drops its neighbours, and text no column can store is cleaned (issue #11
items 1 and 2), through the real webhook URL. Runs on SQLite and, under tests.servers
--postgres, on PostgreSQL (which refuses NUL and over-long values where SQLite does not)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from inbox import services, tasks
from inbox.models import Contact, Message, WebhookEvent
from tests.factories import make_agent, make_inbox

from .conftest import load_fixture

pytestmark = pytest.mark.django_db


@pytest.fixture
def database_refuses_boom():
    """The database itself refuses any message whose text contains "boom" (a trigger), the way
    it refuses a value it cannot store: a failure no code path can clean away."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("""CREATE OR REPLACE FUNCTION refuse_boom() RETURNS trigger AS $$
                BEGIN IF NEW.text LIKE '%boom%' THEN RAISE EXCEPTION 'refused by the database'; END IF;
                RETURN NEW; END $$ LANGUAGE plpgsql""")
            cursor.execute("CREATE TRIGGER refuse_boom BEFORE INSERT ON inbox_message "
                           "FOR EACH ROW EXECUTE FUNCTION refuse_boom()")
        else:
            cursor.execute("CREATE TRIGGER refuse_boom BEFORE INSERT ON inbox_message "
                           "WHEN NEW.text LIKE '%boom%' BEGIN SELECT RAISE(ABORT, 'refused by the database'); END")
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER IF EXISTS refuse_boom" + (" ON inbox_message" if connection.vendor == "postgresql" else ""))


@pytest.fixture
def inbox(fake_graph, monkeypatch):
    monkeypatch.setattr("bot.engine.bot_enabled_for", lambda inbox: False)
    return make_inbox("whatsapp", channel_config={
        "phone_number_id": "1234567890", "access_token": "test-token", "app_secret": "app-secret"})


def whatsapp_body(texts, *, statuses=(), name="Kerry Fisher"):
    document = json.loads(load_fixture("whatsapp/message__text.json"))
    value = document["entry"][0]["changes"][0]["value"]
    value["contacts"][0]["profile"]["name"] = name
    value["messages"] = [{"from": "16505551234", "id": "wamid." + text.encode("utf-8", "surrogatepass").hex()[:40],
                          "timestamp": "1717171717", "type": "text", "text": {"body": text}} for text in texts]
    if statuses:
        value["statuses"] = list(statuses)
    return json.dumps(document).encode()


def test_one_failing_message_keeps_the_others_and_the_statuses(post_webhook, inbox, database_refuses_boom,
                                                               django_capture_on_commit_callbacks):
    post_webhook(inbox, whatsapp_body(["first"]))
    conversation = Message.objects.get().conversation
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.send_reply(conversation=conversation, author=make_agent(inboxes=[inbox]), text="hi")
    reply.refresh_from_db()
    status = {"id": reply.provider_message_id, "status": "delivered", "timestamp": "1717171800",
              "recipient_id": "16505551234"}

    response = post_webhook(inbox, whatsapp_body(["second", "boom", "third"], statuses=[status]))
    assert response.status_code == 200
    texts = set(Message.objects.filter(direction="in").values_list("text", flat=True))
    assert texts == {"first", "second", "third"}
    reply.refresh_from_db()
    assert reply.delivery_state == "delivered"
    event = WebhookEvent.objects.order_by("-pk").first()
    assert event.status == WebhookEvent.Status.FAILED
    (failure,) = event.failures
    assert failure["item"] == "messages[1]" and failure["provider_id"] == "wamid." + b"boom".hex()
    assert "refused by the database" in failure["error"] and "messages[1]" in event.error
    assert event.next_attempt_at is not None

    # The automatic retry, once the database takes the row, stores the missing message only.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER refuse_boom" + (" ON inbox_message" if connection.vendor == "postgresql" else ""))
    tasks.sweep(now=event.next_attempt_at + dt.timedelta(seconds=1))
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.PROCESSED and event.failures == []
    assert Message.objects.filter(direction="in", text="boom").count() == 1
    assert Message.objects.filter(direction="in").count() == 4


def test_failed_events_retry_a_bounded_number_of_times_then_wait_in_the_admin_list(
        post_webhook, inbox, settings, client, database_refuses_boom):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    post_webhook(inbox, whatsapp_body(["boom"]))
    event = WebhookEvent.objects.get()
    now = timezone.now()
    for _ in range(10):
        now += dt.timedelta(days=1)
        tasks.sweep(now=now)
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.FAILED and event.attempts == 3 and event.next_attempt_at is None

    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw"))
    page = client.get("/admin/inbox/failedwebhookevent/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f">{event.pk}<" in html and "messages[0]" in html


@pytest.mark.parametrize("text", ["lone surrogate \ud83d here", "nul \x00 byte", "both \udcff\x00"])
def test_text_the_database_cannot_store_is_cleaned_and_the_message_kept(post_webhook, inbox, text):
    body = whatsapp_body(["before", text, "after"]).replace(b"\\\\u", b"\\u")
    response = post_webhook(inbox, body)
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.PROCESSED, event.error
    stored = list(Message.objects.order_by("pk").values_list("text", flat=True))
    assert stored[0] == "before" and stored[2] == "after"
    assert "\x00" not in stored[1] and stored[1].encode("utf-8")


def test_over_long_profile_name_is_cut_to_its_column(post_webhook, inbox):
    response = post_webhook(inbox, whatsapp_body(["hello"], name="N" * 201 + "\x00"))
    assert response.status_code == 200
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.PROCESSED
    name = Contact.objects.get().name
    assert len(name) == 200 and name.startswith("NNN")
