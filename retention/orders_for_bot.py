"""What the bot (and the agent's composer) may know about a customer's orders, for
``settings.BOT_ORDER_PROVIDER``. The bot imports this module by name, never at import time,
so ``bot`` does not depend on ``retention`` (docs/shops.md, "Order answers").

Nothing here reveals an order to someone who only guessed its number: ``lookup`` needs two
facts that belong together: the order number with the order's e-mail or phone, or the
order's e-mail with the phone the customer writes from.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

from django.db.models import Q
from django.utils import timezone

from inbox import services as inbox_services
from inbox.models import ChannelKind, Contact
from inbox.phones import equivalent_numbers, from_wa_id, parse_phone

from .models import Order

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_NUMBER = re.compile(r"#?\s?(\d{3,12})")
_PHONE = re.compile(r"\+?\d[\d\s().-]{7,}\d")


@dataclasses.dataclass(frozen=True)
class OrderFacts:
    number: str
    status: str  # retention.Order.Status value
    ordered_at: dt.datetime
    tracking_number: str = ""
    tracking_url: str = ""
    carrier: str = ""
    expected_at: dt.date | None = None
    delivered_at: dt.datetime | None = None

    def is_late(self, today: dt.date) -> bool:
        return (self.expected_at is not None and self.expected_at < today
                and self.status in (Order.Status.PENDING, Order.Status.PAID, Order.Status.SHIPPED))


def _facts(order: Order) -> OrderFacts:
    return OrderFacts(number=order.display_number, status=order.status, ordered_at=order.ordered_at,
                      tracking_number=order.tracking_number, tracking_url=order.tracking_url, carrier=order.carrier,
                      expected_at=order.expected_at, delivered_at=order.delivered_at)


def latest_for_contact(contact_id: int) -> OrderFacts | None:
    """The contact's most recent counted order; if none counts, the most recent one (a
    cancelled order is still what the customer asks about)."""
    orders = Order.objects.filter(contact_id=contact_id).order_by("-ordered_at", "-pk")
    order = orders.filter(status__in=Order.COUNTED).first() or orders.first()
    return _facts(order) if order else None


def recent_for_contact(contact_id: int, limit: int = 5) -> list[OrderFacts]:
    return [_facts(o) for o in Order.objects.filter(contact_id=contact_id).order_by("-ordered_at", "-pk")[:limit]]


def _line_forms(numbers) -> set[str]:
    """Every E.164 form of the valid numbers given (docs/phone-numbers.md): two sets meet when
    they share a line, whichever form each side stored. Unreadable numbers match nothing."""
    forms: set[str] = set()
    for number in numbers:
        forms.update(equivalent_numbers(number))
    return forms


def _phones_of(contact: Contact) -> set[str]:
    numbers = [parse_phone(contact.phone).e164] if contact.phone else []
    for address in contact.identities.filter(channel_kind=ChannelKind.WHATSAPP).values_list("address", flat=True):
        numbers.append(from_wa_id(address).e164)
    return _line_forms(n for n in numbers if n)


def _order_phone_matches(order: Order, phones: set[str]) -> bool:
    return bool(phones) and bool(_phones_of(order.contact) & phones)


def _order_email_matches(order: Order, email: str) -> bool:
    contact = order.contact
    if contact.email and contact.email.lower() == email:
        return True
    return contact.identities.filter(channel_kind=ChannelKind.EMAIL, address__iexact=email).exists()


def lookup(*, text: str, contact_id: int) -> tuple[OrderFacts | None, str]:
    """Find the order a customer describes in ``text`` ("pedido 1001, maria@x.com").

    Returns (facts, "found") when two facts agree (or the order is already this contact's);
    otherwise (None, why): "nothing" (no number and no e-mail in the text), "need_more" (only
    one fact was given and it cannot be checked against the customer's own phone),
    "no_match" (the facts do not belong together: nothing is revealed, not even whether the
    order exists)."""
    contact = Contact.objects.get(pk=contact_id)
    emails = [e.lower() for e in _EMAIL.findall(text or "")]
    email = emails[0] if emails else ""
    rest = _EMAIL.sub(" ", text or "")
    typed_phones = _line_forms(parse_phone(inbox_services.normalize_phone(p)).e164 for p in _PHONE.findall(rest))
    typed_phones.discard("")
    numbers = [n for n in _NUMBER.findall(_PHONE.sub(" ", rest)) if n]
    channel_phones = _phones_of(contact)
    phones = channel_phones | typed_phones
    if not email and not numbers:
        return None, "nothing"
    candidates = Order.objects.select_related("contact")
    if numbers:
        wanted = Q()
        for number in numbers[:3]:
            wanted |= Q(number__in=[number, f"#{number}"]) | Q(external_id=number)
        for order in candidates.filter(wanted).order_by("-ordered_at")[:10]:
            if (order.contact_id == contact.pk or (email and _order_email_matches(order, email))
                    or _order_phone_matches(order, phones)):
                return _facts(order), "found"
        return None, ("no_match" if email or typed_phones else "need_more")
    # Only an e-mail: enough when the customer writes from a phone that the order also has.
    found = inbox_services.normalize_email(email)
    for order in candidates.filter(Q(contact__email__iexact=found) | Q(contact__identities__channel_kind=ChannelKind.EMAIL,
                                                                       contact__identities__address__iexact=found)
                                   ).distinct().order_by("-ordered_at")[:10]:
        if _order_phone_matches(order, phones):
            return _facts(order), "found"
    return None, "need_more"


def today() -> dt.date:
    return timezone.localdate()
