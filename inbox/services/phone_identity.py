"""Phone numbers on contacts: one contact per person whatever form their number comes in.

``inbox.phones`` reads numbers; this module decides who they belong to:

- a contact's ``phone`` is the canonical E.164 number (or the text as typed when it cannot be
  read, which never joins or merges anything);
- a WhatsApp identity keeps the exact ``wa_id`` WhatsApp gave (that is what sends must use), and
  its contact stores the canonical number;
- a new WhatsApp ``wa_id`` or a shop's order joins the one *verified* contact on the same line
  (any equivalent form, see ``inbox.phones``); several candidates stay apart as duplicate
  suggestions;
- ``heal_phone_duplicates`` merges the contacts that differ only by the form of their number,
  on the next inbound WhatsApp message and from the ``heal_phone_duplicates`` command.

"Verified" means the contact has an identity on a channel other than web chat. A number typed
into the widget proves nothing (anyone can type anyone's number), so a visitor is never joined
to, or merged into, someone else's contact by it: agents see it as a duplicate suggestion and
merge by hand. The same rule as for e-mail addresses in the widget (see docs/widget.md).
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from .. import selectors
from ..models import ChannelKind, Contact, ContactIdentity
from ..phones import from_wa_id, parse_phone, same_line


def default_region(inbox=None) -> str:
    if inbox is not None:
        return inbox.default_phone_region
    return (getattr(settings, "PHONE_DEFAULT_REGION", "") or "BR").upper()


def normalize_phone(value: str, region: str | None = None) -> str:
    """The number to store: canonical E.164, or the text as typed (stripped) when not valid."""
    return parse_phone(value, region or default_region()).stored


def identity_phone(channel_kind: str, address: str) -> str:
    """The canonical number a channel address stands for (WhatsApp ids are phone numbers)."""
    if channel_kind == ChannelKind.WHATSAPP:
        return from_wa_id(address).e164
    return ""


def verified_contacts_on_line(phone: str):
    """The contacts on this line that are known on a channel other than web chat (a visitor's
    typed number proves nothing)."""
    ids = selectors.contact_ids_on_line(phone)
    if not ids:
        return Contact.objects.none()
    verified = (ContactIdentity.objects.filter(contact_id__in=ids).exclude(channel_kind=ChannelKind.WEBCHAT)
                .values_list("contact_id", flat=True))
    return Contact.objects.filter(pk__in=set(verified)).order_by("pk")


def contact_for_phone(phone: str) -> Contact | None:
    """The one verified contact on this line; None when there is none, or several."""
    found = list(verified_contacts_on_line(phone)[:2])
    return found[0] if len(found) == 1 else None


@transaction.atomic
def heal_phone_duplicates(*, contact: Contact, dry_run: bool = False) -> tuple[Contact, list[Contact]]:
    """Merge into the oldest the verified contacts on ``contact``'s line that differ only by the
    form of their number. Returns ``(surviving contact, merged contacts)``; with ``dry_run``
    nothing changes and the list says what would merge.

    Nothing merges when the group is not clearly one person: a contact whose stored number is
    another line (it matched by an identity), or two different e-mail addresses among them.
    Those stay as duplicate suggestions for an agent to decide."""
    from .contacts import merge_contacts  # contacts imports this module

    if getattr(contact, "created_alone_on_line", False):
        return contact, []  # created a moment ago in this transaction, after finding nobody on its line
    phone = contact.phone or next(
        (identity_phone(i.channel_kind, i.address) for i in contact.identities.all()
         if identity_phone(i.channel_kind, i.address)), "")
    if not parse_phone(phone).valid or selectors.contact_ids_on_line(phone) <= {contact.pk}:
        return contact, []  # alone on the line: the common case costs two indexed lookups
    verified = list(verified_contacts_on_line(phone))
    if not any(c.pk == contact.pk for c in verified):
        return contact, []  # an unreadable number, or a widget visitor's typed one: joins nobody
    group = [c for c in verified if c.pk != contact.pk and (not c.phone or same_line(c.phone, phone))]
    if not group:
        return contact, []
    everyone = sorted([contact, *group], key=lambda c: c.pk)
    if len({c.email.lower() for c in everyone if c.email}) > 1:
        return contact, []
    primary, merged = everyone[0], []
    for other in everyone[1:]:
        merged.append(other)
        if not dry_run:
            primary = merge_contacts(primary=primary, duplicate=other)
    if merged and not dry_run:
        canonical = parse_phone(primary.phone or phone).e164 or phone
        if primary.phone != canonical:
            primary.phone = canonical
            primary.save(update_fields=["phone", "updated_at"])
    return primary, merged


def contact_record_wa_id(*, contact: Contact, wa_id: str, sent_to: str) -> Contact:
    """WhatsApp's answer to a send names the customer's ``wa_id`` (``contacts[].wa_id``). When it
    differs from the address we sent to (a number from an order; Brazil's ninth digit), keep it
    as the contact's WhatsApp identity: later replies go to it, and the customer's answer lands
    in the same conversation. An identity another contact owns merges that contact in. The
    usual answer (the address sent to) opens no transaction: after every send, an empty one
    would still take the write lock on SQLite."""
    from .contacts import contact_add_identity  # contacts imports this module

    if not wa_id or wa_id == sent_to or not from_wa_id(wa_id).valid:
        return contact
    with transaction.atomic():
        return contact_add_identity(contact=contact, channel_kind=ChannelKind.WHATSAPP, address=wa_id)
