"""Nuvemshop / Tiendanube: webhooks and the REST API version ``API_VERSION`` (docs/shops.md).

Webhooks (``order/created``, ``order/updated``, ``order/paid``, ``order/packed``,
``order/fulfilled``, ``order/cancelled``, registered with ``POST /webhooks``) carry only
``{"store_id", "event", "id"}``; the order is then fetched. They are signed with
``x-linkedstore-hmac-sha256``: the hex HMAC-SHA256 of the raw body keyed with the app's
client secret. No delivery id is sent; fetching the current order makes a redelivery harmless.

API: ``https://api.tiendanube.com/<version>/<store_id>/...`` (the same on
``api.nuvemshop.com.br``), header ``Authentication: bearer <access token>`` and a
``User-Agent`` naming the app. Orders: ``GET /orders?updated_at_min=...&per_page=200&page=N``;
a page past the last answers 404. Rate limit: a leaky bucket of 40 calls draining 2 a second,
shown in ``x-rate-limit-remaining``; 429 when it is full.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from collections.abc import Mapping
from typing import Any

from .base import (
    BaseShopConnector, NotFound, OrderPage, Response, ShopCustomer, ShopError, ShopEvent, ShopItem, ShopOrder, ShopTracking,
    WebhookRejected, check_signature, isoformat, load_json_object, lower_headers, money, optional_time, parse_time,
    quantity, text,
)

API_VERSION = "2025-03"
DEFAULT_API_BASE = f"https://api.tiendanube.com/{API_VERSION}"
PAGE_SIZE = 200
ORDER_EVENTS = {"order/created", "order/updated", "order/paid", "order/packed", "order/fulfilled",
                "order/cancelled", "order/edited", "order/pending", "order/voided", "order/unpacked"}


class NuvemshopConnector(BaseShopConnector):
    platform = "nuvemshop"
    required_credentials = ("store_id", "access_token")

    def _api(self, path: str) -> str:
        base = text(self.config.get("api_base")) or DEFAULT_API_BASE
        return f"{base.rstrip('/')}/{urllib.parse.quote(str(self.credentials.get('store_id', '')))}/{path}"

    def auth_headers(self) -> dict[str, str]:
        return {"Authentication": f"bearer {self.credentials['access_token']}"}

    def pace(self, response: Response) -> None:
        remaining = response.headers.get("x-rate-limit-remaining", "")
        if remaining.isdigit() and int(remaining) <= 2:
            self._wait(1.0)  # two calls leak out of the bucket each second

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> None:
        check_signature(secret=self.webhook_secret, body=body,
                        received=lower_headers(headers).get("x-linkedstore-hmac-sha256", ""), encoding="hex")

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> ShopEvent:
        data = load_json_object(body)
        event = text(data.get("event"))
        store_id = text(self.credentials.get("store_id"))
        if store_id and text(data.get("store_id")) != store_id:
            raise WebhookRejected(f"webhook for store {data.get('store_id')!r}, this connection is store {store_id}")
        if event not in ORDER_EVENTS:
            return ShopEvent(topic=event or "unknown", ignored=f"event {event!r} is not about orders")
        order_id = text(data.get("id"))
        if not order_id:
            raise WebhookRejected(f"{event} without id")
        return ShopEvent(topic=event, order_ref=order_id)

    def fetch_orders(self, *, updated_since: dt.datetime, cursor: str | None = None) -> OrderPage:
        page_number = int(cursor or 1)
        query = {"updated_at_min": isoformat(updated_since), "per_page": PAGE_SIZE, "page": page_number}
        try:
            response = self.request(self._api("orders"), query=query)
        except NotFound:
            if page_number > 1:
                return OrderPage(orders=[], next_cursor=None)  # "Last page is N"
            raise
        data = response.json()
        rows = data if isinstance(data, list) else []
        has_next = 'rel="next"' in response.headers.get("link", "") or len(rows) >= PAGE_SIZE
        page = OrderPage(orders=[], next_cursor=str(page_number + 1) if has_next and rows else None)
        for item in rows:
            try:
                page.orders.append(self.order_from_json(item))
            except ShopError as exc:
                page.skipped.append(f"order {item.get('id') if isinstance(item, dict) else '?'}: {exc}")
        return page

    def fetch_order(self, order_id: str) -> ShopOrder:
        return self.order_from_json(self.request(self._api(f"orders/{urllib.parse.quote(str(order_id))}")).json())

    def test_connection(self) -> str:
        store = self.request(self._api("store")).json()
        name = store.get("name") if isinstance(store, dict) else None
        if isinstance(name, dict):
            name = name.get("pt") or name.get("es") or next(iter(name.values()), "")
        return text(name) or f"store {self.credentials.get('store_id')}"

    def _order_from_json(self, data: Any) -> ShopOrder:
        if not isinstance(data, Mapping) or not data.get("id"):
            raise ShopError("the order has no id")
        customer = data.get("customer") or {}
        shipping = data.get("shipping_address") or {}
        status, platform_status = self._status(data)
        created = parse_time(data.get("created_at"), field="created_at")
        shipped_at = optional_time(data.get("shipped_at"), field="shipped_at")
        expected = None
        max_days = data.get("shipping_max_days")
        if isinstance(max_days, int) or (isinstance(max_days, str) and max_days.isdigit()):
            start = shipped_at or optional_time(data.get("paid_at"), field="paid_at") or created
            expected = (start + dt.timedelta(days=int(max_days))).date()
        return ShopOrder(
            order_id=text(data["id"]), number=text(data.get("number")) or text(data["id"]),
            status=status, platform_status=platform_status, ordered_at=created,
            updated_at=parse_time(data.get("updated_at") or data.get("created_at"), field="updated_at"),
            total=money(data.get("total"), field="total"), currency=text(data.get("currency")),
            customer=ShopCustomer(
                email=text(data.get("contact_email") or customer.get("email")),
                phone=text(data.get("contact_phone") or customer.get("phone") or shipping.get("phone")),
                name=text(data.get("contact_name") or customer.get("name") or shipping.get("name"))),
            items=[ShopItem(name=text(item.get("name")), quantity=quantity(item.get("quantity")),
                            price=money(item.get("price") or 0, field="product price"), sku=text(item.get("sku")))
                   for item in data.get("products") or [] if isinstance(item, Mapping)],
            tracking=ShopTracking(number=text(data.get("shipping_tracking_number")),
                                  url=text(data.get("shipping_tracking_url")),
                                  carrier=_carrier(data)),
            expected_at=expected,
            delivered_at=optional_time(data.get("delivered_at"), field="delivered_at") if status == "delivered" else None,
            city=text(shipping.get("city")), state=text(shipping.get("province")),
        )

    def _status(self, data: Mapping[str, Any]) -> tuple[str, str]:
        order_status = text(data.get("status")).lower()
        payment = text(data.get("payment_status")).lower()
        shipping = text(data.get("shipping_status")).lower()
        platform_status = "/".join(filter(None, [order_status, payment, shipping]))
        if order_status == "cancelled" or payment == "voided":
            status = "cancelled"
        elif payment == "refunded":
            status = "refunded"
        elif shipping == "delivered":
            status = "delivered"
        elif shipping in ("shipped", "fulfilled"):
            status = "shipped"
        elif payment == "paid":
            status = "paid"
        else:
            status = "pending"
        for key in (shipping, payment, order_status):
            if key and key in self.status_overrides:
                return self.status_overrides[key], platform_status
        return status, platform_status


def _carrier(data: Mapping[str, Any]) -> str:
    option = data.get("shipping_option")
    if isinstance(option, Mapping):
        option = option.get("name")
    return text(option or data.get("shipping_carrier_name") or data.get("shipping"))
