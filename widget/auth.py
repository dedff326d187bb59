"""Widget visitors: signed visitor tokens, identity verification, rate limits and the reads
the widget needs (which contact and conversation a visitor is).

A visitor token is ``django.core.signing`` output over ``{"i": inbox public id, "v": visitor
id}`` with its own salt and an expiry (``settings.WIDGET_TOKEN_MAX_AGE``). It only ever names
one visitor of one inbox; every widget endpoint derives the visitor's contact and conversation
from it, never from ids the browser sends. See docs/widget.md.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone

from channels_adapters.webchat import visitor_address

from inbox import hours, services
from inbox.models import ChannelKind, Contact, ContactIdentity, Conversation, Inbox, Message

TOKEN_SALT = "inbox.widget.visitor"

#: (limit, window seconds) per scope; override with ``settings.WIDGET_RATE_LIMITS``.
DEFAULT_RATE_LIMITS: dict[str, tuple[int, int]] = {
    "message-visitor": (20, 60),
    "message-ip": (60, 60),
    "session-ip": (30, 3600),
    "conversation-ip": (20, 3600),
    "upload-visitor": (10, 600),
    "contact-visitor": (10, 600),
    "typing-visitor": (60, 60),
}


class IdentityError(Exception):
    """The shop's identity hash does not match the user id."""


# --- tokens ---------------------------------------------------------------------------------------


def new_visitor_id() -> str:
    return secrets.token_urlsafe(16)


def issue_token(*, inbox: Inbox, visitor_id: str) -> str:
    return signing.dumps({"i": inbox.public_id, "v": visitor_id}, salt=TOKEN_SALT, compress=True)


def read_token(token: str | None, *, inbox: Inbox) -> str | None:
    """The visitor id in a valid, unexpired token for this inbox; None otherwise (forged,
    expired, or made for another inbox)."""
    if not token or not isinstance(token, str) or len(token) > 500:
        return None
    try:
        data = signing.loads(token, salt=TOKEN_SALT, max_age=settings.WIDGET_TOKEN_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("i") != inbox.public_id or not isinstance(data.get("v"), str):
        return None
    return data["v"]


# --- identity verification ------------------------------------------------------------------------


def identity_hash(*, inbox: Inbox, user_id: str) -> str:
    """What the shop's server computes: HMAC-SHA256(inbox.widget_secret, user id), hex."""
    return hmac.new(inbox.widget_secret.encode(), str(user_id).encode(), hashlib.sha256).hexdigest()


def email_hash(*, inbox: Inbox, email: str) -> str:
    """What the shop's server computes to vouch for a customer's address:
    HMAC-SHA256(inbox.widget_secret, "email:" + the address in lower case), hex. The prefix
    keeps a user id that looks like an address from signing that address."""
    message = f"email:{services.normalize_email(email)}"
    return hmac.new(inbox.widget_secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def identity_valid(*, inbox: Inbox, user_id: Any, user_hash: Any) -> bool:
    if not isinstance(user_id, (str, int)) or not isinstance(user_hash, str) or not str(user_id).strip():
        return False
    if len(str(user_id)) > 200:
        return False
    return hmac.compare_digest(identity_hash(inbox=inbox, user_id=str(user_id)), user_hash.strip().lower())


def clean_email(value: Any) -> str:
    """A normalized e-mail address; raises ``ValueError`` with a message for the visitor."""
    email = (value or "").strip() if isinstance(value, str) else ""
    try:
        validate_email(email)
    except ValidationError:
        raise ValueError("Please enter a valid e-mail address.") from None
    return services.normalize_email(email)


def identify_visitor(*, inbox: Inbox, visitor_id: str, user_id: Any, user_hash: Any, name: str = "",
                     email: str = "", email_hash_value: Any = "") -> Contact:
    """Join a visitor to the shop's verified customer (identity ``user:<id>``), so every device
    of that customer shares one contact. An e-mail the shop signed too (``email_hash_value``)
    also joins the contact that owns that address, so the agent sees the person's e-mail and
    WhatsApp history; an unsigned one is only stored, like a typed one (the user id's hash
    does not cover it, and any customer can edit the page).

    Raises ``IdentityError`` when the hash does not match: nothing is joined then.
    """
    if not identity_valid(inbox=inbox, user_id=user_id, user_hash=user_hash):
        raise IdentityError("Identity verification failed: user_hash does not match user_id.")
    contact = services.contact_for_identity(channel_kind=ChannelKind.WEBCHAT, address=visitor_address(visitor_id))
    contact = services.contact_add_identity(contact=contact, channel_kind=ChannelKind.WEBCHAT,
                                            address=f"user:{str(user_id).strip()}")
    clean = ""
    if email:
        clean = clean_email(email)
    if clean and isinstance(email_hash_value, str) and hmac.compare_digest(
            email_hash(inbox=inbox, email=clean), email_hash_value.strip().lower()):
        contact = services.contact_add_identity(contact=contact, channel_kind=ChannelKind.EMAIL, address=clean)
        # Contacts from other channels that only carry the address in their e-mail field
        # (WhatsApp customers who gave it) are the same verified person. Not web visitors:
        # their address was typed, unverified, and joining them would let that browser read
        # this person's chats.
        others = (Contact.objects.filter(email=clean).exclude(pk=contact.pk)
                  .exclude(identities__channel_kind=ChannelKind.WEBCHAT))
        for other in others:
            contact = services.merge_contacts(primary=contact, duplicate=other)
    fields = {}
    if name and isinstance(name, str) and name.strip() and contact.name != name.strip()[:200]:
        fields["name"] = name.strip()[:200]
    if clean and contact.email != clean:
        fields["email"] = clean
    if fields:
        contact = services.contact_update(contact=contact, **fields)
    return contact


def capture_contact_details(*, inbox: Inbox, visitor_id: str, email: str = "", name: str = "",
                            phone: str = "") -> Contact:
    """The visitor typed an e-mail or a phone number (offline form, pre-chat form). Unverified,
    so it is stored on the visitor's own contact and never merges it with anyone else's; a phone
    is read in the inbox's region (``(11) 98765-4321`` in a BR inbox is +5511987654321) and the
    agents see contacts on the same line as possible duplicates."""
    fields: dict[str, str] = {}
    if email:
        fields["email"] = clean_email(email)
    if phone:
        if not isinstance(phone, str) or len(phone.strip()) > 40:
            raise ValueError("The phone number can be at most 40 characters long.")
        fields["phone"] = phone.strip()
    if name:
        if not isinstance(name, str) or len(name.strip()) > 200:
            raise ValueError("The name can be at most 200 characters long.")
        fields["name"] = name.strip()
    if not fields:
        raise ValueError("Please enter your e-mail address.")
    contact = services.contact_for_identity(channel_kind=ChannelKind.WEBCHAT, address=visitor_address(visitor_id))
    return services.contact_update(contact=contact, phone_region=inbox.default_phone_region, **fields)


# --- reads ----------------------------------------------------------------------------------------


def visitor_contact(*, visitor_id: str) -> Contact | None:
    identity = (ContactIdentity.objects.select_related("contact")
                .filter(channel_kind=ChannelKind.WEBCHAT, address=visitor_address(visitor_id)).first())
    return identity.contact if identity else None


def visitor_conversation(*, inbox: Inbox, visitor_id: str) -> Conversation | None:
    """The visitor's current conversation in this inbox: the latest one, resolved or not (a
    resolved one still shows its answer; the next message starts a new one)."""
    contact = visitor_contact(visitor_id=visitor_id)
    if contact is None:
        return None
    return (Conversation.objects.select_related("inbox", "assignee")
            .filter(inbox=inbox, contact=contact).order_by("-last_activity_at", "-pk").first())


def visitor_messages(*, inbox: Inbox, visitor_id: str):
    """Every message the visitor may see: all their conversations in this inbox, no private notes."""
    contact = visitor_contact(visitor_id=visitor_id)
    if contact is None:
        return Message.objects.none()
    return (Message.objects.filter(inbox=inbox, conversation__contact=contact, is_private_note=False)
            .select_related("conversation", "reply_to", "author", "author__agent_profile", "inbox")
            .prefetch_related("attachments")
            .order_by("id"))


def availability(*, inbox: Inbox, now=None) -> dict[str, Any]:
    """Whether someone can answer now, and if not, when the inbox opens next."""
    now = now or timezone.now()
    open_now = hours.is_open(inbox.business_hours, inbox.timezone, now)
    agents = bool(services.online_agent_ids(inbox=inbox))
    next_open = None if open_now else hours.next_opening(inbox.business_hours, inbox.timezone, now)
    return {
        "online": open_now and agents,
        "open_now": open_now,
        "agents_online": agents,
        "next_opening": next_open.isoformat() if next_open else None,
        "message": inbox.out_of_hours_message,
    }


# --- read receipts ----------------------------------------------------------------------------------


def mark_seen(*, inbox: Inbox, visitor_id: str, up_to: Any) -> int:
    """The visitor saw every message up to ``up_to`` (a message id): outbound messages up to it
    become ``read``. Only the visitor's own messages can be named; returns how many changed.

    Goes through ``services.apply_status_update`` with a watermark, like a Messenger read report.
    """
    if isinstance(up_to, bool) or not isinstance(up_to, int):
        return 0
    target = visitor_messages(inbox=inbox, visitor_id=visitor_id).filter(pk=up_to).first()
    if target is None:
        return 0
    from channels_adapters.base import StatusUpdate

    return services.apply_status_update(inbox=inbox, update=StatusUpdate(
        status="read", recipient_address=visitor_address(visitor_id), watermark=target.created_at))


# --- rate limits ----------------------------------------------------------------------------------


def rate_limited(scope: str, key: str) -> bool:
    """Count one hit of ``scope`` for ``key``; True when over the limit.

    The window starts at the first hit and the counter expires with it (cache timeout), so the
    limit does not reset at wall-clock boundaries.
    """
    limits = {**DEFAULT_RATE_LIMITS, **getattr(settings, "WIDGET_RATE_LIMITS", {})}
    limit, window = limits[scope]
    cache_key = f"widget-rl:{scope}:{hashlib.sha256(key.encode()).hexdigest()[:32]}"
    cache.add(cache_key, 0, timeout=window)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, timeout=window)
        count = 1
    return count > limit
