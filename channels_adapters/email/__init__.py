"""The e-mail channel: inbound by IMAP polling or an inbound-parse webhook, outbound by SMTP.

Configuration keys (the inbox's ``channel_config``):

``address``
    The inbox address, e.g. ``support@shop.com``. Replies carry ``Reply-To:
    support+<token>@shop.com`` so answers find their conversation.
``display_name``
    Shown in From: "Ana via <display_name> <address>".
``imap_host``, ``imap_port``, ``imap_security`` (ssl | starttls | none), ``imap_username``,
``imap_password``, ``imap_folder`` (default INBOX), ``imap_processed_action`` (seen | move),
``imap_processed_folder`` (for move; default "Processed"), optional ``imap_ca_file``,
``imap_timeout``
    Polling; see ``channels_adapters.email.imap``.
``smtp_host``, ``smtp_port``, ``smtp_security`` (ssl | starttls | none), ``smtp_username``,
``smtp_password``, optional ``smtp_ca_file``, ``smtp_timeout``
    Sending; see ``channels_adapters.email.smtp``.
``webhook_secret``
    Shared secret for the inbound-parse webhook (see ``EmailAdapter.verify_request``).
``max_attachment_bytes``
    Larger attachments are replaced by a note in the message text (default 20 MiB).
``max_mime_parts``, ``max_multipart_boundaries``, ``max_nested_messages``, ``max_recipients``,
``max_html_bytes``, ``max_html_depth``, ``max_text_chars``, ``imap_max_message_bytes``
    Work bounds for hostile mail; see ``channels_adapters.email.limits``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from collections.abc import Mapping
from email import policy
from email.parser import BytesParser
from urllib.parse import parse_qs

from django.utils.translation import gettext_noop

from channels_adapters.base import (
    BaseAdapter,
    InboundMessage,
    OutboundMessage,
    ParsedWebhook,
    PermanentSendError,
    SendResult,
    StatusUpdate,
    WebhookRejected,
)

from .compose import build_reply, message_id_for, reply_subject
from .imap import (
    MailboxError,
    MailboxFolderError,
    MailboxLoginFailed,
    MailboxUnavailable,
    connect_imap,
    mark_processed,
    poll_mailbox,
)
from .limits import EmailLimits, limit_form
from .loops import Bounce, automation_reasons, parse_bounce
from .parsing import (
    DEFAULT_MAX_ATTACHMENT_BYTES,
    EmailAttachment,
    ParsedEmail,
    parse_email,
    reply_address,
    to_inbound,
    token_from_addresses,
)
from .quotes import html_to_text, strip_quotes_html, strip_quotes_text
from .smtp import connect_smtp, send_via_smtp

__all__ = [
    "EmailAdapter", "EmailLimits", "ParsedEmail", "EmailAttachment", "Bounce", "parse_email", "to_inbound",
    "reply_address", "token_from_addresses", "automation_reasons", "parse_bounce",
    "build_reply", "reply_subject", "message_id_for", "send_via_smtp", "poll_mailbox",
    "mark_processed", "MailboxError", "MailboxUnavailable", "MailboxLoginFailed",
    "MailboxFolderError", "strip_quotes_text", "strip_quotes_html", "html_to_text",
]

#: Form fields that carry the whole raw message: Mailgun's "body-mime" (the MIME-URL route),
#: SendGrid Inbound Parse's "email" (with "Send raw" on).
RAW_FORM_FIELDS = ("body-mime", "email")
#: An inbound-parse form has a few dozen fields (attachments included); read at most these.
MAX_FORM_FIELDS = 200


def _header(headers: Mapping[str, str], name: str) -> str:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered or key.lower() == "http_" + lowered.replace("-", "_"):
            return value
    return ""


class EmailAdapter(BaseAdapter):
    kind = "email"
    uses_webhook = True

    @classmethod
    def error_reason(cls, code: str) -> tuple[str, dict[str, str]] | None:
        """SMTP reply codes (``550``) and bounce statuses (``5.1.1``) besides the common codes."""
        if code.isdigit() and len(code) == 3:
            if code.startswith("5"):
                return gettext_noop("The mail server refused the message (SMTP %(code)s)"), {"code": code}
            return gettext_noop("The mail server put the message off (SMTP %(code)s); the send will be retried"), {
                "code": code}
        if code[:1] in ("4", "5") and code.count(".") == 2:
            return gettext_noop("The e-mail bounced (status %(code)s)"), {"code": code}
        return super().error_reason(code)

    # --- helpers ----------------------------------------------------------------------------

    @property
    def address(self) -> str:
        return (self.config.get("address") or "").strip()

    @property
    def max_attachment_bytes(self) -> int:
        return int(self.config.get("max_attachment_bytes") or DEFAULT_MAX_ATTACHMENT_BYTES)

    @property
    def limits(self) -> EmailLimits:
        return EmailLimits.from_config(self.config)

    def own_addresses(self) -> list[str]:
        return [a for a in (self.address, self.config.get("smtp_username") or "") if "@" in a]

    def parse_raw(self, raw: bytes) -> ParsedWebhook:
        """One raw message (from IMAP or a webhook) as a ``ParsedWebhook``: a bounce becomes a
        failed ``StatusUpdate``, anything else an ``InboundMessage``."""
        parsed = parse_email(raw, max_attachment_bytes=self.max_attachment_bytes, limits=self.limits)
        result = ParsedWebhook()
        bounce = parse_bounce(parsed)
        if bounce is not None:
            if bounce.action == "failed" and bounce.original_message_id:
                result.statuses.append(StatusUpdate(
                    status="failed", provider_message_id=bounce.original_message_id,
                    recipient_address=bounce.recipient, timestamp=parsed.date,
                    error_code=bounce.status, error_title="bounced", error_detail=bounce.reason,
                ))
                return result
            # a bounce naming no message of ours (or only a delay): keep it visible, never answer it
        result.messages.append(self.to_inbound(parsed))
        return result

    def to_inbound(self, parsed: ParsedEmail) -> InboundMessage:
        return to_inbound(parsed, base_address=self.address, own_addresses=self.own_addresses())

    # --- inbound webhook --------------------------------------------------------------------

    def verify_request(self, body: bytes, headers: Mapping[str, str]) -> None:
        """Accept a request carrying the inbox's ``webhook_secret`` either in an
        ``X-Inbox-Secret`` header, or as the password of HTTP Basic auth (what Mailgun and
        SendGrid send for a URL like ``https://any:SECRET@host/...``, since they cannot add
        headers). Compared in constant time; anything else is a 403."""
        secret = str(self.config.get("webhook_secret") or "")
        if not secret:
            raise WebhookRejected("this inbox has no webhook_secret configured", 403)
        offered = _header(headers, "X-Inbox-Secret")
        if not offered:
            auth = _header(headers, "Authorization")
            if auth.lower().startswith("basic "):
                try:
                    decoded = base64.b64decode(auth[6:].strip(), validate=True).decode("utf-8")
                    offered = decoded.partition(":")[2]
                except (binascii.Error, UnicodeDecodeError):
                    offered = ""
        if not offered or not hmac.compare_digest(offered.encode(), secret.encode()):
            raise WebhookRejected("missing or wrong inbox secret", 403)

    def parse(self, body: bytes, headers: Mapping[str, str]) -> ParsedWebhook:
        """Raw MIME (``message/rfc822``, ``text/plain``) or an inbound-parse form post."""
        content_type = _header(headers, "Content-Type")  # boundaries are case-sensitive
        raw = self._raw_from_request(body, content_type)
        if not raw or not raw.strip():
            raise WebhookRejected("the request carries no e-mail message", 400)
        return self.parse_raw(raw)

    def check_request(self, body: bytes, headers: Mapping[str, str]) -> None:
        """The envelope only (content type, a raw-message field, a non-empty body): parsing a
        mail can take a while and runs in the task, never in the webhook request."""
        content_type = _header(headers, "Content-Type").lower()
        if content_type.startswith("multipart/form-data"):
            if not re.search(rb'name="?(%s)"?' % b"|".join(re.escape(n.encode()) for n in RAW_FORM_FIELDS), body):
                raise WebhookRejected("form post has no raw message field (expected 'body-mime' from Mailgun "
                                      "or 'email' from SendGrid with raw mode on)", 400)
            return
        if content_type.startswith("application/x-www-form-urlencoded"):
            self._raw_from_request(body, _header(headers, "Content-Type"))  # parse_qs is linear and cheap
            return
        if not (content_type.startswith(("message/rfc822", "text/plain", "application/octet-stream"))
                or not content_type):
            raise WebhookRejected(f"unsupported Content-Type {content_type!r}", 400)
        if not body.strip():
            raise WebhookRejected("the request carries no e-mail message", 400)

    def _raw_from_request(self, body: bytes, content_type: str) -> bytes:
        original, content_type = content_type, content_type.lower()
        if content_type.startswith("multipart/form-data"):
            # a form with thousands of fields would be slow to read: at most MAX_FORM_FIELDS
            body = limit_form(body, original, MAX_FORM_FIELDS)
            form = BytesParser(policy=policy.HTTP).parsebytes(
                b"Content-Type: " + original.encode("latin-1") + b"\r\n\r\n" + body
            )
            if not form.is_multipart():
                raise WebhookRejected("multipart/form-data body could not be read", 400)
            fields = {}
            for part in form.iter_parts():
                name = part.get_param("name", header="content-disposition")
                if name:
                    fields[name] = part.get_payload(decode=True) or b""
            return self._raw_field(fields)
        if content_type.startswith("application/x-www-form-urlencoded"):
            try:
                form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
            except UnicodeDecodeError:
                raise WebhookRejected("form body is not UTF-8", 400) from None
            return self._raw_field({k: v[0].encode("utf-8") for k, v in form.items() if v})
        if content_type.startswith(("message/rfc822", "text/plain", "application/octet-stream")) or not content_type:
            return body
        raise WebhookRejected(f"unsupported Content-Type {content_type!r}", 400)

    @staticmethod
    def _raw_field(fields: Mapping[str, bytes]) -> bytes:
        for name in RAW_FORM_FIELDS:
            if fields.get(name):
                return fields[name]
        raise WebhookRejected(
            "form post has no raw message field (expected 'body-mime' from Mailgun or 'email' "
            "from SendGrid with raw mode on); fields: " + ", ".join(sorted(fields)), 400
        )

    # --- polling ----------------------------------------------------------------------------

    def poll(self, state, *, batch_size: int = 50):
        """``poll_mailbox`` with this inbox's config: ``([(uid, raw)], new_state)``."""
        return poll_mailbox(self.config, state, batch_size=batch_size)

    def mark_processed(self, uids) -> None:
        mark_processed(self.config, uids)

    # --- outbound ---------------------------------------------------------------------------

    def build(self, message: OutboundMessage):
        """The ``EmailMessage`` ``send`` would deliver (metadata: subject, in_reply_to,
        references, automated, reply_token, cc)."""
        if not self.address:
            raise PermanentSendError("the inbox has no 'address' configured", code="config")
        meta = message.metadata or {}
        token = meta.get("reply_token") or meta.get("plus_token") or ""
        try:
            return build_reply(
                from_address=self.address,
                to=message.recipient_address,
                text=message.text,
                display_name=self.config.get("display_name") or "",
                sender_name=message.sender_name,
                reply_to=reply_address(self.address, token) if token else "",
                subject=meta.get("subject") or "",
                in_reply_to=meta.get("in_reply_to") or message.reply_to_provider_id or "",
                references=meta.get("references") or (),
                local_id=message.local_id,
                automated=bool(meta.get("automated")),
                attachments=message.attachments,
                cc=meta.get("cc") or (),
            )
        except ValueError as exc:
            raise PermanentSendError(str(exc), code="invalid") from exc

    def send(self, message: OutboundMessage) -> SendResult:
        email_message = self.build(message)
        refused = send_via_smtp(self.config, email_message)
        return SendResult(
            provider_message_id=str(email_message["Message-ID"]),
            metadata={"refused": {k: [c, v.decode(errors="replace") if isinstance(v, bytes) else v]
                                  for k, (c, v) in refused.items()}} if refused else {},
        )

    def test_connection(self) -> str:
        smtp = connect_smtp(self.config)
        smtp.quit()
        parts = [f"SMTP {self.config.get('smtp_host')} accepted the login"]
        if self.config.get("imap_host"):
            try:
                conn = connect_imap(self.config)
                conn.logout()
            except MailboxError as exc:
                raise PermanentSendError(str(exc), code="imap") from exc
            parts.append(f"IMAP {self.config.get('imap_host')} accepted the login")
        return "; ".join(parts)
