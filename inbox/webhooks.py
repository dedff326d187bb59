"""Webhook endpoints, one URL per inbox: verify, store the raw event, answer fast, process in a
task. Bad requests still leave a trace (a rejected ``WebhookEvent``) for the admin.

This is the HTTP side of ``inbound``: adapters (``channels_adapters``) only verify and parse."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from channels_adapters.base import WebhookRejected
from channels_adapters.registry import get_adapter

from . import queue
from .inbound import record_webhook_event
from .models import Inbox, WebhookEvent

MAX_BODY_BYTES = 5 * 1024 * 1024


def _params(request: HttpRequest) -> dict[str, str]:
    return {key: request.GET.get(key, "") for key in request.GET}


@csrf_exempt
@require_http_methods(["GET", "POST"])
def webhook(request: HttpRequest, channel_kind: str, public_id: str) -> HttpResponse:
    inbox = Inbox.objects.filter(public_id=public_id, channel_kind=channel_kind).first()
    if request.method == "GET":
        if inbox is None or not inbox.enabled:
            return HttpResponseForbidden("unknown or disabled inbox")
        params = _params(request)
        # The verify token is generated per inbox; the adapter compares it in constant time.
        challenge = get_adapter(inbox).handshake(params)
        if challenge is None:
            return HttpResponseForbidden("verification failed")
        return HttpResponse(challenge, content_type="text/plain")

    headers = {key: value for key, value in request.headers.items()}
    length = int(request.headers.get("Content-Length") or 0)
    if length > MAX_BODY_BYTES:
        record_webhook_event(inbox=inbox, channel_kind=channel_kind, public_id=public_id, body=b"",
                             headers=headers, status=WebhookEvent.Status.REJECTED,
                             error=f"body of {length} bytes is over the {MAX_BODY_BYTES} byte limit")
        return JsonResponse({"error": "payload too large"}, status=413)
    body = request.body
    if inbox is None:
        record_webhook_event(inbox=None, channel_kind=channel_kind, public_id=public_id, body=body, headers=headers,
                             status=WebhookEvent.Status.REJECTED, error="no inbox with this id and channel")
        return JsonResponse({"error": "unknown inbox"}, status=404)
    if not inbox.enabled:
        record_webhook_event(inbox=inbox, channel_kind=channel_kind, public_id=public_id, body=body, headers=headers,
                             status=WebhookEvent.Status.REJECTED, error="the inbox is disabled")
        return JsonResponse({"error": "inbox disabled"}, status=403)
    adapter = get_adapter(inbox)
    try:
        if not adapter.uses_webhook:
            # No provider posts here (web chat visitors use the widget endpoints, which check
            # their token, origin and rate limits); without this the inbox's public id alone
            # would let anyone write as any visitor.
            raise WebhookRejected(f"{channel_kind} inboxes take no webhooks", 404)
        adapter.verify_request(body, headers)
        # Parse once now only to answer malformed payloads with 400; the task parses again.
        adapter.parse(body, headers)
    except WebhookRejected as exc:
        record_webhook_event(inbox=inbox, channel_kind=channel_kind, public_id=public_id, body=body, headers=headers,
                             status=WebhookEvent.Status.REJECTED, error=f"{exc.status_code}: {exc}")
        return JsonResponse({"error": str(exc)}, status=exc.status_code)
    with transaction.atomic():
        event = record_webhook_event(inbox=inbox, channel_kind=channel_kind, public_id=public_id, body=body,
                                     headers=headers)
        queue.enqueue("inbox.process_webhook", event.pk)
    return JsonResponse({"received": event.pk})
