"""Facebook Messenger (Send API / Webhooks for Pages) adapter.

Config keys (the inbox's channel configuration):

- ``page_id``: the Facebook Page id; webhook entries for other pages are skipped.
- ``page_access_token``: a Page access token with ``pages_messaging``.
- ``app_secret``: signs webhook bodies (``X-Hub-Signature-256``).
- ``verify_token``: the token typed into the webhook subscription form.
- ``graph_api_base``: default ``https://graph.facebook.com/v21.0`` (tests point it at the fake).
- ``api_timeout``: seconds per Graph request, default 15.
- ``human_agent_tag``: bool; when true, messages with ``messaging_tag="HUMAN_AGENT"`` may go
  out up to 7 days after the customer's last message. When false such sends are refused here
  rather than by Meta.

Text over 2,000 characters is refused (``PermanentSendError`` code ``text_too_long``) rather
than split: a split send that fails halfway cannot be retried without repeating the first
part, and the agent can shorten the text knowingly. Attachments go out as separate messages,
before the text, so quick replies stay on the last message where Messenger shows them.
"""

from __future__ import annotations

import json
from typing import Any

from . import meta
from .base import (
    InboundAttachment,
    InboundMessage,
    OutboundAttachment,
    ParsedWebhook,
    PermanentSendError,
    StatusUpdate,
)
from .messenger_platform import MessengerPlatformAdapter
from .meta import as_dict, as_list, as_str

MAX_TEXT = 2000
ATTACHMENT_KINDS = {"image": "image", "audio": "audio", "video": "video", "file": "file"}


class MessengerAdapter(MessengerPlatformAdapter):
    kind = "messenger"
    token_key = "page_access_token"
    platform = "Messenger"
    account_noun = "page"

    @property
    def page_id(self) -> str:
        return as_str(self.config.get("page_id"))

    # --- inbound --------------------------------------------------------------------------------

    def parse(self, body, headers) -> ParsedWebhook:
        payload = meta.load_payload(body, "page")
        result = ParsedWebhook()
        for e_index, entry in enumerate(payload["entry"]):
            where = f"entry[{e_index}]"
            if not isinstance(entry, dict):
                result.skipped.append(f"{where}: not an object")
                continue
            entry_page = as_str(entry.get("id"))
            if self.page_id and entry_page != self.page_id:
                result.skipped.append(f"{where}: for page {entry_page!r}, not this inbox's {self.page_id!r}")
                continue
            events = entry.get("messaging")
            if not isinstance(events, list):
                others = sorted(k for k in entry if k not in ("id", "time"))
                result.skipped.append(f"{where}: no 'messaging' list (has {', '.join(others) or 'nothing'})")
                continue
            for i, event in enumerate(events):
                self._parse_event(as_dict(event), f"{where}.messaging[{i}]", result)
        return result

    def _parse_event(self, event: dict[str, Any], where: str, result: ParsedWebhook) -> None:
        sender = as_str(as_dict(event.get("sender")).get("id"))
        recipient = as_str(as_dict(event.get("recipient")).get("id"))
        when, notes = meta.parse_timestamp(event.get("timestamp"), millis=True)
        if isinstance(event.get("message"), dict):
            message = self._parse_message(event["message"], sender, recipient, where, result)
            if message is not None:
                message.sent_at = when
                message.metadata.update(notes)
                result.messages.append(message)
        elif isinstance(event.get("postback"), dict):
            postback = event["postback"]
            if not sender:
                result.skipped.append(f"{where}: postback without sender")
                return
            mid = as_str(postback.get("mid")) or f"postback:{sender}:{event.get('timestamp')}"
            message = InboundMessage(
                provider_message_id=mid,
                sender_address=sender,
                text=as_str(postback.get("title")),
                quick_reply_payload=as_str(postback.get("payload")),
                sent_at=when,
                metadata={"type": "postback", **notes},
            )
            if isinstance(postback.get("referral"), dict):
                message.metadata["referral"] = postback["referral"]
            result.messages.append(message)
        elif isinstance(event.get("reaction"), dict):
            reaction = event["reaction"]
            target = as_str(reaction.get("mid"))
            if not sender or not target:
                result.skipped.append(f"{where}: reaction without sender or mid")
                return
            removed = reaction.get("action") == "unreact"
            result.messages.append(
                InboundMessage(
                    provider_message_id=f"reaction:{target}:{sender}:{event.get('timestamp')}",
                    sender_address=sender,
                    text="" if removed else as_str(reaction.get("emoji")),
                    reaction_to_provider_id=target,
                    sent_at=when,
                    metadata={"type": "reaction", "reaction_removed": removed, **notes},
                )
            )
        elif isinstance(event.get("message_edit"), dict):
            # The customer edited an earlier message; the write path changes the original.
            edit = event["message_edit"]
            target = as_str(edit.get("mid"))
            if not sender or not target:
                result.skipped.append(f"{where}: message_edit without sender or mid")
                return
            result.messages.append(
                InboundMessage(
                    provider_message_id=f"edit:{target}:{as_str(edit.get('num_edit')) or event.get('timestamp')}",
                    sender_address=sender,
                    text=as_str(edit.get("text")),
                    edit_of_provider_id=target,
                    sent_at=when,
                    metadata={"type": "message_edit", **notes},
                )
            )
        elif isinstance(event.get("delivery"), dict):
            delivery = event["delivery"]
            watermark, _ = meta.parse_timestamp(delivery.get("watermark"), millis=True)
            for mid in as_list(delivery.get("mids")):
                if as_str(mid):
                    result.statuses.append(
                        StatusUpdate(
                            status="delivered",
                            provider_message_id=as_str(mid),
                            recipient_address=sender,
                            timestamp=when,
                        )
                    )
            if delivery.get("watermark") is not None:
                result.statuses.append(
                    StatusUpdate(status="delivered", recipient_address=sender, timestamp=when, watermark=watermark)
                )
        elif isinstance(event.get("read"), dict):
            read = event["read"]
            if read.get("watermark") is None:
                result.skipped.append(f"{where}: read without watermark")
                return
            watermark, _ = meta.parse_timestamp(read.get("watermark"), millis=True)
            result.statuses.append(
                StatusUpdate(status="read", recipient_address=sender, timestamp=when, watermark=watermark)
            )
        else:
            kinds = sorted(k for k in event if k not in ("sender", "recipient", "timestamp"))
            result.skipped.append(f"{where}: event {', '.join(kinds) or '(empty)'} is not handled")

    def _parse_message(
        self, raw: dict[str, Any], sender: str, recipient: str, where: str, result: ParsedWebhook
    ) -> InboundMessage | None:
        mid = as_str(raw.get("mid"))
        is_echo = bool(raw.get("is_echo"))
        # An echo is the page talking to the customer: the customer is the recipient.
        customer = recipient if is_echo else sender
        if not mid or not customer:
            result.skipped.append(f"{where}: message without 'mid' or sender")
            return None
        if raw.get("is_deleted"):
            result.skipped.append(f"{where}: message {mid} was deleted by the customer")
            return None
        msg = InboundMessage(
            provider_message_id=mid,
            sender_address=customer,
            text=as_str(raw.get("text")),
            is_echo=is_echo,
            metadata={"type": "message"},
        )
        if is_echo:
            msg.metadata["app_id"] = as_str(raw.get("app_id"))
            if raw.get("metadata"):
                msg.metadata["echo_metadata"] = as_str(raw.get("metadata"))
        quick_reply = as_dict(raw.get("quick_reply"))
        if quick_reply.get("payload"):
            msg.quick_reply_payload = as_str(quick_reply["payload"])
        reply_to = as_dict(raw.get("reply_to"))
        if reply_to.get("mid"):
            msg.reply_to_provider_id = as_str(reply_to["mid"])
        if raw.get("sticker_id"):
            msg.metadata["sticker_id"] = as_str(raw["sticker_id"])
        unsupported: list[str] = []
        links: list[str] = []
        for attachment in as_list(raw.get("attachments")):
            attachment = as_dict(attachment)
            kind = as_str(attachment.get("type")) or "unknown"
            payload = as_dict(attachment.get("payload"))
            url = as_str(payload.get("url"))
            if kind in ATTACHMENT_KINDS and url:
                is_sticker = kind == "image" and payload.get("sticker_id")
                msg.attachments.append(
                    InboundAttachment(kind="sticker" if is_sticker else ATTACHMENT_KINDS[kind], url=url)
                )
            elif kind == "location":
                coordinates = as_dict(payload.get("coordinates"))
                try:
                    latitude, longitude = float(coordinates["lat"]), float(coordinates["long"])
                except (KeyError, TypeError, ValueError):
                    unsupported.append("location")
                    continue
                title = as_str(attachment.get("title"))
                msg.location = {"latitude": latitude, "longitude": longitude, "name": title, "address": ""}
                links.append(f"Location: {title + ' ' if title else ''}({latitude}, {longitude})")
            elif kind == "fallback":
                title = as_str(attachment.get("title")) or as_str(payload.get("title"))
                link = url or as_str(attachment.get("url"))
                links.append(" ".join(p for p in (title, link) if p) or "[shared content]")
            else:
                unsupported.append(kind)
        if links and not msg.text:
            msg.text = "\n".join(links)
        if unsupported:
            msg.metadata["unsupported_attachments"] = unsupported
            if not msg.text and not msg.attachments and msg.location is None:
                msg.unsupported = True
                msg.text = f"[unsupported message type: {', '.join(unsupported)}]"
        if not msg.text and not msg.attachments and msg.location is None and not msg.unsupported:
            msg.unsupported = True
            msg.text = "[unsupported message type: empty message]"
        return msg

    def fetch_profile(self, psid: str) -> dict[str, str]:
        """The customer's public profile: ``{"name", "first_name", "last_name", "profile_pic"}``."""
        info = self._client().request("GET", psid, query={"fields": "first_name,last_name,profile_pic"})
        first, last = as_str(info.get("first_name")), as_str(info.get("last_name"))
        return {
            "name": " ".join(p for p in (first, last) if p),
            "first_name": first,
            "last_name": last,
            "profile_pic": as_str(info.get("profile_pic")),
        }

    # --- outbound (the rest is MessengerPlatformAdapter's) -------------------------------------

    def check_text(self, text: str) -> None:
        if len(text) > MAX_TEXT:
            raise PermanentSendError(
                f"The text is {len(text):,} characters; Messenger allows at most {MAX_TEXT:,}. "
                "Shorten it or send it in parts.",
                code="text_too_long",
            )

    def attachment_spec(self, attachment: OutboundAttachment) -> dict[str, Any]:
        """By URL when it has one; otherwise ``payload: {}`` here and ``post_payload`` uploads
        the file as multipart ``filedata``."""
        spec: dict[str, Any] = {"type": self._attachment_kind(attachment), "payload": {}}
        if attachment.url:
            spec["payload"] = {"url": attachment.url, "is_reusable": True}
        elif not attachment.data:
            raise PermanentSendError(
                f"The attachment {attachment.filename!r} has neither data nor a URL", code="invalid_message"
            )
        return spec

    def post_payload(self, client, payload, attachment):
        if attachment is None or attachment.url:
            return super().post_payload(client, payload, attachment)
        fields = {
            "recipient": json.dumps(payload["recipient"]),
            "messaging_type": payload["messaging_type"],
            "message": json.dumps(payload["message"]),
        }
        if "tag" in payload:
            fields["tag"] = payload["tag"]
        data, content_type = meta.encode_multipart(fields, {
            "filedata": (attachment.filename or "file", attachment.data,
                         attachment.content_type or "application/octet-stream"),
        })
        return client.request("POST", "me/messages", data=data, content_type=content_type)

    def test_connection(self) -> str:
        info = self._client().request("GET", "me", query={"fields": "id,name"})
        page = as_str(info.get("id"))
        if self.page_id and page and page != self.page_id:
            raise PermanentSendError(
                f"The token belongs to page {page}, not the configured page {self.page_id}",
                code="invalid_message",
            )
        return f"{as_str(info.get('name')) or '?'} ({page or '?'})"
