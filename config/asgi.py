"""ASGI entry point: HTTP (Django) and websockets (Channels) in one application."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from config.body_limits import BodyLimitMiddleware  # noqa: E402
from inbox.consumers import AgentConsumer  # noqa: E402
from inbox.ws_origin import SameOriginValidator  # noqa: E402
from widget.consumers import WidgetConsumer  # noqa: E402

application = ProtocolTypeRouter({
    # Bodies are counted while they are read (chunked ones too): see config/body_limits.py.
    "http": BodyLimitMiddleware(django_asgi_app),
    "websocket": URLRouter([
        # Agents: session cookie auth; the origin (scheme, host and port) must be this site's.
        path("ws/agent/", SameOriginValidator(AuthMiddlewareStack(AgentConsumer.as_asgi()))),
        # Visitors: signed widget token; the consumer checks the origin against the inbox's domains.
        path("ws/widget/", WidgetConsumer.as_asgi()),
    ]),
})
