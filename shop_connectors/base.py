"""The small interface every shop connector implements, and the shapes it returns.

A connector translates one platform's webhooks and order API into the dataclasses below:
it verifies a webhook's signature, parses its body, lists orders changed since a time (one
page at a time, with an opaque cursor so an import can resume after a crash), fetches one
order, and checks the credentials. It never touches the database and never decides who a
customer is: ``shops.services`` and ``retention.services.shop_orders`` do that.

Connectors are built from a plain mapping (``store_url``, ``credentials``, ``webhook_secret``,
``api_base`` to point at a loopback fake in tests), so they can be tested without Django.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import hmac
import http.client
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

#: The statuses of ``retention.models.Order`` a connector maps the platform's states onto.
STATUSES = ("pending", "paid", "shipped", "delivered", "cancelled", "refunded")


# --- normalized shapes ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ShopCustomer:
    email: str = ""
    phone: str = ""
    name: str = ""
    locale: str = ""


@dataclasses.dataclass(frozen=True)
class ShopItem:
    name: str
    quantity: int
    price: Decimal
    sku: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "quantity": self.quantity, "price": str(self.price), "sku": self.sku}


@dataclasses.dataclass(frozen=True)
class ShopTracking:
    number: str = ""
    url: str = ""
    carrier: str = ""


@dataclasses.dataclass
class ShopOrder:
    """One order in the same shape for every platform. ``status`` is one of ``STATUSES``;
    ``platform_status`` keeps the platform's own words for the record."""

    order_id: str  # the platform's stable id (never shown to customers)
    number: str  # what the customer sees: "#1001", "1234"
    status: str
    platform_status: str
    ordered_at: dt.datetime
    updated_at: dt.datetime
    total: Decimal
    currency: str
    customer: ShopCustomer
    items: list[ShopItem] = dataclasses.field(default_factory=list)
    tracking: ShopTracking = dataclasses.field(default_factory=ShopTracking)
    expected_at: dt.date | None = None
    delivered_at: dt.datetime | None = None
    city: str = ""
    state: str = ""


@dataclasses.dataclass
class ShopEvent:
    """A parsed webhook. Either ``order`` holds the whole order, or ``order_ref`` names one to
    fetch through the API (Nuvemshop sends only ids; Shopify's fulfillment and refund topics
    send a part). ``ignored`` says why an event needs no work (WooCommerce's ping)."""

    topic: str
    delivery_id: str = ""  # the platform's id of this delivery, when it sends one
    order: ShopOrder | None = None
    order_ref: str = ""
    tracking: ShopTracking | None = None  # what a fulfillment event carries, for a connection without API access
    ignored: str = ""


@dataclasses.dataclass
class OrderPage:
    orders: list[ShopOrder]
    next_cursor: str | None  # None: this was the last page
    skipped: list[str] = dataclasses.field(default_factory=list)  # orders that could not be read, and why


# --- errors ---------------------------------------------------------------------------------------


class ShopError(Exception):
    """A connector failure with a message fit for the admin."""


class WebhookRejected(ShopError):
    """The request is not a valid webhook; ``status_code`` is what to answer."""

    def __init__(self, message: str, status_code: int = 400):
        super().__init__(message)
        self.status_code = status_code


class NotFound(ShopError):
    """The platform answered 404: no such order (deleted), or a wrong store address."""


class CredentialsError(ShopError):
    """The platform refused the credentials (401/403): retrying will not help."""


class RateLimited(ShopError):
    """The platform asked to wait longer than a connector waits in place."""

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


class TemporaryShopError(ShopError):
    """A network failure or 5xx: worth retrying later."""


# --- helpers for subclasses -----------------------------------------------------------------------


def hmac_sha256(secret: str, body: bytes) -> bytes:
    return hmac.new(secret.encode(), body, hashlib.sha256).digest()


def check_signature(*, secret: str, body: bytes, received: str, encoding: str) -> None:
    """Compare a received HMAC-SHA256 of the raw body (base64 or hex) in constant time."""
    if not secret:
        raise WebhookRejected("this connection has no webhook secret", 403)
    if not received:
        raise WebhookRejected("missing signature header", 401)
    digest = hmac_sha256(secret, body)
    expected = base64.b64encode(digest).decode() if encoding == "base64" else digest.hex()
    received = received.strip() if encoding == "base64" else received.strip().lower()
    if not hmac.compare_digest(expected.encode(), received.encode()):
        raise WebhookRejected("invalid signature", 401)


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in headers.items()}


def load_json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise WebhookRejected(f"body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise WebhookRejected("body is not a JSON object")
    return data


def parse_time(value: Any, *, field: str, assume_utc: bool = True) -> dt.datetime:
    """An ISO 8601 time from a platform; naive times are UTC (WooCommerce's *_gmt fields)."""
    if not isinstance(value, str) or not value:
        raise ShopError(f"{field} is missing")
    text = value.strip().replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":" and text[-4:].isdigit():
        text = text[:-2] + ":" + text[-2:]  # Nuvemshop writes +0000
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ShopError(f"{field} is not a time: {value!r}") from None
    if parsed.tzinfo is None:
        if not assume_utc:
            raise ShopError(f"{field} has no time zone: {value!r}")
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc)


def optional_time(value: Any, *, field: str) -> dt.datetime | None:
    return parse_time(value, field=field) if value else None


def money(value: Any, *, field: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ShopError(f"{field} is not an amount: {value!r}") from None
    if not amount.is_finite():
        raise ShopError(f"{field} is not an amount: {value!r}")
    return amount.quantize(Decimal("0.01"))


def quantity(value: Any) -> int:
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return 1


def text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ("" if value is None else str(value))


def isoformat(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the base class -------------------------------------------------------------------------------


@dataclasses.dataclass
class Response:
    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise TemporaryShopError(f"the platform answered {self.status} with a body that is not JSON") from None


class BaseShopConnector:
    """Subclasses set ``platform`` and implement the five methods below, plus
    ``auth_headers``; ``request`` handles time-outs, 429 with ``Retry-After``, 5xx, and
    credential errors the same way for all of them."""

    platform: str = ""
    #: Wait in place for a 429 up to this long; longer waits raise ``RateLimited`` so a task
    #: can reschedule itself with its cursor saved.
    max_wait_seconds: float = 10.0
    max_retries: int = 4

    def __init__(self, config: Mapping[str, Any]):
        self.config = dict(config)
        self.store_url = text(config.get("store_url")).rstrip("/")
        self.credentials: dict[str, str] = dict(config.get("credentials") or {})
        self.webhook_secret = text(config.get("webhook_secret"))
        self.status_overrides: dict[str, str] = {k.lower(): v for k, v in (config.get("status_overrides") or {}).items()
                                                 if v in STATUSES}
        self.timeout = float(config.get("timeout", 15))
        self.sleep: Callable[[float], None] = config.get("sleep") or time.sleep
        self.waited: list[float] = []  # every pause, for the sync log and tests

    # interface ------------------------------------------------------------------------------------

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> None:
        """Raise ``WebhookRejected`` unless the request is signed with the webhook secret."""
        raise NotImplementedError

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> ShopEvent:
        """Translate a verified webhook; ``WebhookRejected`` (400) for a malformed one."""
        raise NotImplementedError

    def fetch_orders(self, *, updated_since: dt.datetime, cursor: str | None = None) -> OrderPage:
        """One page of orders updated at or after ``updated_since``, oldest change first
        where the platform can sort so; ``cursor`` is a previous page's ``next_cursor``."""
        raise NotImplementedError

    def fetch_order(self, order_id: str) -> ShopOrder:
        raise NotImplementedError

    def test_connection(self) -> str:
        """The shop's name if the credentials work; ``CredentialsError`` or ``ShopError`` otherwise."""
        raise NotImplementedError

    def order_from_json(self, data: Any) -> ShopOrder:
        """The platform's JSON for one order, translated; ``ShopError`` for any malformed part
        (a field of the wrong type included), so one bad order never stops its neighbours."""
        if not isinstance(data, Mapping):
            raise ShopError("the order is not a JSON object")
        try:
            return self._order_from_json(data)
        except ShopError:
            raise
        except (AttributeError, TypeError, KeyError, ValueError, IndexError) as exc:
            raise ShopError(f"malformed order: {type(exc).__name__}: {exc}") from None

    def _order_from_json(self, data: Mapping[str, Any]) -> ShopOrder:
        raise NotImplementedError

    @property
    def has_api_access(self) -> bool:
        return all(self.credentials.get(key) for key in self.required_credentials)

    required_credentials: tuple[str, ...] = ()

    def map_status(self, platform_status: str, default: str) -> str:
        """A shop may override the mapping per connection (``status_overrides``)."""
        return self.status_overrides.get(platform_status.lower(), default)

    # HTTP -----------------------------------------------------------------------------------------

    def auth_headers(self) -> dict[str, str]:
        raise NotImplementedError

    def pace(self, response: Response) -> None:
        """Pause before the next call when the platform's bucket is nearly full (leaky buckets)."""

    def request(self, url: str, *, query: Mapping[str, Any] | None = None) -> Response:
        if not self.has_api_access:
            raise CredentialsError(f"this connection has no API credentials ({', '.join(self.required_credentials)})")
        if query:
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode(query)
        headers = {"Accept": "application/json", "User-Agent": "support-inbox (shop connector)", **self.auth_headers()}
        for attempt in range(self.max_retries + 1):
            response = self._open(urllib.request.Request(url, headers=headers, method="GET"))
            if response.status == 429 or response.status >= 500:
                wait = self._retry_after(response, attempt)
                if attempt == self.max_retries or wait > self.max_wait_seconds:
                    if response.status == 429:
                        raise RateLimited(f"{self.platform} rate limit: retry in {wait:.0f} s", wait)
                    raise TemporaryShopError(f"{self.platform} answered {response.status}")
                self._wait(wait)
                continue
            if response.status in (401, 403):
                raise CredentialsError(
                    f"{self.platform} refused the credentials ({response.status}): check the access token, "
                    "the app's permissions and the store address")
            if response.status == 404:
                raise NotFound(f"{self.platform} answered 404 for {urllib.parse.urlsplit(url).path}: check the store address")
            if response.status >= 400:
                raise ShopError(f"{self.platform} answered {response.status}: {response.body[:300]!r}")
            self.pace(response)
            return response
        raise AssertionError("unreachable")

    def _wait(self, seconds: float) -> None:
        self.waited.append(seconds)
        self.sleep(seconds)

    def _retry_after(self, response: Response, attempt: int) -> float:
        value = response.headers.get("retry-after", "")
        try:
            return max(float(value), 0.0)
        except ValueError:
            return min(2.0 ** attempt, 30.0)

    def _open(self, request: urllib.request.Request) -> Response:
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                return Response(answer.status, lower_headers(answer.headers), answer.read())
        except urllib.error.HTTPError as exc:
            return Response(exc.code, lower_headers(exc.headers or {}), exc.read() or b"")
        except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            raise TemporaryShopError(f"could not reach {self.platform} at {request.full_url.split('?')[0]}: {reason}") from None
