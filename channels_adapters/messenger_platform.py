"""The outbound half Messenger and Instagram share: both speak Meta's Send API (``/me/messages``
with a ``recipient``, a ``messaging_type`` or a ``MESSAGE_TAG``, quick replies and sender
actions) and serve inbound media from signed CDN URLs that need no token.

Subclasses set ``platform`` (the name in error texts), ``account_noun`` and
``default_max_media_bytes``, and implement ``check_text`` (each platform measures the text
limit its own way) and ``attachment_spec`` (Messenger can upload files; Instagram only takes
URLs). ``post_payload`` is where Messenger sends an upload as multipart.
"""

from __future__ import annotations

from typing import Any

from . import meta
from .base import InboundAttachment, OutboundAttachment, OutboundMessage, PermanentSendError, SendError, SendResult
from .meta import as_str

MAX_QUICK_REPLIES = 13
MAX_QUICK_REPLY_TITLE = 20
SENDER_ACTIONS = {"typing_on", "typing_off", "mark_seen"}
DEFAULT_MAX_MEDIA_BYTES = 25 * 1024 * 1024


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class MessengerPlatformAdapter(meta.MetaAdapter):
    #: Named in the errors agents read ("Messenger allows at most 13").
    platform = ""
    #: What owns the token: "page" (Messenger) or "account" (Instagram).
    account_noun = "account"
    window_hours = 24
    #: With the HUMAN_AGENT tag (``human_agent_tag`` config) agents may answer for 7 days.
    human_agent_window_hours = 7 * 24
    #: A webhook gives only a platform-scoped id; the name comes from the profile API.
    fetches_profile = True

    # --- hooks --------------------------------------------------------------------------------

    def check_text(self, text: str) -> None:
        """Raise ``PermanentSendError`` (code ``text_too_long``) for text over the limit."""
        raise NotImplementedError

    def attachment_spec(self, attachment: OutboundAttachment) -> dict[str, Any]:
        """The ``message.attachment`` object for one outbound attachment."""
        raise NotImplementedError

    def post_payload(self, client: meta.GraphClient, payload: dict[str, Any],
                     attachment: OutboundAttachment | None) -> dict[str, Any]:
        """POST one payload; ``attachment`` is the file a payload's attachment stands for."""
        return client.request("POST", "me/messages", json_body=payload)

    # --- inbound media ------------------------------------------------------------------------

    def fetch_media(self, attachment: InboundAttachment) -> InboundAttachment:
        """Download an attachment URL. The CDN URLs are signed and need no token, so the token is
        never sent to them."""
        if attachment.data is not None:
            return attachment
        if not attachment.url:
            raise PermanentSendError("The attachment has no URL", code="invalid_message")
        limit = int(self.config.get("max_media_bytes") or DEFAULT_MAX_MEDIA_BYTES)
        client = meta.GraphClient("", "", timeout=float(self.config.get("api_timeout") or meta.DEFAULT_API_TIMEOUT))
        data, served_type = client.download(attachment.url, max_bytes=limit)
        attachment.data = data
        attachment.size = len(data)
        attachment.content_type = attachment.content_type or served_type
        return attachment

    # --- outbound -----------------------------------------------------------------------------

    def _envelope(self, message: OutboundMessage) -> dict[str, Any]:
        body: dict[str, Any] = {"recipient": {"id": message.recipient_address}}
        tag = message.messaging_tag.strip().upper()
        if tag:
            if tag == "HUMAN_AGENT" and not self.config.get("human_agent_tag"):
                raise PermanentSendError(
                    f"The HUMAN_AGENT tag is not enabled for this {self.account_noun} (config human_agent_tag)",
                    code="invalid_message")
            body["messaging_type"] = "MESSAGE_TAG"
            body["tag"] = tag
        else:
            body["messaging_type"] = "RESPONSE"
        return body

    @staticmethod
    def _attachment_kind(attachment: OutboundAttachment) -> str:
        major = (attachment.content_type or "").lower().split("/")[0]
        return major if major in ("image", "audio", "video") else "file"

    def build_payloads(self, message: OutboundMessage) -> list[dict[str, Any]]:
        """The JSON bodies ``send`` posts to ``/me/messages``, in order: attachments first, then
        the text, so quick replies stay on the last message where the apps show them. Raises
        ``PermanentSendError`` for messages the platform would refuse."""
        if not message.recipient_address:
            raise PermanentSendError("The message has no recipient", code="invalid_message")
        if message.template is not None:
            raise PermanentSendError(f"{self.platform} has no message templates", code="invalid_message")
        text = message.text or ""
        self.check_text(text)
        if len(message.quick_replies) > MAX_QUICK_REPLIES:
            raise PermanentSendError(
                f"{len(message.quick_replies)} quick replies; {self.platform} allows at most {MAX_QUICK_REPLIES}",
                code="invalid_message")
        payloads = [{**self._envelope(message), "message": {"attachment": self.attachment_spec(attachment)}}
                    for attachment in message.attachments]
        if text.strip():
            body: dict[str, Any] = {"text": text}
            if message.quick_replies:
                body["quick_replies"] = [
                    {"content_type": "text", "title": shorten(r.title, MAX_QUICK_REPLY_TITLE), "payload": r.payload}
                    for r in message.quick_replies
                ]
            payloads.append({**self._envelope(message), "message": body})
        elif message.quick_replies:
            raise PermanentSendError(f"Quick replies on {self.platform} need text", code="invalid_message")
        if not payloads:
            raise PermanentSendError("The message is empty", code="invalid_message")
        return payloads

    def send(self, message: OutboundMessage) -> SendResult:
        """Send attachments then text. Returns the first message id; all ids are in
        ``metadata["provider_message_ids"]``. A failure after some parts went out carries
        ``sent_provider_ids`` on the raised error."""
        payloads = self.build_payloads(message)
        client = self._client()
        attachments = iter(message.attachments)
        sent: list[str] = []
        try:
            for payload in payloads:
                attachment = next(attachments) if "attachment" in payload["message"] else None
                answer = self.post_payload(client, payload, attachment)
                mid = as_str(answer.get("message_id"))
                if not mid:
                    raise PermanentSendError(f"Meta's answer has no message_id: {str(answer)[:200]}",
                                             code="bad_response")
                sent.append(mid)
        except SendError as exc:
            exc.sent_provider_ids = list(sent)  # type: ignore[attr-defined]
            raise
        return SendResult(provider_message_id=sent[0], metadata={"provider_message_ids": sent})

    def send_action(self, recipient_address: str, action: str) -> None:
        if action not in SENDER_ACTIONS:
            raise ValueError(f"unknown sender action {action!r}; expected one of {sorted(SENDER_ACTIONS)}")
        self._client().request(
            "POST", "me/messages", json_body={"recipient": {"id": recipient_address}, "sender_action": action})
