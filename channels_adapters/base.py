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
import hashlib
import math
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from django.utils.translation import gettext_noop


# --- text the database can store ------------------------------------------------------------------
#
# Provider payloads carry text no database column accepts: lone UTF-16 surrogates (JSON "\ud83d",
# mail headers decoded with ``surrogateescape``), NUL characters (PostgreSQL refuses them in text
# and jsonb), NaN in JSON numbers (jsonb refuses it) and values longer than their column. The
# normalized dataclasses clean every value when it is assigned, so no adapter has to remember and
# the write path only ever sees storable values. Limits follow the columns the values end up in
# (``tests/adapters/test_clean_text.py`` checks they agree with the models).

_SURROGATES = re.compile("[\ud800-\udfff]")
REPLACEMENT_CHARACTER = "\ufffd"
#: Deeper JSON is cut off: nothing a person reads nests this far, and deep nesting costs recursion.
MAX_JSON_DEPTH = 32
#: Provider ids and addresses live in 255-character columns.
MAX_ID_LENGTH = 255


def clean_text(value: str, max_length: int | None = None) -> str:
    """``value`` without NUL characters, with lone surrogates replaced by U+FFFD, and cut to
    ``max_length`` characters (the last one an ellipsis) when it is longer."""
    if not isinstance(value, str):
        return value
    if "\x00" in value:
        value = value.replace("\x00", "")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            value = _SURROGATES.sub(REPLACEMENT_CHARACTER, value)
    if max_length is not None and len(value) > max_length:
        value = value[: max_length - 1] + "…"
    return value


def clean_id(value: str, max_length: int = MAX_ID_LENGTH) -> str:
    """An identifier that fits its column and stays unique: an over-long one keeps its start and
    ends with a digest of the whole, so two long ids never collapse into one."""
    value = clean_text(value)
    if not isinstance(value, str) or len(value) <= max_length:
        return value
    digest = hashlib.sha256(value.encode("utf-8")).hexdigest()[:32]
    return f"{value[: max_length - len(digest) - 1]}~{digest}"


def clean_filename(value: str, max_length: int = 255) -> str:
    """A file name cut to its column, keeping the extension."""
    value = clean_text(value)
    if len(value) <= max_length:
        return value
    stem, dot, extension = value.rpartition(".")
    if dot and 0 < len(extension) <= 16:
        return stem[: max_length - len(extension) - 2] + "…." + extension
    return clean_text(value, max_length)


def clean_json(value: Any, _depth: int = 0) -> Any:
    """A copy of a JSON-like value with every string (keys too) cleaned, non-finite numbers as
    None and nesting cut at ``MAX_JSON_DEPTH``."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (dict, list, tuple)) and _depth >= MAX_JSON_DEPTH:
        return "[nested too deeply]"
    if isinstance(value, dict):
        return {clean_text(str(k)): clean_json(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_json(v, _depth + 1) for v in value]
    return value


class CleanDict(dict):
    """A dict that cleans what is put into it, for ``metadata`` that adapters fill key by key."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__()
        self.update(*args, **kwargs)

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(clean_text(str(key)), clean_json(value))

    def update(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]


class _Cleaned:
    """Cleans every field when it is assigned (in ``__init__`` and afterwards).

    Subclasses list their rules: ``_ids`` (identifier fields, see ``clean_id``), ``_limits``
    (field -> column length), ``_json`` (JSON-like fields), ``_filenames``, ``_emails`` (dropped
    when longer than an e-mail address can be; cut, they would point at someone else).
    """

    _ids: ClassVar[frozenset[str]] = frozenset()
    _limits: ClassVar[dict[str, int]] = {}
    _json: ClassVar[frozenset[str]] = frozenset()
    _filenames: ClassVar[frozenset[str]] = frozenset()
    _emails: ClassVar[frozenset[str]] = frozenset()

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, str):
            if name in self._ids:
                value = clean_id(value)
            elif name in self._filenames:
                value = clean_filename(value)
            elif name in self._emails:
                value = clean_text(value)
                value = value if len(value) <= 254 else ""
            else:
                value = clean_text(value, self._limits.get(name))
        elif name in self._json and value is not None:
            value = CleanDict(clean_json(value)) if isinstance(value, dict) else clean_json(value)
        object.__setattr__(self, name, value)


# --- normalized inbound -------------------------------------------------------------------------


@dataclasses.dataclass
class InboundAttachment(_Cleaned):
    """A file the customer sent. Either ``data`` is already here, or the adapter can fetch it
    later from ``url`` / ``provider_media_id`` (media download runs in a task)."""

    _ids = frozenset({"provider_media_id", "content_id"})
    _limits = {"kind": 20, "content_type": 100, "url": 2000}
    _filenames = frozenset({"filename"})

    kind: str  # image | audio | video | file | sticker
    content_type: str = ""
    filename: str = ""
    data: bytes | None = None
    url: str = ""
    provider_media_id: str = ""
    size: int | None = None
    content_id: str = ""  # e-mail inline images (cid:...)


@dataclasses.dataclass
class InboundMessage(_Cleaned):
    """One message from a customer (or, with ``is_echo``, one the business sent from the
    provider's own app), in the same shape for every channel. Every value is cleaned on
    assignment (see ``clean_text``)."""

    _ids = frozenset({"provider_message_id", "sender_address", "reply_to_provider_id",
                      "reaction_to_provider_id", "edit_of_provider_id", "unsend_of_provider_id",
                      "new_sender_address"})
    _limits = {"sender_name": 200, "contact_phone": 40, "quick_reply_payload": 1000}
    _json = frozenset({"location", "metadata"})
    _emails = frozenset({"contact_email"})

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
    #: The customer moved to a new address on the same channel (WhatsApp number change); the
    #: write path moves their identity. ``text`` says what happened, for the conversation.
    new_sender_address: str = ""


@dataclasses.dataclass
class StatusUpdate(_Cleaned):
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

    _ids = frozenset({"provider_message_id", "recipient_address"})
    _limits = {"status": 20, "error_code": 40, "error_title": 1000, "error_detail": 1000}


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


#: Failure codes any adapter (or the outbound task) may use, with the reason an agent reads.
#: English msgids marked for the catalogs; ``inbox.delivery_errors`` shows them translated.
COMMON_ERROR_REASONS: dict[str, str] = {
    "network": gettext_noop("Could not reach the channel's servers; the send will be retried"),
    "connection": gettext_noop("Could not reach the mail server; the send will be retried"),
    "timeout": gettext_noop("The channel did not answer in time; the send will be retried"),
    "bad_response": gettext_noop("The channel answered with something that is not a valid response"),
    "too_large": gettext_noop("The file is larger than the channel allows"),
    "invalid_message": gettext_noop("The message cannot be sent in this channel's format"),
    "text_too_long": gettext_noop("The text is longer than this channel allows; shorten it"),
    "config": gettext_noop("The inbox is not set up to send: check its channel settings"),
    "auth": gettext_noop("The mail server refused the inbox's login: check its credentials"),
    "tls": gettext_noop("The mail server's certificate could not be verified"),
    "starttls": gettext_noop("The mail server does not offer an encrypted connection"),
    "unsupported": gettext_noop("The server does not support what the send needs"),
    "uncertain": gettext_noop("The send was interrupted: it may or may not have arrived"),
    "no_address": gettext_noop("The contact has no address on this channel"),
}


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

    @classmethod
    def error_reason(cls, code: str) -> tuple[str, dict[str, str]] | None:
        """Why a send failed, for an agent: ``(msgid, params)`` for a failure ``code`` (a
        ``SendError.code`` or a ``StatusUpdate.error_code``), or None when the code says nothing
        more than the stored error text. The msgid is English, marked with ``gettext_noop``."""
        if code in COMMON_ERROR_REASONS:
            return COMMON_ERROR_REASONS[code], {}
        return None
