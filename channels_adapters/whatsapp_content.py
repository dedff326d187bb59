"""WhatsApp message kinds beyond plain content: edits, deletions, catalogue orders, flow
replies and system notices (a customer's number change).

Each parser fills the ``InboundMessage`` the adapter started and returns it; the write path
applies edits and deletions to the original message (``edit_of_provider_id`` /
``unsend_of_provider_id``) and moves the contact's identity on a number change
(``new_sender_address``). Formats: Meta's "messages" webhook reference (``edit``, ``revoke``,
``order``, ``interactive.nfm_reply``, ``system``).
"""

from __future__ import annotations

import json
from typing import Any

from .base import InboundMessage
from .meta import as_dict, as_list, as_str

#: Message kinds whose content can be edited, and where their text is.
EDITABLE_TEXT = {"text": "body", "image": "caption", "video": "caption", "document": "caption"}


def parse_edit(msg: InboundMessage, content: dict[str, Any]) -> InboundMessage | None:
    """``{"original_message_id", "message": {"type": "text", "text": {"body"}}}``; media edits
    carry the new caption."""
    original = as_str(content.get("original_message_id"))
    if not original:
        return None
    edited = as_dict(content.get("message"))
    kind = as_str(edited.get("type")) or "text"
    msg.edit_of_provider_id = original
    msg.text = as_str(as_dict(edited.get(kind)).get(EDITABLE_TEXT.get(kind, "body")))
    return msg


def parse_revoke(msg: InboundMessage, content: dict[str, Any]) -> InboundMessage | None:
    """``{"original_message_id"}``: the customer deleted a message for everyone."""
    original = as_str(content.get("original_message_id"))
    if not original:
        return None
    msg.unsend_of_provider_id = original
    return msg


def _money(amount: Any, currency: str) -> str:
    try:
        return f"{float(amount):.2f} {currency}".strip()
    except (TypeError, ValueError):
        return f"{as_str(amount)} {currency}".strip()


def parse_order(msg: InboundMessage, content: dict[str, Any]) -> InboundMessage:
    """A cart sent from the catalogue: one line per product, then the customer's note."""
    items = []
    lines = []
    for raw in as_list(content.get("product_items")):
        raw = as_dict(raw)
        item = {
            "product_retailer_id": as_str(raw.get("product_retailer_id")),
            "quantity": as_str(raw.get("quantity")) or "1",
            "item_price": raw.get("item_price"),
            "currency": as_str(raw.get("currency")),
        }
        items.append(item)
        lines.append(f"{item['quantity']} × {item['product_retailer_id'] or '?'}"
                     + (f" — {_money(item['item_price'], item['currency'])}" if item["item_price"] is not None else ""))
    note = as_str(content.get("text"))
    msg.text = "\n".join(["Order:", *(f"• {line}" for line in lines or ["(no items)"]), *([note] if note else [])])
    msg.metadata["order"] = {"catalog_id": as_str(content.get("catalog_id")), "text": note, "product_items": items}
    return msg


def parse_flow_reply(msg: InboundMessage, reply: dict[str, Any]) -> InboundMessage:
    """A WhatsApp Flow's answer (``nfm_reply``): ``response_json`` is a JSON string of the
    fields the customer filled in; they become readable lines, the flow token aside."""
    try:
        answers = json.loads(as_str(reply.get("response_json")) or "{}")
    except (ValueError, RecursionError):
        answers = {"response": as_str(reply.get("response_json"))}
    answers = answers if isinstance(answers, dict) else {"response": answers}
    lines = [f"{key}: {_readable(value)}" for key, value in answers.items() if key != "flow_token"]
    title = as_str(reply.get("body")) or "Form sent"
    msg.text = "\n".join([title, *lines])
    msg.metadata["flow_reply"] = {"name": as_str(reply.get("name")), "response": answers}
    msg.metadata["interactive_type"] = "nfm_reply"
    return msg


def _readable(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_readable(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_readable(v)}" for k, v in value.items())
    return as_str(value) if not isinstance(value, (int, float, bool)) else str(value)


def parse_system(msg: InboundMessage, content: dict[str, Any]) -> InboundMessage:
    """``{"body", "type": "user_changed_number", "new_wa_id"}`` (or identity changes): a notice
    for the conversation; a number change moves the contact's WhatsApp identity."""
    event = as_str(content.get("type")) or "system"
    msg.text = as_str(content.get("body")) or f"WhatsApp notice: {event}"
    msg.metadata["system_event"] = event
    if event == "user_changed_number":
        new_address = as_str(content.get("new_wa_id") or content.get("wa_id"))
        if new_address and new_address != msg.sender_address:
            msg.new_sender_address = new_address
    return msg


PARSERS = {"edit": parse_edit, "revoke": parse_revoke, "order": parse_order, "system": parse_system}
