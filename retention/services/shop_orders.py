"""The write path for orders that arrive from a shop platform (``shops``): the same ``Order``
rows as the API and CSV imports, with the platform's number, tracking, expected date and
shipping city/state, and one rule the API does not need: **an older update never overwrites a
newer one**. Platforms redeliver webhooks and deliver them out of order; each order keeps the
platform's ``updated_at`` of the state it holds (``source_updated_at``) and a change that is
not newer is ignored. Customers are matched and created by ``customer_upsert``,
which goes through ``inbox.services`` (docs/shops.md).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.db import IntegrityError, transaction

from shop_connectors.base import ShopOrder, ShopTracking

from ..models import Order
from .common import RetentionError
from .orders import customer_upsert

CREATED, UPDATED, STALE = "created", "updated", "stale"


def _values(order: ShopOrder) -> dict[str, Any]:
    currency = (order.currency or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise RetentionError(f"order {order.number}: currency {order.currency!r} is not a three-letter code")
    if order.total < 0:
        raise RetentionError(f"order {order.number}: the total cannot be negative")
    delivered_at = order.delivered_at
    if order.status == Order.Status.DELIVERED and delivered_at is None:
        delivered_at = order.updated_at  # the platform's change that said "delivered", not the import's time
    return {
        "number": order.number[:50], "ordered_at": order.ordered_at, "status": order.status,
        "platform_status": order.platform_status[:100], "total": order.total, "currency": currency,
        "items": [item.as_json() for item in order.items], "delivered_at": delivered_at,
        "source_updated_at": order.updated_at,
        "tracking_number": order.tracking.number[:100], "tracking_url": _url(order.tracking.url),
        "carrier": order.tracking.carrier[:100], "expected_at": order.expected_at,
        "shipping_city": order.city[:100], "shipping_state": order.state[:100],
    }


def _url(value: str) -> str:
    return value[:500] if value.startswith(("https://", "http://")) else ""


@transaction.atomic
def order_sync_from_shop(*, source: str, order: ShopOrder) -> tuple[Order | None, str]:
    """Create or update the order ``source + order.order_id`` from a platform's view of it.
    Returns (order, "created" | "updated" | "stale"); stale means the stored state is as new
    or newer, and nothing changed. ``RetentionError`` for an order that cannot be stored
    (no e-mail and no phone, a bad currency)."""
    external_id = f"{source}{order.order_id}"
    if len(external_id) > 100:
        raise RetentionError(f"order id {order.order_id!r} is too long")
    values = _values(order)
    existing = Order.objects.select_for_update().filter(external_id=external_id).first()
    if existing and existing.source_updated_at and order.updated_at <= existing.source_updated_at:
        return existing, STALE
    if existing is None:
        contact, _ = customer_upsert(email=order.customer.email, phone=order.customer.phone,
                                              name=order.customer.name, locale=order.customer.locale)
        try:
            with transaction.atomic():
                return Order.objects.create(external_id=external_id, source=source, contact=contact, **values), CREATED
        except IntegrityError:  # created by a concurrent delivery of the same order
            existing = Order.objects.select_for_update().get(external_id=external_id)
            if existing.source_updated_at and order.updated_at <= existing.source_updated_at:
                return existing, STALE
    for field, value in values.items():
        setattr(existing, field, value)
    existing.save()
    return existing, UPDATED


@transaction.atomic
def order_apply_tracking(*, source: str, order_id: str, tracking: ShopTracking,
                         at: dt.datetime | None = None) -> Order | None:
    """For a connection without API access: a fulfillment webhook's tracking on the stored
    order (which then counts as shipped, unless it is further along). None if unknown."""
    order = Order.objects.select_for_update().filter(external_id=f"{source}{order_id}").first()
    if order is None:
        return None
    order.tracking_number = tracking.number[:100] or order.tracking_number
    order.tracking_url = _url(tracking.url) or order.tracking_url
    order.carrier = tracking.carrier[:100] or order.carrier
    if order.status in (Order.Status.PENDING, Order.Status.PAID):
        order.status = Order.Status.SHIPPED
    order.save()
    return order


@transaction.atomic
def order_cancel_from_shop(*, source: str, order_id: str) -> Order | None:
    """The platform deleted the order (WooCommerce ``order.deleted`` when it is gone for good):
    kept here as cancelled, so it stops counting. None if it was never imported."""
    order = Order.objects.select_for_update().filter(external_id=f"{source}{order_id}").first()
    if order is not None and order.status != Order.Status.CANCELLED:
        order.status = Order.Status.CANCELLED
        order.platform_status = "deleted"
        order.save()
    return order
