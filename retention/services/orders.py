"""Customers and their orders, as shops send them (API, CSV, connectors)."""

from __future__ import annotations

import datetime as dt
import logging
import re
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from inbox import services as inbox_services
from inbox.models import ChannelKind, Contact
from inbox.phones import parse_phone, to_wa_id

from ..models import Order
from .common import RetentionError

logger = logging.getLogger(__name__)



# --- customers and orders -------------------------------------------------------------------------


def find_contact(*, email: str = "", phone: str = "") -> Contact | None:
    """The contact with this e-mail (first), else the one contact on this phone line (in any
    equivalent form: the ninth digit in Brazil, 549/54 in Argentina, 521/52 in Mexico; see
    docs/phone-numbers.md). Several contacts on the line: None, and they show as duplicates."""
    email = inbox_services.normalize_email(email)
    line = parse_phone(inbox_services.normalize_phone(phone)).e164 if phone else ""
    if email:
        found = (Contact.objects.filter(email__iexact=email).order_by("pk").first()
                 or Contact.objects.filter(identities__channel_kind=ChannelKind.EMAIL,
                                           identities__address__iexact=email).order_by("pk").first())
        if found:
            return found
    if line:
        return inbox_services.contact_for_phone(line)
    return None


@transaction.atomic
def customer_upsert(*, email: str = "", phone: str = "", name: str = "", locale: str = "") -> tuple[Contact, bool]:
    """Find the shop's customer among the contacts by e-mail or phone, or create one with an
    e-mail identity (or, with only a phone, a WhatsApp identity), so the customer's first
    message on that channel lands on the same contact. Returns (contact, created).

    Numbers without a country code are read in ``PHONE_DEFAULT_REGION``. One that cannot be
    read is kept on the contact as typed, but never matched on nor used as a WhatsApp address."""
    email = inbox_services.normalize_email(email)
    phone_normalized = inbox_services.normalize_phone(phone) if phone else ""
    line = parse_phone(phone_normalized).e164
    if not email and not line:
        if phone_normalized:
            raise RetentionError(_("The phone number %(phone)r cannot be read; send it with the country "
                                   "code (+55 11 98765-4321) or send an e-mail address.") % {"phone": phone_normalized})
        raise RetentionError(_("A customer needs an e-mail address or a phone number."))
    contact = find_contact(email=email, phone=line)
    created = contact is None
    if created:
        if email:
            contact = inbox_services.contact_for_identity(channel_kind=ChannelKind.EMAIL, address=email, name=name,
                                                          email=email, phone=phone_normalized, locale=locale)
        else:
            # The canonical number as a WhatsApp address until WhatsApp names the real wa_id
            # (the first message from the customer, or the answer to our first send).
            contact = inbox_services.contact_for_identity(
                channel_kind=ChannelKind.WHATSAPP, address=to_wa_id(line), name=name,
                phone=phone_normalized, locale=locale)
    changes: dict[str, Any] = {}
    for field, value in (("name", name), ("email", email), ("phone", phone_normalized), ("locale", locale)):
        if value and not getattr(contact, field):
            changes[field] = value
    if changes:
        contact = inbox_services.contact_update(contact=contact, **changes)
    return contact, created


ORDER_FIELDS = ("ordered_at", "status", "total", "currency", "items", "delivered_at")


@transaction.atomic
def order_upsert(*, external_id: str, contact: Contact, ordered_at: dt.datetime, total: Decimal,
                 currency: str, status: str = Order.Status.PAID, items: list | None = None,
                 delivered_at: dt.datetime | None = None) -> tuple[Order, bool]:
    """Create or update the order with this external id (the shop may send it many times).
    Returns (order, created)."""
    external_id = (external_id or "").strip()
    if not external_id:
        raise RetentionError(_("An order needs an external_id."))
    if total is None:
        raise RetentionError(_("An order needs a total."))
    total = Decimal(total)
    if total < 0:
        raise RetentionError(_("The total cannot be negative."))
    if status not in Order.Status.values:
        raise RetentionError(_("Unknown status %(status)r; use one of %(statuses)s.") % {
            "status": status, "statuses": ", ".join(Order.Status.values)})
    currency = (currency or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise RetentionError(_("The currency must be a three-letter ISO code such as USD or BRL."))
    if status == Order.Status.DELIVERED and delivered_at is None:
        delivered_at = timezone.now()
    values = {"contact": contact, "ordered_at": ordered_at, "total": total, "currency": currency,
              "status": status, "items": items or [], "delivered_at": delivered_at}
    order = Order.objects.select_for_update().filter(external_id=external_id).first()
    if order is None:
        try:
            with transaction.atomic():
                return Order.objects.create(external_id=external_id, **values), True
        except IntegrityError:
            order = Order.objects.select_for_update().get(external_id=external_id)
    for field, value in values.items():
        setattr(order, field, value)
    order.save()
    return order, False
