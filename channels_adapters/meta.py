"""Parts shared by the WhatsApp Cloud API, Messenger and Instagram adapters (all Meta Graph API).

- ``check_handshake``: the ``hub.*`` GET verification of a webhook subscription.
- ``verify_signature``: the ``X-Hub-Signature-256`` HMAC of the raw body with the app secret.
- ``load_payload`` / ``parse_timestamp``: strict reading of the top level of a webhook body,
  lenient reading of the rest (one odd message never fails a batch).
- ``GraphClient``: a small ``urllib.request`` client that turns Graph error JSON, HTTP
  statuses and network failures into ``TemporarySendError`` / ``PermanentSendError``.
- ``error_reason`` / ``describe_error``: the reason for an error code, for showing failed sends
  to agents (msgids marked for the catalogs; the inbox translates them).

Graph errors look like
``{"error": {"message", "type", "code", "error_subcode", "error_data", "fbtrace_id"}}``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import json
import socket
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext_noop

from .base import BaseAdapter, PermanentSendError, SendError, TemporarySendError, WebhookRejected

DEFAULT_GRAPH_API_BASE = "https://graph.facebook.com/v21.0"
DEFAULT_API_TIMEOUT = 15.0
SIGNATURE_HEADER = "X-Hub-Signature-256"


# --- webhook verification -----------------------------------------------------------------------


def header_get(headers: Mapping[str, str], name: str) -> str | None:
    """Look a header up case-insensitively (WSGI, ASGI and test clients spell them differently).

    Django's ``request.META`` style (``HTTP_X_HUB_SIGNATURE_256``) is accepted too.
    """
    wanted = name.lower()
    meta_style = "http_" + wanted.replace("-", "_")
    for key, value in headers.items():
        lowered = str(key).lower()
        if lowered == wanted or lowered == meta_style:
            return value
    return None


def check_handshake(params: Mapping[str, str], verify_token: str) -> str | None:
    """Return ``hub.challenge`` when the subscription request carries the configured token."""
    if not verify_token:
        return None  # an unconfigured token must never match an empty one
    if params.get("hub.mode") != "subscribe":
        return None
    given = params.get("hub.verify_token") or ""
    if not hmac.compare_digest(given.encode(), str(verify_token).encode()):
        return None
    challenge = params.get("hub.challenge")
    return challenge if challenge else None


def signature_for(body: bytes, app_secret: str) -> str:
    """The header value Meta sends for ``body``: ``sha256=<hex hmac>``."""
    digest = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return "sha256=" + digest


def verify_signature(body: bytes, headers: Mapping[str, str], app_secret: str) -> None:
    """Raise ``WebhookRejected`` 401 when the signature is missing, 403 when it is wrong."""
    if not app_secret:
        # Without a secret every request would pass; refusing is the safe reading of a
        # half-configured inbox.
        raise WebhookRejected("app_secret is not configured for this inbox", 403)
    given = header_get(headers, SIGNATURE_HEADER)
    if not given:
        raise WebhookRejected(f"missing {SIGNATURE_HEADER} header", 401)
    expected = signature_for(body, app_secret)
    if not hmac.compare_digest(given.strip().lower().encode(), expected.encode()):
        raise WebhookRejected(f"{SIGNATURE_HEADER} does not match the request body", 403)


# --- payload reading ----------------------------------------------------------------------------


def load_payload(body: bytes, expected_object: str) -> dict[str, Any]:
    """Decode a webhook body and check its top level; anything unreadable is a 400."""
    if not body:
        raise WebhookRejected("empty request body", 400)
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise WebhookRejected(f"request body is not valid JSON: {exc}", 400) from None
    except RecursionError:
        # json.loads recurses once per nesting level; a valid body 10^5 levels deep exhausts
        # the stack. No Meta payload nests like that.
        raise WebhookRejected("request body nests too deeply to read", 400) from None
    if not isinstance(payload, dict):
        raise WebhookRejected("request body must be a JSON object", 400)
    obj = payload.get("object")
    if obj != expected_object:
        raise WebhookRejected(f"expected object {expected_object!r}, got {obj!r}", 400)
    entries = payload.get("entry")
    if not isinstance(entries, list):
        raise WebhookRejected("payload has no 'entry' list", 400)
    return payload


def parse_timestamp(
    value: Any, *, millis: bool, now: dt.datetime | None = None
) -> tuple[dt.datetime, dict[str, Any]]:
    """Read a Unix timestamp (seconds, or milliseconds for Messenger) as an aware UTC datetime.

    Returns ``(when, notes)``. A timestamp in the future is clamped to now, and a missing or
    unreadable one becomes now; ``notes`` says which happened so it can go into metadata.
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    try:
        number = float(value)
        if number != number or number < 0:  # NaN or negative
            raise ValueError(value)
        when = dt.datetime.fromtimestamp(number / 1000 if millis else number, dt.timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return now, {"timestamp_invalid": repr(value)[:100]}
    if when > now:
        return now, {"timestamp_clamped_from": when.isoformat()}
    return when, {}


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return ""
    return str(value)


# --- errors -------------------------------------------------------------------------------------

#: Codes worth retrying later: throttling and Meta-side trouble.
TEMPORARY_CODES = {
    1,  # unknown API error, usually transient
    2,  # service temporarily unavailable
    4,  # application request limit reached
    17,  # user request limit reached
    32,  # page request limit reached
    341,  # application limit reached
    613,  # calls to this API exceeded the rate limit
    80007,  # WhatsApp Business Account rate limit
    130429,  # WhatsApp throughput rate limit
    131000,  # something went wrong (WhatsApp, generic)
    131016,  # service unavailable
    131056,  # too many messages to this pair of numbers
    133004,  # server temporarily unavailable
}

#: Human-readable reasons, shown to agents next to a failed message.
ERROR_DESCRIPTIONS: dict[int, str] = {
    1: gettext_noop("Meta reported an unknown error; the send will be retried"),
    2: gettext_noop("Meta's service is temporarily unavailable; the send will be retried"),
    4: gettext_noop("Too many requests from this app; the send will be retried"),
    10: gettext_noop("Permission denied, or the message was sent outside the allowed window"),
    17: gettext_noop("Too many requests for this user; the send will be retried"),
    32: gettext_noop("Too many requests for this page; the send will be retried"),
    100: gettext_noop("Invalid parameter in the request"),
    190: gettext_noop("The access token is invalid or has expired; reconnect the channel"),
    200: gettext_noop("The app lacks the permission to send for this account"),
    368: gettext_noop("The account is temporarily blocked for policy violations"),
    551: gettext_noop("This person isn't available right now"),
    613: gettext_noop("Rate limit exceeded; the send will be retried"),
    2018278: gettext_noop("Outside the 24-hour messaging window (Messenger)"),
    2534022: gettext_noop("Outside the allowed messaging window (Instagram)"),
    80007: gettext_noop("WhatsApp Business Account rate limit reached; the send will be retried"),
    130429: gettext_noop("WhatsApp throughput limit reached; the send will be retried"),
    131000: gettext_noop("WhatsApp reported an unknown error"),
    131005: gettext_noop("Access denied by WhatsApp"),
    131008: gettext_noop("A required parameter is missing"),
    131009: gettext_noop("A parameter value is invalid"),
    131016: gettext_noop("WhatsApp is temporarily unavailable; the send will be retried"),
    131021: gettext_noop("The recipient cannot be the sender"),
    131026: gettext_noop("The message could not be delivered (the number may not use WhatsApp)"),
    131031: gettext_noop("The WhatsApp Business Account is locked"),
    131042: gettext_noop("A payment problem on the WhatsApp Business Account"),
    131045: gettext_noop("The phone number is not registered correctly"),
    131047: gettext_noop("Outside the 24-hour customer service window"),
    131051: gettext_noop("Unsupported message type"),
    131052: gettext_noop("The media could not be downloaded"),
    131053: gettext_noop("The media could not be uploaded"),
    131056: gettext_noop("Too many messages to this customer in a short time; the send will be retried"),
    132000: gettext_noop("The template's parameter count does not match"),
    132001: gettext_noop("The template does not exist in this language"),
    133004: gettext_noop("WhatsApp servers are temporarily unavailable; the send will be retried"),
    470: gettext_noop("Outside the 24-hour customer service window"),
}

#: Codes that are not Graph numbers but name failures found before or around the request.
LOCAL_ERROR_DESCRIPTIONS = {
    "network": gettext_noop("Could not reach Meta; the send will be retried"),
    "timeout": gettext_noop("Meta did not answer in time; the send will be retried"),
    "bad_response": gettext_noop("Meta answered with something that is not a valid response"),
    "too_large": gettext_noop("The file is larger than the allowed size"),
    "invalid_message": gettext_noop("The message cannot be sent in this channel's format"),
    "text_too_long": gettext_noop("The text is longer than this channel allows"),
}


def error_reason(code: Any) -> tuple[str, dict[str, str]]:
    """The reason for a ``SendError.code`` or a status ``error_code``, as an English msgid
    (marked for the catalogs) and its parameters: the inbox shows it in each agent's language."""
    text = str(code or "").strip()
    if text in LOCAL_ERROR_DESCRIPTIONS:
        return LOCAL_ERROR_DESCRIPTIONS[text], {}
    number_text = text.split("/")[0]
    if number_text.startswith("http_"):
        return gettext_noop("Meta answered with HTTP status %(status)s"), {"status": number_text[5:]}
    subcode = text.split("/")[1] if "/" in text else ""
    if subcode.isdigit() and int(subcode) in ERROR_DESCRIPTIONS:
        return ERROR_DESCRIPTIONS[int(subcode)], {}
    if number_text.isdigit() and int(number_text) in ERROR_DESCRIPTIONS:
        return ERROR_DESCRIPTIONS[int(number_text)], {}
    if text:
        return gettext_noop("Meta error %(code)s"), {"code": text}
    return gettext_noop("Unknown error"), {}


def describe_error(code: Any) -> str:
    """The reason for ``code`` in English (stored with the failure, for logs and the API)."""
    msgid, params = error_reason(code)
    return msgid % params


def _retry_after(headers: Any, error: Mapping[str, Any]) -> float | None:
    value = None
    if headers is not None:
        value = headers.get("Retry-After")
    if value is None:
        value = as_dict(error.get("error_data")).get("retry_after")
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if seconds >= 0 else None


def error_from_response(status: int, body: bytes, headers: Any = None) -> SendError:
    """Turn a non-2xx Graph answer into a typed ``SendError``.

    The code is ``"<code>"`` or ``"<code>/<subcode>"`` (e.g. ``"10/2018278"``), or
    ``"http_<status>"`` when the body carries no Graph error.
    """
    try:
        error = as_dict(as_dict(json.loads(body)).get("error"))
    except (UnicodeDecodeError, ValueError):
        error = {}
    code = error.get("code")
    subcode = error.get("error_subcode")
    retry_after = _retry_after(headers, error)
    if not isinstance(code, int):
        label = f"http_{status}"
        message = f"Meta answered HTTP {status}"
        if status == 429 or status >= 500:
            return TemporarySendError(message, code=label, retry_after=retry_after)
        return PermanentSendError(message, code=label)

    label = f"{code}/{subcode}" if isinstance(subcode, int) else str(code)
    reason = describe_error(label)
    detail = as_str(error.get("message"))
    details = as_str(as_dict(error.get("error_data")).get("details"))
    if details and details not in detail:
        detail = f"{detail} {details}".strip()
    trace = as_str(error.get("fbtrace_id"))
    message = f"{reason} ({label}): {detail}" if detail else f"{reason} ({label})"
    if trace:
        message += f" [fbtrace_id {trace}]"
    if code in TEMPORARY_CODES:
        return TemporarySendError(message, code=label, retry_after=retry_after)
    if code not in ERROR_DESCRIPTIONS and (status == 429 or status >= 500):
        # An unknown code on a server-side status: Meta's trouble, worth another try.
        return TemporarySendError(message, code=label, retry_after=retry_after)
    return PermanentSendError(message, code=label)


class MediaTooLarge(PermanentSendError):
    """Provider media is bigger than ``max_media_bytes``; downloading it again will not help."""


# --- HTTP client --------------------------------------------------------------------------------


def encode_multipart(
    fields: Mapping[str, str], files: Mapping[str, tuple[str, bytes, str]]
) -> tuple[bytes, str]:
    """Build a ``multipart/form-data`` body; returns ``(body, content_type)``."""
    boundary = "----graph" + uuid.uuid4().hex
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + str(value).encode()
            + b"\r\n"
        )
    for name, (filename, data, content_type) in files.items():
        safe_name = filename.replace('"', "").replace("\r", "").replace("\n", "")
        parts.append(
            (
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; "
                f'filename="{safe_name}"\r\nContent-Type: {content_type}\r\n\r\n'
            ).encode()
            + data
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class GraphClient:
    """Calls the Graph API with a bearer token and maps every failure to a ``SendError``.

    The token travels in the ``Authorization`` header rather than the ``access_token`` query
    parameter so it stays out of URLs and access logs (Graph accepts both).
    """

    def __init__(self, base_url: str, access_token: str, *, timeout: float = DEFAULT_API_TIMEOUT):
        self.base_url = (base_url or DEFAULT_GRAPH_API_BASE).rstrip("/")
        self.access_token = access_token or ""
        self.timeout = float(timeout)

    def url(self, path: str, query: Mapping[str, str] | None = None) -> str:
        url = f"{self.base_url}/{path.lstrip('/')}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        return url

    def _open(self, request: urllib.request.Request):
        if self.access_token:
            request.add_header("Authorization", f"Bearer {self.access_token}")
        try:
            return urllib.request.urlopen(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            try:
                body = exc.read()
            except (OSError, http.client.HTTPException):
                body = b""
            raise error_from_response(exc.code, body, exc.headers) from None
        except (TimeoutError, socket.timeout) as exc:
            raise TemporarySendError(f"Meta did not answer within {self.timeout:g}s", code="timeout") from exc
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, (TimeoutError, socket.timeout)):
                raise TemporarySendError(
                    f"Meta did not answer within {self.timeout:g}s", code="timeout"
                ) from exc
            raise TemporarySendError(f"Could not reach Meta: {exc.reason}", code="network") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise TemporarySendError(f"Could not reach Meta: {exc!r}", code="network") from exc

    def _read(self, response, limit: int | None = None) -> bytes:
        try:
            with response:
                return response.read() if limit is None else response.read(limit)
        except (TimeoutError, socket.timeout) as exc:
            raise TemporarySendError(f"Meta did not answer within {self.timeout:g}s", code="timeout") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise TemporarySendError(f"Connection to Meta broke: {exc!r}", code="network") from exc

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        query: Mapping[str, str] | None = None,
        data: bytes | None = None,
        content_type: str = "",
    ) -> dict[str, Any]:
        """Send one request and return the decoded JSON object of a 2xx answer."""
        headers = {"Accept": "application/json"}
        if json_body is not None:
            data = json.dumps(json_body).encode()
            content_type = "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(self.url(path, query), data=data, method=method, headers=headers)
        raw = self._read(self._open(request))
        try:
            decoded = json.loads(raw)
        except (UnicodeDecodeError, ValueError):
            decoded = None
        if not isinstance(decoded, dict):
            # The request may have gone through, so retrying could send twice: permanent.
            raise PermanentSendError(
                f"Meta answered with something that is not a JSON object: {raw[:200]!r}",
                code="bad_response",
            )
        return decoded

    def download(self, url: str, *, max_bytes: int) -> tuple[bytes, str]:
        """GET a file with the bearer token, refusing more than ``max_bytes``."""
        request = urllib.request.Request(url, method="GET")
        response = self._open(request)
        length = response.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > max_bytes:
            response.close()
            raise MediaTooLarge(
                f"The file is {int(length):,} bytes; the limit is {max_bytes:,}", code="too_large"
            )
        content_type = response.headers.get_content_type() if response.headers else ""
        data = self._read(response, max_bytes + 1)
        if len(data) > max_bytes:
            raise MediaTooLarge(f"The file is larger than the limit of {max_bytes:,} bytes", code="too_large")
        return data, content_type


class MetaAdapter(BaseAdapter):
    """What the WhatsApp, Messenger and Instagram adapters share: Meta's webhook handshake, the
    ``X-Hub-Signature-256`` check and a Graph API client. ``token_key`` names the config key
    of the access token."""

    uses_webhook = True
    token_key = "access_token"
    describe_error = staticmethod(describe_error)

    @classmethod
    def error_reason(cls, code: str) -> tuple[str, dict[str, str]] | None:
        return super().error_reason(code) or error_reason(code)

    def _client(self) -> GraphClient:
        return GraphClient(
            self.config.get("graph_api_base") or DEFAULT_GRAPH_API_BASE,
            as_str(self.config.get(self.token_key)),
            timeout=float(self.config.get("api_timeout") or DEFAULT_API_TIMEOUT),
        )

    def handshake(self, params):
        return check_handshake(params, as_str(self.config.get("verify_token")))

    def verify_request(self, body, headers):
        verify_signature(body, headers, as_str(self.config.get("app_secret")))
