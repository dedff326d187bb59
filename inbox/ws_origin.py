"""Origin check for the agents' websocket: only this site's own pages may open it.

A browser sends the page's origin with every websocket handshake, and cookies go along whatever
page opens the socket, so the origin is what stops another site from reading an agent's live
events. Channels' ``AllowedHostsOriginValidator`` compares only the host name: a page on the
same host under another port or over plain http would pass. This validator compares scheme,
host and port (as Django's CSRF origin check does) against:

- the origin the handshake was made to (``ws`` → ``http``, ``wss`` → ``https``, the Host header,
  which must be one of ``ALLOWED_HOSTS``);
- ``PUBLIC_BASE_URL``;
- ``CSRF_TRUSTED_ORIGINS`` (``https://*.example.com`` matches subdomains, as in Django).

Settings are read per connection, so tests and deployments can change them.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_tuple(value: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of an origin or URL, or None when it is not one."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme]


def _header(scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin1")
    return ""


def _is_secure(scope) -> bool:
    if scope.get("scheme") in ("wss", "https"):
        return True
    proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy:
        header, expected = proxy
        name = header.lower().removeprefix("http_").replace("_", "-").encode()
        return _header(scope, name).split(",")[0].strip() == expected
    return False


def _own_origin(scope) -> tuple[str, str, int] | None:
    host = _header(scope, b"host")
    domain, _port = split_domain_port(host)
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    if not domain or not validate_host(domain, allowed):
        return None
    return origin_tuple(("https" if _is_secure(scope) else "http") + "://" + host)


def _trusted(origin: tuple[str, str, int], pattern: str) -> bool:
    if "://*." in pattern:
        scheme, _, rest = pattern.partition("://*.")
        wanted = origin_tuple(f"{scheme}://{rest}")
        return bool(wanted) and origin[0] == wanted[0] and origin[2] == wanted[2] and (
            origin[1].endswith("." + wanted[1]))
    return origin == origin_tuple(pattern)


def origin_allowed(scope) -> bool:
    origin = origin_tuple(_header(scope, b"origin"))
    if origin is None:
        return False
    if origin == _own_origin(scope) or origin == origin_tuple(settings.PUBLIC_BASE_URL):
        return True
    return any(_trusted(origin, pattern) for pattern in getattr(settings, "CSRF_TRUSTED_ORIGINS", []))


class SameOriginValidator:
    """ASGI middleware for websocket routes: deny the handshake unless ``origin_allowed``."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not origin_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
