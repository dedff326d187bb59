"""Reads for the panel and the API: a customer's orders, purchase metrics and satisfaction.

Metrics are computed by the database (aggregate per currency: a shop that sells in several
currencies gets one line per currency, never a sum of dollars and reais).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from django.db.models import Avg, Count, Max, Min, QuerySet, Sum
from django.utils import timezone

from inbox.models import Contact

from .models import Order, Survey


@dataclasses.dataclass
class CurrencyMetrics:
    currency: str
    orders: int
    total_spent: Decimal
    average_order_value: Decimal


@dataclasses.dataclass
class CustomerMetrics:
    orders: int  # counted orders (not cancelled or refunded), every currency
    by_currency: list[CurrencyMetrics]
    first_order_at: dt.datetime | None
    last_order_at: dt.datetime | None
    days_since_last_order: int | None
    orders_per_month: float | None  # purchase frequency since the first order
    returning: bool  # two or more counted orders

    def as_dict(self) -> dict:
        data = dataclasses.asdict(self)
        for row in data["by_currency"]:
            row["total_spent"] = str(row["total_spent"])
            row["average_order_value"] = str(row["average_order_value"])
        return data


def counted_orders(contact: Contact) -> QuerySet[Order]:
    return Order.objects.filter(contact=contact, status__in=Order.COUNTED)


def recent_orders(*, contact: Contact, limit: int = 5) -> QuerySet[Order]:
    return Order.objects.filter(contact=contact).order_by("-ordered_at", "-pk")[:limit]


def customer_metrics(*, contact: Contact, now: dt.datetime | None = None) -> CustomerMetrics:
    now = now or timezone.now()
    orders = counted_orders(contact)
    overall = orders.aggregate(n=Count("pk"), first=Min("ordered_at"), last=Max("ordered_at"))
    per_currency = (orders.values("currency").annotate(n=Count("pk"), spent=Sum("total"), aov=Avg("total"))
                    .order_by("-n", "currency"))
    by_currency = [
        CurrencyMetrics(row["currency"], row["n"], Decimal(row["spent"]).quantize(Decimal("0.01")),
                        Decimal(row["aov"]).quantize(Decimal("0.01")))
        for row in per_currency
    ]
    first, last = overall["first"], overall["last"]
    days_since = (now - last).days if last else None
    frequency = None
    if first:
        months = max((now - first).days / 30.44, 1.0)
        frequency = round(overall["n"] / months, 2)
    return CustomerMetrics(orders=overall["n"], by_currency=by_currency, first_order_at=first, last_order_at=last,
                           days_since_last_order=days_since, orders_per_month=frequency,
                           returning=overall["n"] >= 2)


def satisfaction_history(*, contact: Contact, limit: int = 10) -> QuerySet[Survey]:
    return (Survey.objects.filter(contact=contact, status=Survey.Status.ANSWERED)
            .select_related("agent", "inbox").order_by("-answered_at")[:limit])


def satisfaction_summary(*, contact: Contact) -> dict:
    data = Survey.objects.filter(contact=contact, status=Survey.Status.ANSWERED).aggregate(
        answered=Count("pk"), average=Avg("rating"))
    if data["average"] is not None:
        data["average"] = round(data["average"], 1)
    return data
