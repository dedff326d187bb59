"""Contacts and their channel identities: find or create, update, merge."""

from __future__ import annotations

import re
from typing import Any

from django.db import IntegrityError, transaction

from .. import events
from ..models import Contact, ContactIdentity, Conversation
from .errors import ServiceError


def normalize_phone(value: str) -> str:
    digits = re.sub(r"\D", "", value or "")
    return f"+{digits}" if len(digits) >= 7 else ""


def normalize_email(value: str) -> str:
    return (value or "").strip().lower()


@transaction.atomic(savepoint=False)  # inside receive_inbound: no savepoint of its own (2 queries less)
def contact_for_identity(
    *, channel_kind: str, address: str, name: str = "", email: str = "", phone: str = "", locale: str = ""
) -> Contact:
    """Find the contact behind a channel address, creating contact and identity the first time."""
    identity = ContactIdentity.objects.select_related("contact").filter(channel_kind=channel_kind, address=address).first()
    if identity:
        contact = identity.contact
        changed = []
        for field, value in (("name", name), ("email", normalize_email(email)), ("phone", normalize_phone(phone)),
                             ("locale", locale)):
            if value and not getattr(contact, field):
                setattr(contact, field, value)
                changed.append(field)
        if changed:
            contact.save(update_fields=[*changed, "updated_at"])
        return contact
    contact = Contact.objects.create(
        name=name, email=normalize_email(email), phone=normalize_phone(phone), locale=locale
    )
    try:
        with transaction.atomic():
            ContactIdentity.objects.create(contact=contact, channel_kind=channel_kind, address=address)
    except IntegrityError:
        # Another process created the identity at the same moment: use its contact.
        contact.delete()
        return ContactIdentity.objects.select_related("contact").get(channel_kind=channel_kind, address=address).contact
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, **fields: Any) -> Contact:
    allowed = {"name", "email", "phone", "locale", "avatar_url", "attributes", "opted_out"}
    unknown = set(fields) - allowed
    if unknown:
        raise ServiceError(f"Cannot change {', '.join(sorted(unknown))}.")
    if "email" in fields:
        fields["email"] = normalize_email(fields["email"])
    if "phone" in fields:
        fields["phone"] = normalize_phone(fields["phone"]) or fields["phone"]
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
def merge_contacts(*, primary: Contact, duplicate: Contact) -> Contact:
    """Move everything of ``duplicate`` to ``primary`` and delete it. No message is lost:
    conversations (with their messages) and identities change owner."""
    if primary.pk == duplicate.pk:
        raise ServiceError("A contact cannot be merged with itself.")
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


