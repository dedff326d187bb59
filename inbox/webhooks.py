"""Webhook endpoints, one URL per inbox: verify, store the raw event, answer fast; the pump
(``inbound_pump``) processes stored events in batches. Bad requests still leave a trace (a rejected ``WebhookEvent``) for the admin.

This is the HTTP side of ``inbound``: adapters (``channels_adapters``) only verify and parse."""

from __future__ import annotations

from collections.abc import Mapping

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from channels_adapters.base import WebhookRejected
from channels_adapters.registry import get_adapter

from . import inbound_pump, webhook_events
from .inbound import record_webhook_event
from .models import Inbox, WebhookEvent


def _params(request: HttpRequest) -> dict[str, str]:
    return {key: request.GET.get(key, "") for key in request.GET}


def _client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _read_body(request: HttpRequest) -> tuple[bytes | None, str]:
    """The body, or None and why when it is over ``WEBHOOK_MAX_BODY_BYTES``. Counted on what
    is read, not only on Content-Length: a chunked body has none (and under ASGI
    ``config.body_limits`` has already stopped reading one byte past the limit)."""
    limit = settings.WEBHOOK_MAX_BODY_BYTES
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return None, f"body of {declared} bytes is over the {limit} byte limit"
    body = request.read(limit + 1)
    if len(body) > limit:
        return None, f"body is over the {limit} byte limit (counted while reading)"
    return body, ""


def _refuse(request: HttpRequest, *, inbox: Inbox | None, channel_kind: str, public_id: str, body: bytes,
            headers: Mapping[str, str], error: str, status: int, authenticated: bool = False) -> HttpResponse:
    """Answer a refused request, keeping a trace for the admin: the whole body when the request
    was signed (a malformed payload from the provider), else only its start. An address that
    keeps being refused gets 429 and leaves nothing more (``WEBHOOK_REJECTED_PER_MINUTE``)."""
    if webhook_events.rejected_rate_limited(_client_ip(request)):
        return JsonResponse({"error": "too many refused requests; try again later"}, status=429)
    if not authenticated:
        body, note = webhook_events.rejected_body(body)
        error += note
    record_webhook_event(inbox=inbox, channel_kind=channel_kind, public_id=public_id, body=body, headers=headers,
                         status=WebhookEvent.Status.REJECTED, error=error)
    return JsonResponse({"error": error.split(" (first ")[0]}, status=status)


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
    refuse = {"inbox": inbox, "channel_kind": channel_kind, "public_id": public_id, "headers": headers}
    body, too_large = _read_body(request)
    if body is None:
        return _refuse(request, **refuse, body=b"", error=too_large, status=413)
    if inbox is None:
        return _refuse(request, **refuse, body=body, error="no inbox with this id and channel", status=404)
    if not inbox.enabled:
        return _refuse(request, **refuse, body=body, error="the inbox is disabled", status=403)
    adapter = get_adapter(inbox)
    try:
        if not adapter.uses_webhook:
            # No provider posts here (web chat visitors use the widget endpoints, which check
            # their token, origin and rate limits); without this the inbox's public id alone
            # would let anyone write as any visitor.
            raise WebhookRejected(f"{channel_kind} inboxes take no webhooks", 404)
        adapter.verify_request(body, headers)
    except WebhookRejected as exc:
        return _refuse(request, **refuse, body=body, error=f"{exc.status_code}: {exc}", status=exc.status_code)
    try:
        # A quick look only, to answer malformed payloads with 400; the task parses.
        adapter.check_request(body, headers)
    except WebhookRejected as exc:
        return _refuse(request, **refuse, body=body, error=f"{exc.status_code}: {exc}", status=exc.status_code,
                       authenticated=True)
    except RecursionError:
        return _refuse(request, **refuse, body=body, error="400: request body nests too deeply to read",
                       status=400, authenticated=True)
    # The stored row is the queue entry: one INSERT, a nudge after the commit, the answer. The
    # pump (inbox/inbound_pump.py) processes it with its neighbours in a batch. In a transaction
    # so that on SQLite it takes the write queue's request lane (config/sqlite/base.py) instead of
    # retrying in SQLite's busy handler behind the pump's batch.
    with transaction.atomic():
        event = record_webhook_event(inbox=inbox, channel_kind=channel_kind, public_id=public_id, body=body,
                                     headers=headers)
        inbound_pump.nudge()
    return JsonResponse({"received": event.pk})
