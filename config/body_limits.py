"""Bound request bodies while they are read, not by their Content-Length.

Django's ASGI handler reads a whole body (into a spooled temporary file) before any view runs,
and a chunked request has no Content-Length to check, so a view's own check comes too late.
This ASGI middleware stops reading once a path's limit is passed: the application sees the
first ``limit + 1`` bytes as the whole body, so the view can tell "too large" (413) without
the rest ever being buffered. The remainder is read and dropped, which keeps the connection
usable.

Limits by path prefix come from ``settings.REQUEST_BODY_LIMITS`` (prefix → bytes), by default
the webhook endpoint's ``WEBHOOK_MAX_BODY_BYTES``.
"""

from __future__ import annotations

from django.conf import settings


def body_limit_for(path: str) -> int | None:
    limits = getattr(settings, "REQUEST_BODY_LIMITS", None)
    if limits is None:
        limits = {"/webhooks/": settings.WEBHOOK_MAX_BODY_BYTES}
    matches = [limit for prefix, limit in limits.items() if path.startswith(prefix)]
    return min(matches) if matches else None


class BodyLimitMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        limit = body_limit_for(scope.get("path", "")) if scope["type"] == "http" else None
        if limit is None:
            return await self.app(scope, receive, send)
        received = 0
        finished = False

        async def bounded_receive():
            nonlocal received, finished
            if finished:
                # The body was cut short: drop what the client still sends and pass on the
                # disconnect the application listens for.
                while True:
                    message = await receive()
                    if message["type"] != "http.request":
                        return message
            message = await receive()
            if message["type"] != "http.request":
                return message
            body = message.get("body", b"")
            room = limit + 1 - received
            if len(body) >= room:
                finished = True
                received += room
                return {"type": "http.request", "body": body[:room], "more_body": False}
            received += len(body)
            finished = not message.get("more_body", False)
            return message

        return await self.app(scope, bounded_receive, send)
