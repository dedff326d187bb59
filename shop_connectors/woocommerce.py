"""WooCommerce: webhooks and the REST API ``wc/v3`` (WooCommerce 8 or later; docs/shops.md).

Webhooks (WooCommerce > Settings > Advanced > Webhooks, topics ``order.created``,
``order.updated``, ``order.deleted``, ``order.restored``) carry the whole order and are signed
with ``X-WC-Webhook-Signature``: the base64 HMAC-SHA256 of the raw body keyed with the
webhook's secret. ``X-WC-Webhook-Delivery-ID`` names the delivery. When a webhook is saved,
WooCommerce first posts an unsigned ``webhook_id=<n>`` form: it is answered 200 and changes
nothing.

Backfill: ``GET /wp-json/wc/v3/orders?modified_after=...&dates_are_gmt=true&orderby=modified
&order=asc&per_page=100&page=N`` with the consumer key and secret as HTTP Basic auth (HTTPS
only, as WooCommerce requires), paged by ``X-WP-TotalPages``.

WooCommerce has no tracking fields of its own; the Shipment Tracking extension's
``_wc_shipment_tracking_items`` order meta is read when present.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import urllib.parse
from collections.abc import Mapping
from typing import Any

from .base import (
    BaseShopConnector, OrderPage, ShopCustomer, ShopError, ShopEvent, ShopItem, ShopOrder, ShopTracking,
    WebhookRejected, check_signature, isoformat, load_json_object, lower_headers, money, optional_time, parse_time,
    quantity, text,
)

PAGE_SIZE = 100
#: WooCommerce's order statuses onto ours (docs/shops.md). ``completed`` means "fulfilled" in
#: WooCommerce, i.e. shipped; a shop that completes orders on delivery overrides it per connection.
STATUS_MAP = {
    "pending": "pending", "on-hold": "pending", "checkout-draft": "pending",
    "processing": "paid",
    "completed": "shipped",
    "cancelled": "cancelled", "failed": "cancelled", "trash": "cancelled",
    "refunded": "refunded",
}
_PING = re.compile(rb"^webhook_id=\d+$")


class WooCommerceConnector(BaseShopConnector):
    platform = "woocommerce"
    required_credentials = ("consumer_key", "consumer_secret")

    def _api(self, path: str) -> str:
        return f"{self.store_url}/wp-json/wc/v3/{path}"

    def auth_headers(self) -> dict[str, str]:
        pair = f"{self.credentials['consumer_key']}:{self.credentials['consumer_secret']}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}

    @staticmethod
    def _is_ping(body: bytes, headers: Mapping[str, str]) -> bool:
        return not lower_headers(headers).get("x-wc-webhook-topic") and bool(_PING.match(body.strip()))

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> None:
        if self._is_ping(body, headers):
            return  # unsigned by WooCommerce, and it changes nothing
        check_signature(secret=self.webhook_secret, body=body,
                        received=lower_headers(headers).get("x-wc-webhook-signature", ""), encoding="base64")

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> ShopEvent:
        if self._is_ping(body, headers):
            return ShopEvent(topic="ping", ignored="WooCommerce's test delivery of a new webhook")
        head = lower_headers(headers)
        topic = head.get("x-wc-webhook-topic", "")
        delivery = head.get("x-wc-webhook-delivery-id", "")
        data = load_json_object(body)
        if not topic.startswith("order."):
            return ShopEvent(topic=topic or "unknown", delivery_id=delivery, ignored=f"topic {topic!r} is not about orders")
        if topic == "order.deleted":
            # Deleted orders arrive as {"id": n}; the order is kept here but marked cancelled by a fetch when possible.
            order_id = text(data.get("id"))
            if not order_id:
                raise WebhookRejected("order.deleted without id")
            return ShopEvent(topic=topic, delivery_id=delivery, order_ref=order_id)
        try:
            return ShopEvent(topic=topic, delivery_id=delivery, order=self.order_from_json(data))
        except ShopError as exc:
            raise WebhookRejected(f"{topic}: {exc}") from None

    def fetch_orders(self, *, updated_since: dt.datetime, cursor: str | None = None) -> OrderPage:
        page_number = int(cursor or 1)
        query = {"modified_after": isoformat(updated_since).rstrip("Z"), "dates_are_gmt": "true",
                 "orderby": "modified", "order": "asc", "per_page": PAGE_SIZE, "page": page_number}
        response = self.request(self._api("orders"), query=query)
        try:
            total_pages = int(response.headers.get("x-wp-totalpages", "1"))
        except ValueError:
            total_pages = 1
        page = OrderPage(orders=[], next_cursor=str(page_number + 1) if page_number < total_pages else None)
        data = response.json()
        for item in data if isinstance(data, list) else []:
            try:
                page.orders.append(self.order_from_json(item))
            except ShopError as exc:
                page.skipped.append(f"order {item.get('id') if isinstance(item, dict) else '?'}: {exc}")
        return page

    def fetch_order(self, order_id: str) -> ShopOrder:
        return self.order_from_json(self.request(self._api(f"orders/{urllib.parse.quote(str(order_id))}")).json())

    def test_connection(self) -> str:
        self.request(self._api("orders"), query={"per_page": 1})
        return self.store_url

    def _order_from_json(self, data: Any) -> ShopOrder:
        if not isinstance(data, Mapping) or not data.get("id"):
            raise ShopError("the order has no id")
        billing = data.get("billing") or {}
        shipping = data.get("shipping") or {}
        platform_status = text(data.get("status")).lower()
        if platform_status not in STATUS_MAP and platform_status not in self.status_overrides:
            raise ShopError(f"unknown order status {platform_status!r}")
        status = self.map_status(platform_status, STATUS_MAP.get(platform_status, "pending"))
        created = data.get("date_created_gmt") or data.get("date_created")
        completed = optional_time(data.get("date_completed_gmt"), field="date_completed_gmt")
        name = " ".join(filter(None, [text(billing.get("first_name")), text(billing.get("last_name"))]))
        return ShopOrder(
            order_id=text(data["id"]), number=text(data.get("number")) or text(data["id"]),
            status=status, platform_status=platform_status,
            ordered_at=parse_time(created, field="date_created_gmt"),
            updated_at=parse_time(data.get("date_modified_gmt") or created, field="date_modified_gmt"),
            total=money(data.get("total"), field="total"), currency=text(data.get("currency")),
            customer=ShopCustomer(email=text(billing.get("email")), phone=text(billing.get("phone")), name=name),
            items=[ShopItem(name=text(item.get("name")), quantity=quantity(item.get("quantity")),
                            price=money(item.get("price") if item.get("price") is not None else 0, field="item price"),
                            sku=text(item.get("sku")))
                   for item in data.get("line_items") or [] if isinstance(item, Mapping)],
            tracking=_tracking(data.get("meta_data") or []),
            delivered_at=completed if status == "delivered" else None,
            city=text(shipping.get("city") or billing.get("city")),
            state=text(shipping.get("state") or billing.get("state")),
        )


def _tracking(meta: list) -> ShopTracking:
    for entry in meta:
        if isinstance(entry, Mapping) and entry.get("key") == "_wc_shipment_tracking_items":
            items = [i for i in entry.get("value") or [] if isinstance(i, Mapping)]
            if items:
                last = items[-1]
                return ShopTracking(
                    number=text(last.get("tracking_number")),
                    url=text(last.get("custom_tracking_link") or last.get("tracking_link")),
                    carrier=text(last.get("custom_tracking_provider") or last.get("tracking_provider")))
    return ShopTracking()
