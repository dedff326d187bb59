"""Which adapter class serves which channel kind, chosen by settings like Django's mail backends.

``settings.CHANNEL_ADAPTERS`` maps a kind (``webchat``, ``whatsapp``, ``messenger``,
``instagram``, ``email``) to a dotted class path. Read lazily, so tests can override the setting.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from .base import BaseAdapter

DEFAULT_ADAPTERS = {
    "webchat": "channels_adapters.webchat.WebchatAdapter",
    "whatsapp": "channels_adapters.whatsapp.WhatsAppAdapter",
    "messenger": "channels_adapters.messenger.MessengerAdapter",
    "instagram": "channels_adapters.instagram.InstagramAdapter",
    "email": "channels_adapters.email.EmailAdapter",
}


def adapter_class_for(kind: str) -> type[BaseAdapter]:
    paths = {**DEFAULT_ADAPTERS, **getattr(settings, "CHANNEL_ADAPTERS", {})}
    try:
        return import_string(paths[kind])
    except KeyError:
        raise LookupError(f"no channel adapter is registered for {kind!r}") from None


def get_adapter(inbox) -> BaseAdapter:
    """The adapter for an ``inbox.models.Inbox``, configured with its channel settings.

    Defaults that are not credentials come from the inbox row and settings: the generated
    webhook verify token and the Graph API base URL (a loopback fake in tests), read from the
    setting the adapter class names in ``graph_api_setting`` (Instagram has its own host)."""
    adapter_class = adapter_class_for(inbox.channel_kind)
    base_setting = getattr(adapter_class, "graph_api_setting", "META_GRAPH_API_BASE")
    config = {
        "verify_token": inbox.webhook_verify_token,
        "graph_api_base": getattr(settings, base_setting, settings.META_GRAPH_API_BASE),
        **(inbox.channel_config or {}),
    }
    return adapter_class(config, inbox_id=inbox.pk)
