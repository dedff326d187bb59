"""WhatsApp Cloud API adapter.

Config keys (the inbox's channel configuration):

- ``phone_number_id``: the business phone number's Graph id; sends go to
  ``{graph_api_base}/{phone_number_id}/messages``, and webhook changes for other numbers are
  skipped.
- ``business_account_id``: the WhatsApp Business Account id (informational; templates live
  there).
- ``access_token``: a system-user token with ``whatsapp_business_messaging``.
- ``app_secret``: signs webhook bodies (``X-Hub-Signature-256``).
- ``verify_token``: the token typed into the webhook subscription form.
- ``graph_api_base``: default ``https://graph.facebook.com/v21.0`` (tests point it at the fake).
- ``api_timeout``: seconds per Graph request, default 15.
- ``max_media_bytes``: largest media download accepted, default 16 MB.
- ``list_button_label``: the label of the button that opens a list of more than three quick
  replies, default "Options".

Outbound limits are checked before any request so an agent sees a clear reason: text up to
4,096 characters, captions up to 1,024 (longer text goes out as its own message before the
media), reply buttons up to 3 (20-character titles, longer ones are shortened), list rows
up to 10 (24-character titles).
"""

from __future__ import annotations

import mimetypes
from typing import Any

from . import meta, whatsapp_content
from .base import (
    InboundAttachment,
    InboundMessage,
    OutboundAttachment,
    OutboundMessage,
    ParsedWebhook,
    PermanentSendError,
    SendError,
    SendResult,
    StatusUpdate,
)
from .meta import as_dict, as_list, as_str, describe_error  # noqa: F401  (re-exported)
from .whatsapp_payloads import WhatsAppPayloads

MEDIA_TYPES = {"image": "image", "video": "video", "audio": "audio", "document": "file", "sticker": "sticker"}
STATUS_NAMES = {"sent", "delivered", "read", "failed"}
DEFAULT_MAX_MEDIA_BYTES = 16 * 1024 * 1024


def _describe_location(loc: dict[str, Any]) -> str:
    parts = [p for p in (as_str(loc.get("name")), as_str(loc.get("address"))) if p]
    coords = f"{loc.get('latitude')}, {loc.get('longitude')}"
    return "Location: " + (", ".join(parts) + f" ({coords})" if parts else coords)


def _describe_contacts(cards: list[Any]) -> str:
    lines = []
    for card in cards:
        card = as_dict(card)
        name = as_str(as_dict(card.get("name")).get("formatted_name")) or "(no name)"
        phones = [as_str(as_dict(p).get("phone")) for p in as_list(card.get("phones"))]
        emails = [as_str(as_dict(e).get("email")) for e in as_list(card.get("emails"))]
        details = [d for d in phones + emails if d]
        lines.append("Contact: " + name + (" — " + ", ".join(details) if details else ""))
    return "\n".join(lines) or "Contact: (empty)"


class WhatsAppAdapter(WhatsAppPayloads, meta.MetaAdapter):
    kind = "whatsapp"
    token_key = "access_token"
    #: Free-form messages are allowed this many hours after the customer's last message;
    #: past it only approved templates go through (error 131047).
    window_hours = 24

    # --- config ---------------------------------------------------------------------------------

    @property
    def phone_number_id(self) -> str:
        return as_str(self.config.get("phone_number_id"))

    # --- inbound --------------------------------------------------------------------------------

    def parse(self, body, headers) -> ParsedWebhook:
        payload = meta.load_payload(body, "whatsapp_business_account")
        result = ParsedWebhook()
        for e_index, entry in enumerate(payload["entry"]):
            if not isinstance(entry, dict) or not isinstance(entry.get("changes"), list):
                result.skipped.append(f"entry[{e_index}]: no 'changes' list")
                continue
            for c_index, change in enumerate(entry["changes"]):
                where = f"entry[{e_index}].changes[{c_index}]"
                change = as_dict(change)
                field = change.get("field")
                if field not in ("messages", "smb_message_echoes"):
                    result.skipped.append(f"{where}: field {field!r} is not handled")
                    continue
                value = change.get("value")
                if not isinstance(value, dict):
                    result.skipped.append(f"{where}: no 'value' object")
                    continue
                self._parse_value(value, where, result)
        return result

    def _parse_value(self, value: dict[str, Any], where: str, result: ParsedWebhook) -> None:
        number_id = as_str(as_dict(value.get("metadata")).get("phone_number_id"))
        if self.phone_number_id and number_id != self.phone_number_id:
            result.skipped.append(
                f"{where}: for phone_number_id {number_id!r}, not this inbox's {self.phone_number_id!r}"
            )
            return
        names = {}
        for contact in as_list(value.get("contacts")):
            contact = as_dict(contact)
            names[as_str(contact.get("wa_id"))] = as_str(as_dict(contact.get("profile")).get("name"))
        for m_index, raw in enumerate(as_list(value.get("messages"))):
            item = f"{where}.messages[{m_index}]"
            message = self._parse_message(as_dict(raw), names, item, result)
            if message is not None:
                result.messages.append(message)
        for m_index, raw in enumerate(as_list(value.get("message_echoes"))):
            # Sent by a person from the WhatsApp Business app ("smb_message_echoes"): the
            # customer is the recipient.
            raw = as_dict(raw)
            message = self._parse_message({**raw, "from": raw.get("to")}, {}, f"{where}.message_echoes[{m_index}]",
                                          result)
            if message is not None:
                message.is_echo = True
                result.messages.append(message)
        for s_index, raw in enumerate(as_list(value.get("statuses"))):
            item = f"{where}.statuses[{s_index}]"
            status = self._parse_status(as_dict(raw), item, result)
            if status is not None:
                result.statuses.append(status)
        for error in as_list(value.get("errors")):
            error = as_dict(error)
            result.skipped.append(
                f"{where}: error {error.get('code')} {as_str(error.get('title'))}: "
                f"{as_str(as_dict(error.get('error_data')).get('details'))}".rstrip(": ")
            )

    def _parse_message(
        self, raw: dict[str, Any], names: dict[str, str], where: str, result: ParsedWebhook
    ) -> InboundMessage | None:
        message_id, sender = as_str(raw.get("id")), as_str(raw.get("from"))
        if not message_id or not sender:
            result.skipped.append(f"{where}: message without 'id' or 'from'")
            return None
        sent_at, notes = meta.parse_timestamp(raw.get("timestamp"), millis=False)
        kind = as_str(raw.get("type")) or "unknown"
        msg = InboundMessage(
            provider_message_id=message_id,
            sender_address=sender,
            sender_name=names.get(sender, ""),
            sent_at=sent_at,
            metadata={"type": kind, **notes},
        )
        context = as_dict(raw.get("context"))
        if context.get("id"):
            msg.reply_to_provider_id = as_str(context["id"])
        if context.get("forwarded") or context.get("frequently_forwarded"):
            msg.metadata["forwarded"] = True
        if isinstance(raw.get("referral"), dict):
            msg.metadata["referral"] = raw["referral"]
        errors = [as_dict(e) for e in as_list(raw.get("errors"))]
        if errors:
            msg.metadata["errors"] = errors

        content = as_dict(raw.get(kind))
        if kind == "text":
            msg.text = as_str(content.get("body"))
        elif kind in MEDIA_TYPES:
            if not content.get("id"):
                return self._unsupported(msg, kind, f"{kind} without a media id")
            mime = as_str(content.get("mime_type")).split(";")[0].strip()
            filename = as_str(content.get("filename"))
            if not filename:
                extension = mimetypes.guess_extension(mime or "") or ""
                filename = f"{kind}-{content['id']}{extension}"
            msg.attachments.append(
                InboundAttachment(
                    kind=MEDIA_TYPES[kind],
                    content_type=mime,
                    filename=filename,
                    provider_media_id=as_str(content["id"]),
                )
            )
            msg.text = as_str(content.get("caption"))
            if content.get("voice"):
                msg.metadata["voice"] = True
            if content.get("animated"):
                msg.metadata["animated"] = True
            if content.get("sha256"):
                msg.metadata["sha256"] = as_str(content["sha256"])
        elif kind == "location":
            try:
                latitude, longitude = float(content["latitude"]), float(content["longitude"])
            except (KeyError, TypeError, ValueError):
                return self._unsupported(msg, kind, "location without coordinates")
            msg.location = {
                "latitude": latitude,
                "longitude": longitude,
                "name": as_str(content.get("name")),
                "address": as_str(content.get("address")),
            }
            if content.get("url"):
                msg.location["url"] = as_str(content["url"])
            msg.text = _describe_location(msg.location)
        elif kind == "contacts":
            cards = as_list(raw.get("contacts"))
            msg.text = _describe_contacts(cards)
            msg.metadata["contacts"] = cards
        elif kind == "interactive":
            reply_kind = as_str(content.get("type"))
            reply = as_dict(content.get(reply_kind))
            if reply_kind in ("button_reply", "list_reply") and reply.get("id"):
                msg.quick_reply_payload = as_str(reply["id"])
                msg.text = as_str(reply.get("title"))
                if reply.get("description"):
                    msg.metadata["description"] = as_str(reply["description"])
                msg.metadata["interactive_type"] = reply_kind
            elif reply_kind == "nfm_reply":
                whatsapp_content.parse_flow_reply(msg, reply)
            else:
                return self._unsupported(msg, f"interactive/{reply_kind or 'unknown'}")
        elif kind == "button":
            msg.quick_reply_payload = as_str(content.get("payload"))
            msg.text = as_str(content.get("text"))
        elif kind == "reaction":
            target = as_str(content.get("message_id"))
            if not target:
                return self._unsupported(msg, kind, "reaction without message_id")
            msg.reaction_to_provider_id = target
            msg.text = as_str(content.get("emoji"))
            if not msg.text:
                msg.metadata["reaction_removed"] = True
        elif kind in whatsapp_content.PARSERS:
            if whatsapp_content.PARSERS[kind](msg, content) is None:
                return self._unsupported(msg, kind, f"{kind} without original_message_id")
        elif kind == "unsupported":
            inner = as_str(content.get("type"))
            return self._unsupported(msg, inner or "unknown", self._error_details(errors))
        else:
            return self._unsupported(msg, kind, self._error_details(errors))
        if any(e.get("code") == 131051 for e in errors):
            return self._unsupported(msg, kind, self._error_details(errors))
        return msg

    @staticmethod
    def _error_details(errors: list[dict[str, Any]]) -> str:
        for error in errors:
            details = as_str(as_dict(error.get("error_data")).get("details")) or as_str(
                error.get("title") or error.get("message")
            )
            if details:
                return details
        return ""

    @staticmethod
    def _unsupported(msg: InboundMessage, kind: str, reason: str = "") -> InboundMessage:
        msg.unsupported = True
        msg.text = f"[unsupported message type: {kind}]"
        if reason:
            msg.metadata["unsupported_reason"] = reason
        return msg

    def _parse_status(self, raw: dict[str, Any], where: str, result: ParsedWebhook) -> StatusUpdate | None:
        status = as_str(raw.get("status"))
        if not raw.get("id") or status not in STATUS_NAMES:
            result.skipped.append(f"{where}: status {status!r} is not handled")
            return None
        timestamp, _notes = meta.parse_timestamp(raw.get("timestamp"), millis=False)
        update = StatusUpdate(
            status=status,
            provider_message_id=as_str(raw["id"]),
            recipient_address=as_str(raw.get("recipient_id")),
            timestamp=timestamp,
        )
        errors = [as_dict(e) for e in as_list(raw.get("errors"))]
        if errors:
            first = errors[0]
            update.error_code = as_str(first.get("code"))
            update.error_title = as_str(first.get("title")) or as_str(first.get("message"))
            update.error_detail = as_str(as_dict(first.get("error_data")).get("details"))
        return update

    def fetch_media(self, attachment: InboundAttachment) -> InboundAttachment:
        """Download media by id: the id resolves to a short-lived URL, fetched with the token.

        Raises ``meta.MediaTooLarge`` (permanent) past ``max_media_bytes``, other ``SendError``
        subclasses for Graph and network failures.
        """
        if attachment.data is not None:
            return attachment
        if not attachment.provider_media_id:
            raise PermanentSendError("The attachment has no WhatsApp media id", code="invalid_message")
        limit = int(self.config.get("max_media_bytes") or DEFAULT_MAX_MEDIA_BYTES)
        client = self._client()
        info = client.request("GET", attachment.provider_media_id)
        declared = info.get("file_size")
        if isinstance(declared, (int, str)) and str(declared).isdigit() and int(declared) > limit:
            raise meta.MediaTooLarge(
                f"The file is {int(declared):,} bytes; the limit is {limit:,}", code="too_large"
            )
        url = as_str(info.get("url"))
        if not url:
            raise PermanentSendError("Meta's media answer has no download URL", code="bad_response")
        data, served_type = client.download(url, max_bytes=limit)
        attachment.data = data
        attachment.size = len(data)
        attachment.content_type = as_str(info.get("mime_type")) or attachment.content_type or served_type
        return attachment

    # --- outbound -------------------------------------------------------------------------------

    def upload_media(self, attachment: OutboundAttachment) -> str:
        """Upload bytes to ``/{phone_number_id}/media``; returns the media id."""
        if not attachment.data:
            raise PermanentSendError(
                f"The attachment {attachment.filename!r} has neither data nor a URL", code="invalid_message"
            )
        content_type = attachment.content_type or "application/octet-stream"
        body, multipart_type = meta.encode_multipart(
            {"messaging_product": "whatsapp", "type": content_type},
            {"file": (attachment.filename or "file", attachment.data, content_type)},
        )
        answer = self._client().request(
            "POST", f"{self._require_number()}/media", data=body, content_type=multipart_type
        )
        media_id = as_str(answer.get("id"))
        if not media_id:
            raise PermanentSendError(f"Meta's upload answer has no media id: {answer}", code="bad_response")
        return media_id

    def _require_number(self) -> str:
        if not self.phone_number_id:
            raise PermanentSendError("phone_number_id is not configured", code="invalid_message")
        return self.phone_number_id

    def send(self, message: OutboundMessage) -> SendResult:
        """Send text, buttons, a template or media. Several attachments become several
        messages; the first id is returned and all are in ``metadata["provider_message_ids"]``.

        If a later part fails, the raised error carries ``sent_provider_ids`` (the parts that
        did go out) so a retry can avoid sending them twice.
        """
        number = self._require_number()
        payloads = self.build_payloads(message)
        client = self._client()
        sent: list[str] = []
        attachments = iter(message.attachments)
        try:
            for payload in payloads:
                kind = payload["type"]
                if kind in ("image", "audio", "video", "document", "sticker"):
                    attachment = next(attachments)
                    if payload[kind].get("id", "") is None:
                        payload[kind]["id"] = self.upload_media(attachment)
                answer = client.request("POST", f"{number}/messages", json_body=payload)
                ids = [as_str(as_dict(m).get("id")) for m in as_list(answer.get("messages"))]
                if not ids or not ids[0]:
                    raise PermanentSendError(
                        f"Meta's answer has no message id: {str(answer)[:200]}", code="bad_response"
                    )
                sent.append(ids[0])
        except SendError as exc:
            exc.sent_provider_ids = list(sent)  # type: ignore[attr-defined]
            raise
        wa_ids = [as_str(as_dict(c).get("wa_id")) for c in as_list(answer.get("contacts"))]
        metadata: dict[str, Any] = {"provider_message_ids": sent}
        if wa_ids and wa_ids[0]:
            metadata["wa_id"] = wa_ids[0]
        return SendResult(provider_message_id=sent[0], metadata=metadata)

    def mark_read(self, provider_message_id: str) -> None:
        self._client().request(
            "POST",
            f"{self._require_number()}/messages",
            json_body={"messaging_product": "whatsapp", "status": "read", "message_id": provider_message_id},
        )

    def test_connection(self) -> str:
        info = self._client().request("GET", self._require_number())
        display = as_str(info.get("display_phone_number")) or "?"
        name = as_str(info.get("verified_name")) or "?"
        return f"{display} / {name}"
