"""The small interface every channel adapter implements.

An adapter is a translator between one provider's wire format and the
normalized dataclasses below. It verifies and parses what a provider sends
us, and sends what we hand it. It holds no business rules: it never touches
the database, never decides who a contact is, and never changes a
conversation. ``inbox.services`` does all of that.

Adapters are built from an inbox's channel configuration (a plain mapping),
so they can be tested without Django models. See ``registry.get_adapter``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any


# --- normalized inbound -------------------------------------------------------------------------


@dataclasses.dataclass
class InboundAttachment:
    """A file the customer sent. Either ``data`` is already here, or the adapter can fetch it
    later from ``url`` / ``provider_media_id`` (media download runs in a task)."""

    kind: str  # image | audio | video | file | sticker
    content_type: str = ""
    filename: str = ""
    data: bytes | None = None
    url: str = ""
    provider_media_id: str = ""
    size: int | None = None
    content_id: str = ""  # e-mail inline images (cid:...)


@dataclasses.dataclass
class InboundMessage:
    """One message from a customer (or, with ``is_echo``, one the business sent from the
    provider's own app), in the same shape for every channel."""

    provider_message_id: str
    sender_address: str  # wa_id, page-scoped id, e-mail address, visitor id
    text: str = ""
    sender_name: str = ""
    html: str = ""  # already sanitized by the adapter
    attachments: list[InboundAttachment] = dataclasses.field(default_factory=list)
    sent_at: dt.datetime | None = None
    reply_to_provider_id: str = ""  # the message this one quotes
    reaction_to_provider_id: str = ""  # set when this is a reaction; text holds the emoji
    edit_of_provider_id: str = ""  # set when this edits an earlier message; text holds the new text
    unsend_of_provider_id: str = ""  # set when the customer deleted (unsent) an earlier message
    quick_reply_payload: str = ""  # a button or quick reply the customer tapped
    location: dict[str, Any] | None = None  # {"latitude", "longitude", "name", "address"}
    contact_email: str = ""
    contact_phone: str = ""
    is_echo: bool = False
    unsupported: bool = False  # the provider could not give us the content; show a placeholder
    automated: bool = False  # auto-replies, bulk mail: never answer automatically
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class StatusUpdate:
    """A delivery report for a message we sent.

    Either ``provider_message_id`` names one message, or ``watermark`` says every outbound
    message to ``recipient_address`` sent up to that time reached ``status`` (Messenger).
    """

    status: str  # sent | delivered | read | failed
    provider_message_id: str = ""
    recipient_address: str = ""
    timestamp: dt.datetime | None = None
    watermark: dt.datetime | None = None
    error_code: str = ""
    error_title: str = ""
    error_detail: str = ""


@dataclasses.dataclass
class ParsedWebhook:
    """Everything one provider request carried. ``skipped`` lists what was ignored, and why,
    so the raw event in the admin explains itself."""

    messages: list[InboundMessage] = dataclasses.field(default_factory=list)
    statuses: list[StatusUpdate] = dataclasses.field(default_factory=list)
    skipped: list[str] = dataclasses.field(default_factory=list)


# --- normalized outbound ------------------------------------------------------------------------


@dataclasses.dataclass
class OutboundAttachment:
    filename: str
    content_type: str
    data: bytes = b""
    url: str = ""  # absolute URL where the provider can fetch the file


@dataclasses.dataclass
class QuickReply:
    title: str
    payload: str


@dataclasses.dataclass
class TemplateRef:
    """An approved message template (WhatsApp), for sends outside the 24-hour window."""

    name: str
    language: str
    parameters: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class OutboundMessage:
    recipient_address: str
    text: str = ""
    attachments: list[OutboundAttachment] = dataclasses.field(default_factory=list)
    quick_replies: list[QuickReply] = dataclasses.field(default_factory=list)
    template: TemplateRef | None = None
    reply_to_provider_id: str = ""
    sender_name: str = ""  # the agent's display name (e-mail From)
    messaging_tag: str = ""  # Messenger: "HUMAN_AGENT" past 24 h when enabled
    local_id: str = ""  # our own message id, e.g. for an e-mail Message-ID
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)  # subject, references...


@dataclasses.dataclass
class SendResult:
    provider_message_id: str
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)


# --- errors -------------------------------------------------------------------------------------


class WebhookRejected(Exception):
    """The request is not acceptable; ``status_code`` is what the webhook view answers."""

    def __init__(self, message: str, status_code: int = 400):
        super().__init__(message)
        self.status_code = status_code


class SendError(Exception):
    """A send failed. ``permanent`` errors are not retried (expired token, outside the window,
    invalid recipient); the others are retried with backoff."""

    permanent = False

    def __init__(self, message: str, *, code: str = "", retry_after: float | None = None):
        super().__init__(message)
        self.code = code
        self.retry_after = retry_after


class TemporarySendError(SendError):
    permanent = False


class PermanentSendError(SendError):
    permanent = True


# --- the interface ------------------------------------------------------------------------------


class BaseAdapter:
    """Subclasses set ``kind`` and implement ``parse`` and ``send``; the rest is optional.

    ``config`` is the inbox's channel configuration (credentials included). ``inbox_id`` is only
    for messages and logs.
    """

    kind: str = ""
    #: Whether inbound requests arrive by webhook (and so need ``verify_request``).
    uses_webhook = False

    def __init__(self, config: Mapping[str, Any] | None = None, *, inbox_id: int | None = None):
        self.config = dict(config or {})
        self.inbox_id = inbox_id

    # inbound
    def handshake(self, params: Mapping[str, str]) -> str | None:
        """Answer a provider's GET verification: the text to return, or None to refuse."""
        return None

    def verify_request(self, body: bytes, headers: Mapping[str, str]) -> None:
        """Raise ``WebhookRejected`` (401/403) unless the request is authentic."""

    def parse(self, body: bytes, headers: Mapping[str, str]) -> ParsedWebhook:
        """Turn a verified request body into normalized messages and status updates.
        Raise ``WebhookRejected`` (400) for payloads that cannot be read at all."""
        raise NotImplementedError

    def check_request(self, body: bytes, headers: Mapping[str, str]) -> None:
        """The webhook's quick look before it answers: raise ``WebhookRejected`` (400) for a
        body that can never be read. By default a dry-run ``parse``; adapters whose parsing
        is expensive (e-mail) check the envelope only and leave parsing to the task."""
        self.parse(body, headers)

    def fetch_media(self, attachment: InboundAttachment) -> InboundAttachment:
        """Return the attachment with ``data`` filled in (downloads provider media)."""
        return attachment

    # outbound
    def send(self, message: OutboundMessage) -> SendResult:
        """Deliver one message; raise ``TemporarySendError`` or ``PermanentSendError``."""
        raise NotImplementedError

    def send_action(self, recipient_address: str, action: str) -> None:
        """Optional sender actions such as ``typing_on`` or ``mark_seen``."""

    def mark_read(self, provider_message_id: str) -> None:
        """Optional: tell the provider the business read a customer's message."""

    def test_connection(self) -> str:
        """Check the credentials; return a short human description, raise ``SendError``."""
        return "nothing to check"
