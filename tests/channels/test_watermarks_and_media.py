"""Messenger watermarks advance only sent messages (issue #11 item 5); provider media downloads
retry temporary failures with backoff, show why they failed, and agents can retry (item 7)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone
from django.utils.html import escape

from inbox import services, tasks
from inbox.models import Attachment, Conversation, Message
from tests.factories import make_agent, make_inbox

from .conftest import load_fixture

pytestmark = pytest.mark.django_db


@pytest.fixture
def messenger(fake_graph, monkeypatch):
    monkeypatch.setattr("bot.engine.bot_enabled_for", lambda inbox: False)
    return make_inbox("messenger", channel_config={
        "page_id": "111222333", "page_access_token": "page-token", "app_secret": "app-secret"})


def watermark(kind: str, when: dt.datetime) -> bytes:
    document = json.loads(load_fixture("messenger/read.json"))
    event = document["entry"][0]["messaging"][0]
    event.pop("read")
    event[kind] = {"watermark": int(when.timestamp() * 1000)}
    return json.dumps(document).encode()


@pytest.mark.parametrize("kind,state", [("read", "read"), ("delivery", "delivered")])
def test_watermark_leaves_queued_sending_and_failed_replies_alone(post_webhook, messenger, fake_graph, kind, state,
                                                                  django_capture_on_commit_callbacks):
    post_webhook(messenger, load_fixture("messenger/message__text.json"))
    conversation = Conversation.objects.get()
    agent = make_agent(inboxes=[messenger])
    with django_capture_on_commit_callbacks(execute=True):
        sent = services.send_reply(conversation=conversation, author=agent, text="sent one")
    queued = services.send_reply(conversation=conversation, author=agent, text="waiting for a retry")
    sending = services.send_reply(conversation=conversation, author=agent, text="in flight")
    Message.objects.filter(pk=sending.pk).update(delivery_state="sending")
    failed = services.send_reply(conversation=conversation, author=agent, text="failed for good")
    Message.objects.filter(pk=failed.pk).update(delivery_state="failed", delivery_error="blocked")

    post_webhook(messenger, watermark(kind, timezone.now() + dt.timedelta(seconds=5)))
    states = dict(Message.objects.filter(direction="out").values_list("pk", "delivery_state"))
    assert states == {sent.pk: state, queued.pk: "queued", sending.pk: "sending", failed.pk: "failed"}


def test_watermark_does_not_cover_a_reply_sent_after_it(post_webhook, messenger, django_capture_on_commit_callbacks):
    """Created before the watermark, but sent (after a retry) later: not yet read."""
    post_webhook(messenger, load_fixture("messenger/message__text.json"))
    conversation = Conversation.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.send_reply(conversation=conversation, text="late send")
    Message.objects.filter(pk=reply.pk).update(created_at=timezone.now() - dt.timedelta(minutes=10),
                                               sent_at=timezone.now())
    post_webhook(messenger, watermark("read", timezone.now() - dt.timedelta(minutes=5)))
    reply.refresh_from_db()
    assert reply.delivery_state == "sent"


@pytest.fixture
def whatsapp(fake_graph, monkeypatch, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    monkeypatch.setattr("bot.engine.bot_enabled_for", lambda inbox: False)
    return make_inbox("whatsapp", channel_config={
        "phone_number_id": "1234567890", "access_token": "test-token", "app_secret": "app-secret"})


def test_temporary_download_failure_is_retried_with_backoff(post_webhook, whatsapp, fake_graph):
    fake_graph.add_media("1003383421387256", b"\xff\xd8jpeg", "image/jpeg")
    fake_graph.fail_next(503, times=1, path_contains="1003383421387256")
    post_webhook(whatsapp, load_fixture("whatsapp/message__image.json"))
    attachment = Attachment.objects.get()
    assert attachment.status == Attachment.Status.PENDING
    assert attachment.error and attachment.download_attempts == 1 and attachment.next_attempt_at is not None

    tasks.sweep(now=timezone.now())  # not due yet
    attachment.refresh_from_db()
    assert attachment.status == Attachment.Status.PENDING and attachment.download_attempts == 1
    tasks.sweep(now=attachment.next_attempt_at + dt.timedelta(seconds=1))
    attachment.refresh_from_db()
    assert attachment.status == Attachment.Status.STORED and attachment.file.read() == b"\xff\xd8jpeg"
    assert attachment.error == ""


def test_download_gives_up_after_the_attempts_and_shows_the_reason(post_webhook, whatsapp, fake_graph, settings,
                                                                   client, django_capture_on_commit_callbacks):
    settings.MEDIA_DOWNLOAD_MAX_ATTEMPTS = 2
    fake_graph.add_media("1003383421387256", b"\xff\xd8jpeg", "image/jpeg")
    fake_graph.fail_next(503, times=10, path_contains="1003383421387256")
    post_webhook(whatsapp, load_fixture("whatsapp/message__image.json"))
    attachment = Attachment.objects.get()
    tasks.sweep(now=attachment.next_attempt_at + dt.timedelta(seconds=1))
    attachment.refresh_from_db()
    assert attachment.status == Attachment.Status.FAILED and attachment.download_attempts == 2
    reason = attachment.error
    assert reason

    agent = make_agent(inboxes=[whatsapp])
    client.force_login(agent)
    conversation = attachment.message.conversation
    html = client.get(f"/conversations/{conversation.pk}/").content.decode()
    assert "Download failed" in html and escape(reason) in html
    assert f"/attachments/{attachment.pk}/retry/" in html

    fake_graph.reset()
    fake_graph.add_media("1003383421387256", b"\xff\xd8jpeg", "image/jpeg")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/attachments/{attachment.pk}/retry/")
    assert response.status_code == 302
    attachment.refresh_from_db()
    assert attachment.status == Attachment.Status.STORED


def test_agent_of_another_inbox_cannot_retry_a_download(post_webhook, whatsapp, fake_graph, client):
    fake_graph.fail_next(400, error={"message": "Unsupported get request", "type": "GraphMethodException",
                                     "code": 100}, times=5, path_contains="1003383421387256")
    post_webhook(whatsapp, load_fixture("whatsapp/message__image.json"))
    attachment = Attachment.objects.get()
    assert attachment.status == Attachment.Status.FAILED  # a permanent error: no retries
    client.force_login(make_agent(inboxes=[make_inbox("whatsapp")]))
    assert client.post(f"/attachments/{attachment.pk}/retry/").status_code == 404
