"""Contacts and their channel identities: find or create, update, merge. Phone numbers are
stored canonical and matched by line (see ``phone_identity``)."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from .. import events, selectors
from ..models import Contact, ContactIdentity, Conversation
from ..selectors import merge_refusal
from .errors import MergeRefused, ServiceError
from .phone_identity import contact_for_phone, identity_phone, normalize_phone


def normalize_email(value: str) -> str:
    return (value or "").strip().lower()


def _fill_empty(contact: Contact, **values: str) -> Contact:
    changed = [field for field, value in values.items() if value and not getattr(contact, field)]
    for field in changed:
        setattr(contact, field, values[field])
    if changed:
        contact.save(update_fields=[*changed, "updated_at"])
    return contact


@transaction.atomic(savepoint=False)  # inside receive_inbound: no savepoint of its own (2 queries less)
def contact_for_identity(
    *, channel_kind: str, address: str, name: str = "", email: str = "", phone: str = "", locale: str = "",
    phone_region: str | None = None,
) -> Contact:
    """Find the contact behind a channel address, creating contact and identity the first time.

    A WhatsApp id is a phone number: the contact stores its canonical form, and a new ``wa_id``
    joins the one verified contact already on that line (an order's customer, the same person's
    other ``wa_id`` form) instead of starting a duplicate. ``phone_region`` reads a typed
    ``phone`` without country code (default: ``PHONE_DEFAULT_REGION``)."""
    line = identity_phone(channel_kind, address)
    values = {"name": name, "email": normalize_email(email),
              "phone": line or (normalize_phone(phone, phone_region) if phone else ""), "locale": locale}
    identity = ContactIdentity.objects.select_related("contact").filter(channel_kind=channel_kind, address=address).first()
    if identity:
        return _fill_empty(identity.contact, **values)
    # Nobody on the line (the common first message): the contact created below needs no
    # healing (``heal_phone_duplicates`` reads ``created_alone_on_line``) and has no conversation.
    alone = bool(line) and not selectors.contact_ids_on_line(line)
    existing = contact_for_phone(line) if line and not alone else None
    if existing is not None:
        try:
            with transaction.atomic():
                ContactIdentity.objects.create(contact=existing, channel_kind=channel_kind, address=address)
        except IntegrityError:
            return ContactIdentity.objects.select_related("contact").get(channel_kind=channel_kind, address=address).contact
        return _fill_empty(existing, **values)
    contact = Contact.objects.create(**values)
    try:
        with transaction.atomic():
            ContactIdentity.objects.create(contact=contact, channel_kind=channel_kind, address=address)
    except IntegrityError:
        # Another process created the identity at the same moment: use its contact.
        contact.delete()
        return ContactIdentity.objects.select_related("contact").get(channel_kind=channel_kind, address=address).contact
    contact.just_created = True
    contact.created_alone_on_line = alone
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, phone_region: str | None = None, **fields: Any) -> Contact:
    allowed = {"name", "email", "phone", "locale", "avatar_url", "attributes", "opted_out"}
    unknown = set(fields) - allowed
    if unknown:
        raise ServiceError(_("Cannot change %(fields)s.") % {"fields": ", ".join(sorted(unknown))})
    if "email" in fields:
        fields["email"] = normalize_email(fields["email"])
    if "phone" in fields:
        # Canonical E.164 when it can be read, else kept as typed (and never matched on).
        fields["phone"] = normalize_phone(fields["phone"], phone_region) if fields["phone"] else ""
    for field, value in fields.items():
        setattr(contact, field, value)
    contact.save()
    return contact


@transaction.atomic
def contact_add_identity(*, contact: Contact, channel_kind: str, address: str) -> Contact:
    """Attach an address to a contact; if another contact owns it, merge that one in."""
    existing = ContactIdentity.objects.select_related("contact").filter(channel_kind=channel_kind, address=address).first()
    if existing is None:
        ContactIdentity.objects.create(contact=contact, channel_kind=channel_kind, address=address)
        return contact
    if existing.contact_id == contact.pk:
        return contact
    return merge_contacts(primary=existing.contact, duplicate=contact)


@transaction.atomic
def merge_contacts(*, primary: Contact, duplicate: Contact, actor=None) -> Contact:
    """Move everything of ``duplicate`` to ``primary`` and delete it. No message is lost:
    conversations (with their messages) and identities change owner.

    ``actor`` is the person asking (an agent's merge from the panel): then the merge must be
    one they may make (``selectors.merge_refusal``: never an unverified web visitor, only
    contacts wholly within their inboxes unless they are an admin), else ``MergeRefused``.
    Without it the caller is the system (widget identity verification, the admin's action)."""
    if primary.pk == duplicate.pk:
        raise ServiceError(_("A contact cannot be merged with itself."))
    if actor is not None:
        refusal = merge_refusal(user=actor, primary=primary, duplicate=duplicate)
        if refusal:
            raise MergeRefused(refusal)
    primary = Contact.objects.select_for_update().get(pk=primary.pk)
    duplicate = Contact.objects.select_for_update().get(pk=duplicate.pk)
    ContactIdentity.objects.filter(contact=duplicate).update(contact=primary)
    Conversation.objects.filter(contact=duplicate).update(contact=primary)
    for relation in Contact._meta.related_objects:
        # Rows of other apps (orders, surveys) that point at the contact follow it too.
        if relation.related_model in (ContactIdentity, Conversation) or not relation.one_to_many:
            continue
        relation.related_model._base_manager.filter(**{relation.field.name: duplicate}).update(
            **{relation.field.name: primary}
        )
    for field in ("name", "email", "phone", "locale", "avatar_url"):
        if not getattr(primary, field) and getattr(duplicate, field):
            setattr(primary, field, getattr(duplicate, field))
    primary.attributes = {**duplicate.attributes, **primary.attributes}
    primary.opted_out = primary.opted_out or duplicate.opted_out
    primary.save()
    duplicate.delete()
    events.send_event_on_commit(["contacts"], "contact.merged", {"primary_id": primary.pk})
    return primary


