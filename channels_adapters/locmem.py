"""An in-memory adapter that records what it would send, like Django's locmem mail backend.

Use it in tests (``CHANNEL_ADAPTERS = {"webchat": "channels_adapters.locmem.LocmemAdapter"}``)
to see exactly what the app hands to a channel. ``fail_next`` makes the next sends raise.
"""

from __future__ import annotations

import itertools
import json

from .base import BaseAdapter, InboundMessage, OutboundMessage, ParsedWebhook, SendError, SendResult, WebhookRejected

#: Every message sent through any LocmemAdapter, in order.
outbox: list[OutboundMessage] = []
#: Errors to raise on the next sends, consumed in order.
pending_failures: list[SendError] = []
_ids = itertools.count(1)


def reset() -> None:
    outbox.clear()
    pending_failures.clear()


def fail_next(*errors: SendError) -> None:
    pending_failures.extend(errors)


class LocmemAdapter(BaseAdapter):
    kind = "locmem"
    uses_webhook = True

    def parse(self, body, headers):
        """Accepts ``{"messages": [{"id", "from", "text"}]}`` so tests can post simple events."""
        try:
            data = json.loads(body)
            return ParsedWebhook(messages=[
                InboundMessage(provider_message_id=m["id"], sender_address=m["from"], text=m.get("text", ""),
                               sender_name=m.get("name", ""))
                for m in data["messages"]
            ])
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookRejected(f"malformed payload: {exc}", 400) from exc

    def send(self, message: OutboundMessage) -> SendResult:
        if pending_failures:
            raise pending_failures.pop(0)
        outbox.append(message)
        return SendResult(provider_message_id=f"locmem-{next(_ids)}")
