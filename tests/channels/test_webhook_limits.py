"""Bounded work for unauthenticated and hostile webhook input (issue #11 items 11, 12, 13):
what a refused request leaves behind, per-IP limits on refusals, retention of raw events,
body limits enforced while reading (chunked bodies too) and deeply nested JSON."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from asgiref.testing import ApplicationCommunicator
from django.core.cache import cache
from django.utils import timezone

from inbox import services, tasks
from inbox.models import Message, WebhookEvent
from tests.factories import make_inbox

from .conftest import load_fixture, sign

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def inbox(fake_graph, monkeypatch):
    monkeypatch.setattr("bot.engine.bot_enabled_for", lambda inbox: False)
    return make_inbox("whatsapp", channel_config={
        "phone_number_id": "1234567890", "access_token": "test-token", "app_secret": "app-secret"})


def test_unsigned_body_is_kept_only_in_part(client, inbox, settings):
    body = b'{"object": "whatsapp_business_account", "entry": []}' + b" " * 200_000
    response = client.post(f"/webhooks/whatsapp/{inbox.public_id}/", data=body, content_type="application/json")
    assert response.status_code == 401
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.REJECTED
    assert len(bytes(event.body)) == settings.WEBHOOK_REJECTED_BODY_BYTES
    assert "first 4,096 of" in event.error


def test_body_for_an_unknown_inbox_is_kept_only_in_part(client, settings):
    response = client.post("/webhooks/whatsapp/no-such-inbox/", data=b"x" * 100_000, content_type="application/json")
    assert response.status_code == 404
    assert len(bytes(WebhookEvent.objects.get().body)) == settings.WEBHOOK_REJECTED_BODY_BYTES


def test_signed_malformed_body_is_kept_whole(post_webhook, inbox):
    body = b'{"object": "whatsapp_business_account", "entry": "nope"' + b" " * 10_000 + b"}"
    assert post_webhook(inbox, body).status_code == 400
    assert bytes(WebhookEvent.objects.get().body) == body


def test_refused_requests_are_rate_limited_per_ip(client, inbox, settings):
    settings.WEBHOOK_REJECTED_PER_MINUTE = 5
    url = f"/webhooks/whatsapp/{inbox.public_id}/"
    codes = [client.post(url, data=b"{}", content_type="application/json", REMOTE_ADDR="203.0.113.9").status_code
             for _ in range(8)]
    assert codes == [401] * 5 + [429] * 3
    assert WebhookEvent.objects.count() == 5
    # Another address is not affected, nor are signed requests from the limited one.
    assert client.post(url, data=b"{}", content_type="application/json", REMOTE_ADDR="198.51.100.7").status_code == 401
    body = load_fixture("whatsapp/message__text.json")
    signed = client.post(url, data=body, content_type="application/json", REMOTE_ADDR="203.0.113.9",
                         HTTP_X_HUB_SIGNATURE_256=sign(body, "app-secret"))
    assert signed.status_code == 200


def test_old_processed_and_rejected_events_are_deleted_failed_ones_kept(post_webhook, client, inbox, settings):
    settings.WEBHOOK_EVENT_RETENTION_DAYS = 30
    post_webhook(inbox, load_fixture("whatsapp/message__text.json"))
    client.post(f"/webhooks/whatsapp/{inbox.public_id}/", data=b"{}", content_type="application/json")
    WebhookEvent.objects.create(inbox=inbox, channel_kind="whatsapp", body=b"{}", status=WebhookEvent.Status.FAILED)
    WebhookEvent.objects.update(received_at=timezone.now() - dt.timedelta(days=31))
    recent = WebhookEvent.objects.create(inbox=inbox, channel_kind="whatsapp", body=b"{}",
                                         status=WebhookEvent.Status.PROCESSED)
    counts = tasks.sweep()
    assert counts["purged_events"] == 2
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"failed", "processed"}
    assert WebhookEvent.objects.filter(pk=recent.pk).exists()
    assert Message.objects.count() == 1  # the messages stay: only the raw request goes


def test_purge_is_a_periodic_task():
    from huey.contrib.djhuey import HUEY

    assert "purge_webhook_events_task" in {task.__name__ for task in HUEY._registry._periodic_tasks}


def test_declared_length_over_the_limit_is_refused(client, inbox, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 1000
    response = client.post(f"/webhooks/whatsapp/{inbox.public_id}/", data=b"x" * 2000, content_type="application/json")
    assert response.status_code == 413


async def asgi_post(path: str, chunks: list[bytes], headers: list[tuple[bytes, bytes]]):
    from config.asgi import application

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"),
                         (b"transfer-encoding", b"chunked"), *headers],
             "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000)}
    communicator = ApplicationCommunicator(application, scope)
    sent = 0
    for index, chunk in enumerate(chunks):
        await communicator.send_input({"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1})
        sent += len(chunk)
    start = await communicator.receive_output(timeout=10)
    await communicator.receive_output(timeout=10)
    await communicator.send_input({"type": "http.disconnect"})
    await communicator.wait(timeout=5)
    return start["status"], sent


@pytest.mark.django_db(transaction=True)
def test_chunked_body_without_length_is_bounded_while_reading(settings):
    """A chunked body has no Content-Length: the limit is counted on the bytes as they arrive
    and the application never holds more than the limit."""
    from asgiref.sync import async_to_sync

    settings.WEBHOOK_MAX_BODY_BYTES = 50_000
    inbox = make_inbox("whatsapp", channel_config={"phone_number_id": "1234567890", "app_secret": "app-secret"})
    body = b'{"object": "whatsapp_business_account", "entry": [], "pad": "' + b"x" * 200_000 + b'"}'
    chunks = [body[i:i + 8192] for i in range(0, len(body), 8192)]
    status, _sent = async_to_sync(asgi_post)(
        f"/webhooks/whatsapp/{inbox.public_id}/", chunks,
        [(b"x-hub-signature-256", sign(body, "app-secret").encode())])
    assert status == 413
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.REJECTED and "over the 50000 byte limit" in event.error


def test_deeply_nested_json_is_a_400_with_the_event_kept(post_webhook, inbox):
    body = b'{"object": "whatsapp_business_account", "entry": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}"
    response = post_webhook(inbox, body)
    assert response.status_code == 400
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.REJECTED and "nests too deeply" in event.error
    assert bytes(event.body) == body
