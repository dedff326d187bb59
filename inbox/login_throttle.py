"""Login throttling with django-axes (a kept library: lockouts per account and per IP, counted
in Redis when REDIS_URL is set, else in the database, so every web process sees the same counters).

Settings (environment): LOGIN_FAILURE_LIMIT (default 5 wrong passwords), LOGIN_COOLOFF_MINUTES
(default 15), TRUSTED_PROXY_COUNT (how many reverse proxies add X-Forwarded-For; 0 = use the
socket address). See docs/deployment.md, "Login throttling".
"""

from __future__ import annotations

import math

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import ngettext


def client_ip(request: HttpRequest) -> str:
    """The client's address: the socket's, or with ``TRUSTED_PROXY_COUNT`` proxies in front, the
    address the outermost trusted proxy saw (the N-th entry from the right of X-Forwarded-For).
    Entries further left are written by the client and can be forged, so they are never used."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    proxies = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0) or 0)
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) >= proxies:
        return forwarded[-proxies]
    return forwarded[0] if forwarded else remote


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """429 with the login page and a clear message, in the visitor's language (the admin login
    gets the same page; axes's own texts are not shown)."""
    minutes = max(1, math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    message = ngettext(
        "Too many failed logins for this account or from this network. "
        "Try again in %(minutes)s minute, or ask an administrator to unlock it.",
        "Too many failed logins for this account or from this network. "
        "Try again in %(minutes)s minutes, or ask an administrator to unlock it.", minutes) % {"minutes": minutes}
    return render(request, "registration/locked_out.html", {"message": message, "minutes": minutes}, status=429)
