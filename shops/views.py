"""The shop webhook endpoint, one URL per connection: verify, store the raw event, answer
fast, process in a task. Bad requests still leave a trace (a rejected ``ShopEvent``)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from shop_connectors.base import WebhookRejected

from . import services
from .models import ShopConnection, ShopEvent

MAX_BODY_BYTES = 2 * 1024 * 1024


@csrf_exempt
@require_POST
def webhook(request: HttpRequest, platform: str, public_id: str) -> JsonResponse:
    headers = dict(request.headers.items())
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        length = 0
    connection = ShopConnection.objects.filter(public_id=public_id, platform=platform).first()
    if length > MAX_BODY_BYTES:
        services.event_record(connection=connection, platform=platform, public_id=public_id, body=b"", headers=headers,
                              status=ShopEvent.Status.REJECTED,
                              error=f"body of {length} bytes is over the {MAX_BODY_BYTES} byte limit")
        return JsonResponse({"error": "payload too large"}, status=413)
    body = request.body
    if connection is None:
        services.event_record(connection=None, platform=platform, public_id=public_id, body=body, headers=headers,
                              status=ShopEvent.Status.REJECTED, error="no shop connection with this id and platform")
        return JsonResponse({"error": "unknown shop connection"}, status=404)
    if not connection.enabled:
        services.event_record(connection=connection, platform=platform, public_id=public_id, body=body,
                              headers=headers, status=ShopEvent.Status.REJECTED, error="the connection is disabled")
        return JsonResponse({"error": "connection disabled"}, status=403)
    try:
        event, created = services.event_receive(connection=connection, body=body, headers=headers)
    except WebhookRejected as exc:
        return JsonResponse({"error": str(exc)}, status=exc.status_code)
    return JsonResponse({"received": event.pk, "duplicate": not created})
