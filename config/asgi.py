"""ASGI entry point: HTTP (Django) and websockets (Channels) in one application."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import path  # noqa: E402

from inbox.consumers import AgentConsumer  # noqa: E402
from widget.consumers import WidgetConsumer  # noqa: E402

application = ProtocolTypeRouter({
    "http": django_asgi_app,
    "websocket": URLRouter([
        # Agents: session cookie auth; the origin must be one of ALLOWED_HOSTS.
        path("ws/agent/", AllowedHostsOriginValidator(AuthMiddlewareStack(AgentConsumer.as_asgi()))),
        # Visitors: signed widget token; the consumer checks the origin against the inbox's domains.
        path("ws/widget/", WidgetConsumer.as_asgi()),
    ]),
})
