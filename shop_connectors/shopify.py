"""Shopify: order webhooks and the Admin REST API, version ``API_VERSION`` (docs/shops.md).

Webhooks are signed with ``X-Shopify-Hmac-Sha256``: the base64 HMAC-SHA256 of the raw body,
keyed with the app's client secret (or, for a webhook made in the shop admin, the key shown
under Settings > Notifications > Webhooks). ``orders/*`` topics carry the whole order;
``fulfillments/*`` and ``refunds/create`` carry a part with ``order_id``, so the order is
fetched. Redeliveries repeat ``X-Shopify-Event-Id``.

Backfill: ``GET /admin/api/<version>/orders.json?status=any&updated_at_min=...&limit=250``,
paged with the ``page_info`` of the ``Link: <...>; rel="next"`` header (later pages take no
other filter). Rate limit: a leaky bucket shown in ``X-Shopify-Shop-Api-Call-Limit: 32/40``;
429 answers carry ``Retry-After`` in seconds.
"""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse
from collections.abc import Mapping
from typing import Any

from .base import (
    BaseShopConnector, OrderPage, Response, ShopCustomer, ShopError, ShopEvent, ShopItem, ShopOrder, ShopTracking,
    WebhookRejected, check_signature, isoformat, load_json_object, lower_headers, money, optional_time, parse_time,
    quantity, text,
)

API_VERSION = "2025-10"
PAGE_SIZE = 250
ORDER_TOPICS = {"orders/create", "orders/updated", "orders/paid", "orders/fulfilled", "orders/partially_fulfilled",
                "orders/cancelled"}
REFERENCE_TOPICS = {"fulfillments/create", "fulfillments/update", "refunds/create", "fulfillment_events/create"}
_NEXT_LINK = re.compile(r'<([^>]+)>;\s*rel="?next"?')


class ShopifyConnector(BaseShopConnector):
    platform = "shopify"
    required_credentials = ("access_token",)

    def _api(self, path: str) -> str:
        return f"{self.store_url}/admin/api/{API_VERSION}/{path}"

    def auth_headers(self) -> dict[str, str]:
        return {"X-Shopify-Access-Token": self.credentials["access_token"]}

    def pace(self, response: Response) -> None:
        used, _, limit = response.headers.get("x-shopify-shop-api-call-limit", "").partition("/")
        if used.isdigit() and limit.isdigit() and int(limit) and int(used) >= int(limit) - 2:
            # Nearly full: the bucket leaks two calls a second on the standard plan.
            self._wait(1.0)

    # webhooks -------------------------------------------------------------------------------------

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> None:
        check_signature(secret=self.webhook_secret, body=body,
                        received=lower_headers(headers).get("x-shopify-hmac-sha256", ""), encoding="base64")

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> ShopEvent:
        head = lower_headers(headers)
        topic = head.get("x-shopify-topic", "")
        delivery = head.get("x-shopify-event-id") or head.get("x-shopify-webhook-id", "")
        data = load_json_object(body)
        if topic in ORDER_TOPICS:
            try:
                return ShopEvent(topic=topic, delivery_id=delivery, order=self.order_from_json(data))
            except ShopError as exc:
                raise WebhookRejected(f"{topic}: {exc}") from None
        if topic in REFERENCE_TOPICS:
            order_id = text(data.get("order_id"))
            if not order_id:
                raise WebhookRejected(f"{topic} without order_id")
            tracking = None
            if topic.startswith("fulfillments/"):
                tracking = _tracking(data)
            return ShopEvent(topic=topic, delivery_id=delivery, order_ref=order_id, tracking=tracking)
        if not topic:
            raise WebhookRejected("missing X-Shopify-Topic header")
        return ShopEvent(topic=topic, delivery_id=delivery, ignored=f"topic {topic} is not about orders")

    # API ------------------------------------------------------------------------------------------

    def fetch_orders(self, *, updated_since: dt.datetime, cursor: str | None = None) -> OrderPage:
        if cursor:
            query = {"limit": PAGE_SIZE, "page_info": cursor}
        else:
            query = {"status": "any", "updated_at_min": isoformat(updated_since), "limit": PAGE_SIZE,
                     "order": "updated_at asc"}
        response = self.request(self._api("orders.json"), query=query)
        page = OrderPage(orders=[], next_cursor=_next_page_info(response.headers.get("link", "")))
        for data in response.json().get("orders") or []:
            try:
                page.orders.append(self.order_from_json(data))
            except ShopError as exc:
                page.skipped.append(f"order {data.get('id')}: {exc}")
        return page

    def fetch_order(self, order_id: str) -> ShopOrder:
        response = self.request(self._api(f"orders/{urllib.parse.quote(str(order_id))}.json"))
        return self.order_from_json(response.json().get("order") or {})

    def test_connection(self) -> str:
        shop = self.request(self._api("shop.json")).json().get("shop") or {}
        return text(shop.get("name")) or self.store_url

    # translation ----------------------------------------------------------------------------------

    def _order_from_json(self, data: Mapping[str, Any]) -> ShopOrder:
        if not data.get("id"):
            raise ShopError("the order has no id")
        customer = data.get("customer") or {}
        shipping = data.get("shipping_address") or {}
        billing = data.get("billing_address") or {}
        name = " ".join(filter(None, [text(customer.get("first_name")), text(customer.get("last_name"))]))
        fulfillment = _latest_fulfillment(data.get("fulfillments") or [])
        status, platform_status = self._status(data, fulfillment)
        delivered_at = None
        if status == "delivered" and fulfillment:
            delivered_at = optional_time(fulfillment.get("updated_at"), field="fulfillment updated_at")
        expected = optional_time((fulfillment or {}).get("estimated_delivery_at"), field="estimated_delivery_at")
        return ShopOrder(
            order_id=text(data["id"]),
            number=text(data.get("name")) or f"#{text(data.get('order_number'))}",
            status=status, platform_status=platform_status,
            ordered_at=parse_time(data.get("created_at"), field="created_at"),
            updated_at=parse_time(data.get("updated_at") or data.get("created_at"), field="updated_at"),
            total=money(data.get("total_price"), field="total_price"),
            currency=text(data.get("currency") or data.get("presentment_currency")),
            customer=ShopCustomer(
                email=text(data.get("email") or data.get("contact_email") or customer.get("email")),
                phone=text(data.get("phone") or customer.get("phone") or shipping.get("phone") or billing.get("phone")),
                name=name or text(shipping.get("name")), locale=text(data.get("customer_locale"))),
            items=[ShopItem(name=text(item.get("name") or item.get("title")), quantity=quantity(item.get("quantity")),
                            price=money(item.get("price") or 0, field="line item price"), sku=text(item.get("sku")))
                   for item in data.get("line_items") or []],
            tracking=_tracking(fulfillment) if fulfillment else ShopTracking(),
            expected_at=expected.date() if expected else None,
            delivered_at=delivered_at,
            city=text(shipping.get("city")), state=text(shipping.get("province_code") or shipping.get("province")),
        )

    def _status(self, data: Mapping[str, Any], fulfillment: Mapping[str, Any] | None) -> tuple[str, str]:
        financial = text(data.get("financial_status")).lower()
        fulfilled = text(data.get("fulfillment_status")).lower()
        shipment = text((fulfillment or {}).get("shipment_status")).lower()
        platform_status = "/".join(filter(None, [financial, fulfilled, shipment])) or "open"
        if data.get("cancelled_at") or financial == "voided":
            status = "cancelled"
        elif financial == "refunded":
            status = "refunded"
        elif shipment == "delivered":
            status = "delivered"
        elif fulfilled in ("fulfilled", "partial") or fulfillment:
            status = "shipped"
        elif financial in ("paid", "partially_paid", "partially_refunded"):
            status = "paid"
        else:
            status = "pending"
        for key in (shipment, fulfilled, financial):
            if key and key in self.status_overrides:
                return self.status_overrides[key], platform_status
        return status, platform_status


def _latest_fulfillment(fulfillments: list) -> Mapping[str, Any] | None:
    live = [f for f in fulfillments if isinstance(f, dict) and text(f.get("status")).lower() not in ("cancelled",
                                                                                                    "error", "failure")]
    return max(live, key=lambda f: text(f.get("updated_at") or f.get("created_at")), default=None)


def _tracking(fulfillment: Mapping[str, Any]) -> ShopTracking:
    numbers = fulfillment.get("tracking_numbers") or []
    urls = fulfillment.get("tracking_urls") or []
    return ShopTracking(number=text(fulfillment.get("tracking_number") or (numbers[0] if numbers else "")),
                        url=text(fulfillment.get("tracking_url") or (urls[0] if urls else "")),
                        carrier=text(fulfillment.get("tracking_company")))


def _next_page_info(link_header: str) -> str | None:
    match = _NEXT_LINK.search(link_header or "")
    if not match:
        return None
    values = urllib.parse.parse_qs(urllib.parse.urlsplit(match.group(1)).query).get("page_info")
    return values[0] if values else None
