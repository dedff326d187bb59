"""WhatsApp end to end through the real URL routing, the write path, the task pipeline and a
real HTTP server standing in for Meta's Graph API."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from channels_adapters.locmem import reset as reset_locmem
from inbox import services, tasks
from inbox.models import Attachment, Conversation, Message, WebhookEvent
from tests.factories import make_agent, make_inbox

from .conftest import load_fixture

pytestmark = pytest.mark.django_db


@pytest.fixture
def inbox(fake_graph, monkeypatch):
    monkeypatch.setattr("bot.engine.bot_enabled_for", lambda inbox: False)
    reset_locmem()
    return make_inbox("whatsapp", channel_config={
        "phone_number_id": "1234567890", "access_token": "test-token", "app_secret": "app-secret"})


def test_verification_handshake(client, inbox):
    url = f"/webhooks/whatsapp/{inbox.public_id}/"
    ok = client.get(url, {"hub.mode": "subscribe", "hub.verify_token": inbox.webhook_verify_token, "hub.challenge": "12345"})
    assert ok.status_code == 200 and ok.content == b"12345" and ok["Content-Type"].startswith("text/plain")
    assert client.get(url, {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"}).status_code == 403
    assert client.get(url, {"hub.mode": "unsubscribe", "hub.verify_token": inbox.webhook_verify_token}).status_code == 403


def test_text_message_lands_in_the_inbox(post_webhook, inbox):
    response = post_webhook(inbox, load_fixture("whatsapp/message__text.json"))
    assert response.status_code == 200
    message = Message.objects.get()
    assert message.direction == "in" and message.text
    assert message.conversation.contact.identities.get().channel_kind == "whatsapp"
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.PROCESSED


def test_redelivered_webhook_creates_no_duplicates(post_webhook, inbox):
    body = load_fixture("whatsapp/batch__two_entries_three_messages.json")
    post_webhook(inbox, body)
    count = Message.objects.count()
    assert count == 3
    post_webhook(inbox, body)
    assert Message.objects.count() == count
    assert WebhookEvent.objects.count() == 2  # both deliveries are kept for inspection


@pytest.mark.parametrize("signature,status", [(None, 401), ("sha256=" + "0" * 64, 403), ("md5=abc", 403)])
def test_bad_signatures_are_rejected_and_nothing_is_processed(post_webhook, inbox, signature, status):
    body = load_fixture("whatsapp/message__text.json")
    response = post_webhook(inbox, body, secret=None, signature=signature) if signature else post_webhook(inbox, body, secret=None)
    assert response.status_code in (401, 403) and response.status_code == status
    assert Message.objects.count() == 0
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.REJECTED and event.error


@pytest.mark.parametrize("body", [b"not json", b'{"object": "whatsapp_business_account", "entry": [', b'{"object": "page", "entry": []}'])
def test_malformed_payloads_get_400_and_the_raw_event_is_kept(post_webhook, inbox, body):
    response = post_webhook(inbox, body)
    assert response.status_code == 400
    event = WebhookEvent.objects.get()
    assert bytes(event.body) == body and event.status == WebhookEvent.Status.REJECTED
    assert Message.objects.count() == 0 and Conversation.objects.count() == 0


def test_disabled_or_unknown_inbox(post_webhook, client, inbox):
    inbox.enabled = False
    inbox.save()
    assert post_webhook(inbox, load_fixture("whatsapp/message__text.json")).status_code == 403
    assert client.post("/webhooks/whatsapp/nope/", data=b"{}", content_type="application/json").status_code == 404
    assert WebhookEvent.objects.filter(status="rejected").count() == 2


def test_crash_between_receiving_and_processing_loses_nothing(client, inbox):
    """The task never ran (no on_commit execution = a process that died after answering 200):
    the raw event is in the database and the sweep processes it."""
    from tests.channels.conftest import sign

    body = load_fixture("whatsapp/message__text.json")
    response = client.post(f"/webhooks/whatsapp/{inbox.public_id}/", data=body, content_type="application/json",
                           HTTP_X_HUB_SIGNATURE_256=sign(body, "app-secret"))
    assert response.status_code == 200 and Message.objects.count() == 0
    counts = tasks.sweep(now=timezone.now() + dt.timedelta(minutes=2))
    assert counts["reprocessed_events"] == 1
    assert Message.objects.count() == 1


def test_image_is_downloaded_from_the_graph_api(post_webhook, inbox, fake_graph, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    fake_graph.add_media("1003383421387256", b"\xff\xd8jpeg-bytes", "image/jpeg")
    post_webhook(inbox, load_fixture("whatsapp/message__image.json"))
    attachment = Attachment.objects.get()
    assert attachment.status == Attachment.Status.STORED, attachment.error
    assert attachment.file.read() == b"\xff\xd8jpeg-bytes"
    assert any(r.headers.get("authorization") == "Bearer test-token" for r in fake_graph.requests)


def test_statuses_move_ticks_forward_and_failed_shows_the_reason(post_webhook, inbox, fake_graph, django_capture_on_commit_callbacks):
    post_webhook(inbox, load_fixture("whatsapp/message__text.json"))
    conversation = Conversation.objects.get()
    agent = make_agent(inboxes=[inbox])
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.send_reply(conversation=conversation, author=agent, text="Olá! Vou verificar.")
    reply.refresh_from_db()
    assert reply.delivery_state == "sent" and reply.provider_message_id.startswith("wamid.")
    sent = [r for r in fake_graph.requests if r.path.endswith("/1234567890/messages")]
    assert sent[-1].json["to"] == conversation.contact.identities.get().address
    assert sent[-1].json["text"]["body"] == "Olá! Vou verificar."

    def status(name, **extra):
        payload = json.loads(load_fixture("whatsapp/status__read.json"))
        st = payload["entry"][0]["changes"][0]["value"]["statuses"][0]
        st.update(id=reply.provider_message_id, status=name, **extra)
        return post_webhook(inbox, json.dumps(payload).encode())

    status("read")
    status("delivered")
    reply.refresh_from_db()
    assert reply.delivery_state == "read"


def test_failed_status_after_sent(post_webhook, inbox, fake_graph, django_capture_on_commit_callbacks):
    post_webhook(inbox, load_fixture("whatsapp/message__text.json"))
    conversation = Conversation.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.send_reply(conversation=conversation, author=make_agent(inboxes=[inbox]), text="hi")
    reply.refresh_from_db()
    payload = json.loads(load_fixture("whatsapp/status__failed_131047.json"))
    payload["entry"][0]["changes"][0]["value"]["statuses"][0]["id"] = reply.provider_message_id
    post_webhook(inbox, json.dumps(payload).encode())
    reply.refresh_from_db()
    assert reply.delivery_state == "failed" and reply.delivery_error_code == "131047"
    assert "24 hours" in reply.delivery_error


def test_temporary_errors_retry_with_backoff_then_succeed(post_webhook, inbox, fake_graph, django_capture_on_commit_callbacks, monkeypatch):
    post_webhook(inbox, load_fixture("whatsapp/message__text.json"))
    conversation = Conversation.objects.get()
    scheduled = []
    monkeypatch.setattr(tasks.deliver_message, "schedule", lambda args, eta: scheduled.append((args, eta)))
    fake_graph.fail_next(status=503, times=2, path_contains="/messages")
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.send_reply(conversation=conversation, author=make_agent(inboxes=[inbox]), text="hi")
    reply.refresh_from_db()
    assert reply.delivery_state == "queued" and "Retrying" in reply.delivery_error
    # Run the scheduled retries by hand, as the worker would at their time.
    from inbox.outbound import deliver

    assert deliver(reply.pk) == "retry"
    assert deliver(reply.pk) == "sent"
    delays = [(eta - timezone.now()).total_seconds() for _, eta in scheduled]
    assert len(delays) == 2 and delays[1] > delays[0]  # exponential
    reply.refresh_from_db()
    assert reply.delivery_state == "sent" and reply.send_attempts == 3


def test_permanent_error_fails_at_once_and_agent_can_retry(post_webhook, inbox, fake_graph, django_capture_on_commit_callbacks):
    post_webhook(inbox, load_fixture("whatsapp/message__text.json"))
    conversation = Conversation.objects.get()
    fake_graph.fail_next(status=401, error={"code": 190, "message": "Error validating access token", "type": "OAuthException"},
                         path_contains="/messages")
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.send_reply(conversation=conversation, author=make_agent(inboxes=[inbox]), text="hi")
    reply.refresh_from_db()
    assert reply.delivery_state == "failed" and reply.delivery_error_code == "190"
    with django_capture_on_commit_callbacks(execute=True):
        services.retry_send(message=reply)
    reply.refresh_from_db()
    assert reply.delivery_state == "sent"
    assert len([r for r in fake_graph.requests if r.path.endswith("/messages")]) == 2


def test_worker_death_mid_send_is_not_sent_twice(post_webhook, inbox, fake_graph):
    post_webhook(inbox, load_fixture("whatsapp/message__text.json"))
    conversation = Conversation.objects.get()
    reply = services.send_reply(conversation=conversation, text="hi")  # task not run: on_commit not executed
    services.claim_for_sending(message_id=reply.pk)  # a worker claimed it, then died
    tasks.sweep(now=timezone.now() + dt.timedelta(minutes=10))
    reply.refresh_from_db()
    assert reply.delivery_state == "failed" and reply.delivery_error_code == "uncertain"
    assert not [r for r in fake_graph.requests if r.path.endswith("/messages")]


def test_lost_queued_send_is_picked_up_by_the_sweep(post_webhook, inbox, fake_graph):
    post_webhook(inbox, load_fixture("whatsapp/message__text.json"))
    reply = services.send_reply(conversation=Conversation.objects.get(), text="hi")  # the enqueue was lost
    counts = tasks.sweep(now=timezone.now() + dt.timedelta(minutes=2))
    assert counts["requeued_sends"] == 1
    reply.refresh_from_db()
    assert reply.delivery_state == "sent"


def test_outside_the_window_only_a_template_goes_out(post_webhook, inbox, fake_graph, django_capture_on_commit_callbacks):
    post_webhook(inbox, load_fixture("whatsapp/message__text.json"))
    conversation = Conversation.objects.get()
    Conversation.objects.filter(pk=conversation.pk).update(last_incoming_at=timezone.now() - dt.timedelta(hours=30))
    with pytest.raises(services.WindowClosed):
        services.send_reply(conversation=conversation, text="free text")
    with django_capture_on_commit_callbacks(execute=True):
        message = services.send_reply(conversation=conversation, text="", template={
            "name": "order_update", "language": "pt_BR", "parameters": ["10234"]})
    body = [r for r in fake_graph.requests if r.path.endswith("/messages")][-1].json
    assert body["type"] == "template" and body["template"]["name"] == "order_update"
    message.refresh_from_db()
    assert message.delivery_state == "sent"


def test_ten_megabyte_body_is_refused_with_a_trace(post_webhook, inbox):
    body = b'{"object": "whatsapp_business_account", "entry": [], "pad": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    response = post_webhook(inbox, body)
    assert response.status_code == 413
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.REJECTED and "limit" in event.error
    assert Message.objects.count() == 0


def test_event_for_an_inbox_disabled_after_receipt_fails_visibly(post_webhook, inbox, client):
    """Received while enabled, processed after the inbox was disabled: nothing is imported and
    the stored event says why."""
    from inbox.inbound import process_webhook_event
    from tests.channels.conftest import sign

    body = load_fixture("whatsapp/message__text.json")
    client.post(f"/webhooks/whatsapp/{inbox.public_id}/", data=body, content_type="application/json",
                HTTP_X_HUB_SIGNATURE_256=sign(body, "app-secret"))
    inbox.enabled = False
    inbox.save()
    event = process_webhook_event(WebhookEvent.objects.get().pk)
    assert event.status == WebhookEvent.Status.FAILED and "disabled" in event.error
    assert Message.objects.count() == 0 and Conversation.objects.count() == 0
