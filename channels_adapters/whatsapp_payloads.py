"""WhatsApp Cloud API: turning an ``OutboundMessage`` into the request bodies of the
``/messages`` endpoint (text, reply buttons or a list, media with captions, templates).

Kept apart from ``whatsapp.py`` (webhook parsing, sending, media) so each stays readable; the
adapter inherits these builders. Limits are in ``whatsapp.py``'s docstring.
"""

from __future__ import annotations

from typing import Any

from .base import OutboundAttachment, OutboundMessage, PermanentSendError
from .meta import as_str

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_LIST_ROWS = 10
MAX_ROW_TITLE = 24


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class WhatsAppPayloads:
    """Request-body builders; mixed into ``WhatsAppAdapter`` (needs ``self.config``)."""

    def _message_base(self, message: OutboundMessage) -> dict[str, Any]:
        body: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": message.recipient_address,
        }
        if message.reply_to_provider_id:
            body["context"] = {"message_id": message.reply_to_provider_id}
        return body

    def build_payloads(self, message: OutboundMessage) -> list[dict[str, Any]]:
        """The JSON bodies ``send`` posts, in order (attachment uploads aside).

        Attachments without ``url`` appear with ``{"id": None}``; ``send`` fills in the id
        after uploading. Raises ``PermanentSendError`` for messages WhatsApp would refuse.
        """
        if not message.recipient_address:
            raise PermanentSendError("The message has no recipient", code="invalid_message")
        if message.template is not None:
            return [self._template_payload(message)]
        text = message.text or ""
        if len(text) > MAX_TEXT:
            raise PermanentSendError(
                f"The text is {len(text):,} characters; WhatsApp allows at most {MAX_TEXT:,}",
                code="text_too_long",
            )
        payloads: list[dict[str, Any]] = []
        if message.attachments:
            if message.quick_replies:
                raise PermanentSendError(
                    "WhatsApp cannot combine quick replies with attachments in one message",
                    code="invalid_message",
                )
            for attachment in message.attachments:
                if not attachment.url and not attachment.data:
                    raise PermanentSendError(
                        f"The attachment {attachment.filename!r} has neither data nor a URL",
                        code="invalid_message",
                    )
            kinds = [self._media_kind(a) for a in message.attachments]
            caption_fits = kinds[0] in ("image", "video", "document") and len(text) <= MAX_CAPTION
            if text and not caption_fits:
                payloads.append(self._text_payload(message, text))
            for index, (attachment, kind) in enumerate(zip(message.attachments, kinds)):
                media: dict[str, Any] = {"link": attachment.url} if attachment.url else {"id": None}
                if index == 0 and text and caption_fits:
                    media["caption"] = text
                if kind == "document" and attachment.filename:
                    media["filename"] = attachment.filename
                payload = self._message_base(message)
                if index > 0 or payloads:
                    payload.pop("context", None)  # quote once, on the first message
                payload.update({"type": kind, kind: media})
                payloads.append(payload)
            return payloads
        if not text.strip():
            raise PermanentSendError("The message is empty", code="invalid_message")
        if message.quick_replies:
            return [self._interactive_payload(message, text)]
        return [self._text_payload(message, text)]

    def _text_payload(self, message: OutboundMessage, text: str) -> dict[str, Any]:
        payload = self._message_base(message)
        payload.update({"type": "text", "text": {"preview_url": False, "body": text}})
        return payload

    def _interactive_payload(self, message: OutboundMessage, text: str) -> dict[str, Any]:
        replies = message.quick_replies
        if len(text) > MAX_CAPTION:
            raise PermanentSendError(
                f"Text with buttons is limited to {MAX_CAPTION:,} characters on WhatsApp",
                code="text_too_long",
            )
        if len(replies) <= MAX_BUTTONS:
            interactive = {
                "type": "button",
                "body": {"text": text},
                "action": {
                    "buttons": [
                        {"type": "reply", "reply": {"id": r.payload, "title": shorten(r.title, MAX_BUTTON_TITLE)}}
                        for r in replies
                    ]
                },
            }
        elif len(replies) <= MAX_LIST_ROWS:
            label = as_str(self.config.get("list_button_label")) or "Options"
            interactive = {
                "type": "list",
                "body": {"text": text},
                "action": {
                    "button": shorten(label, MAX_BUTTON_TITLE),
                    "sections": [
                        {
                            "title": shorten(label, MAX_ROW_TITLE),
                            "rows": [{"id": r.payload, "title": shorten(r.title, MAX_ROW_TITLE)} for r in replies],
                        }
                    ],
                },
            }
        else:
            raise PermanentSendError(
                f"{len(replies)} quick replies; WhatsApp lists hold at most {MAX_LIST_ROWS}",
                code="invalid_message",
            )
        payload = self._message_base(message)
        payload.update({"type": "interactive", "interactive": interactive})
        return payload

    def _template_payload(self, message: OutboundMessage) -> dict[str, Any]:
        template = message.template
        assert template is not None
        if not template.name or not template.language:
            raise PermanentSendError("A template needs a name and a language", code="invalid_message")
        spec: dict[str, Any] = {"name": template.name, "language": {"code": template.language}}
        if template.parameters:
            spec["components"] = [
                {"type": "body", "parameters": [{"type": "text", "text": str(p)} for p in template.parameters]}
            ]
        payload = self._message_base(message)
        payload.update({"type": "template", "template": spec})
        return payload

    @staticmethod
    def _media_kind(attachment: OutboundAttachment) -> str:
        content_type = (attachment.content_type or "").lower()
        if content_type == "image/webp":
            return "sticker"  # WhatsApp only takes webp images as stickers
        major = content_type.split("/")[0]
        if major in ("image", "audio", "video"):
            return major
        return "document"
