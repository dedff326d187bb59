"""The website chat widget as a channel.

The widget talks to this app directly (websocket and HTTP), so there is no provider to call:
an outgoing message already reached every open widget tab through the ``conversation-<id>``
group broadcast when it was stored. ``send`` only confirms it. Inbound messages are normalized
by ``inbound_from_widget``, called by the widget consumer and HTTP views.
"""

from __future__ import annotations

import json
import re

from .base import BaseAdapter, InboundAttachment, InboundMessage, OutboundMessage, ParsedWebhook, SendResult, WebhookRejected

#: Longest text a visitor can send in one message.
MAX_TEXT_LENGTH = 5000
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def visitor_address(visitor_id: str) -> str:
    """The ContactIdentity address (channel kind ``webchat``) of an anonymous visitor."""
    return f"visitor:{visitor_id}"


def provider_message_id(visitor_id: str, client_id: str) -> str:
    """Stable per visitor and client-side id, so a message resent after a reconnect is stored once."""
    return f"web-{visitor_id}-{client_id}"


def inbound_from_widget(
    *,
    visitor_id: str,
    client_id: str,
    text: str = "",
    quick_reply_payload: str = "",
    attachments: list[InboundAttachment] | None = None,
    sender_name: str = "",
    contact_email: str = "",
) -> InboundMessage:
    """Normalize one visitor message. Raises ``ValueError`` with a message fit for the visitor."""
    if not isinstance(client_id, str) or not _CLIENT_ID.match(client_id):
        raise ValueError("Each message needs a client_id of letters, digits, - or _ (at most 64).")
    if not isinstance(text, str):
        raise ValueError("The message text must be a string.")
    text = text.strip()
    if len(text) > MAX_TEXT_LENGTH:
        raise ValueError(f"Messages can be at most {MAX_TEXT_LENGTH} characters long.")
    if not text and not attachments:
        raise ValueError("The message is empty.")
    payload = quick_reply_payload if isinstance(quick_reply_payload, str) else ""
    return InboundMessage(
        provider_message_id=provider_message_id(visitor_id, client_id),
        sender_address=visitor_address(visitor_id),
        text=text,
        sender_name=sender_name,
        attachments=list(attachments or []),
        quick_reply_payload=payload[:200],
        contact_email=contact_email,
    )


class WebchatAdapter(BaseAdapter):
    kind = "webchat"
    uses_webhook = False

    def parse(self, body: bytes, headers) -> ParsedWebhook:
        """HTTP fallback: ``{"visitor_id", "client_id", "text", "quick_reply_payload"}``.

        The caller has already authenticated the visitor (the widget token names the visitor id).
        """
        try:
            data = json.loads(body)
            message = inbound_from_widget(
                visitor_id=str(data["visitor_id"]), client_id=data.get("client_id", ""),
                text=data.get("text", ""), quick_reply_payload=data.get("quick_reply_payload", ""),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookRejected(f"malformed widget message: {exc}", 400) from exc
        return ParsedWebhook(messages=[message])

    def send(self, message: OutboundMessage) -> SendResult:
        # No network I/O: open widgets already got the message from the group broadcast, and
        # closed ones fetch it from the history endpoint on their next visit.
        return SendResult(provider_message_id=f"web-out-{message.local_id}")

    def test_connection(self) -> str:
        return "the web chat needs no credentials"
