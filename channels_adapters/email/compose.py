"""Building outbound replies that thread correctly in every mail client."""

from __future__ import annotations

import datetime as dt
import hashlib
import html as html_lib
import re
from collections.abc import Iterable
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from channels_adapters.base import OutboundAttachment

#: References kept in a reply; RFC 5322 suggests keeping the first one (the thread root).
MAX_REFERENCES = 20
_REPLY_PREFIX = re.compile(r"^\s*((re|res|aw|sv|antw|odp|vs)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_MSGID = re.compile(r"<[^<>\s]+>")


def reply_subject(subject: str, default: str = "Your message") -> str:
    """'Re: ' once, whatever prefixes (Re:, RE:, Res:, Re[2]:) the subject already had."""
    base = _REPLY_PREFIX.sub("", subject or "").strip()
    return f"Re: {base or default}"


def message_id_for(local_id: str, domain: str) -> str:
    """A Message-ID derived from our own message id, so a retried send reuses it and the
    receiving side can drop the duplicate; a random one when there is no local id."""
    domain = domain.strip().lower() or "localhost"
    if not local_id:
        return make_msgid(domain=domain)
    safe = re.sub(r"[^A-Za-z0-9.$_-]", "-", str(local_id))[:64].strip(".") or "m"
    digest = hashlib.sha256(f"{local_id}\0{domain}".encode()).hexdigest()[:16]
    return f"<{safe}.{digest}@{domain}>"


def reference_chain(references: Iterable[str] | str, in_reply_to: str = "") -> list[str]:
    """References for a reply: the parent's chain plus the parent, without duplicates,
    capped at ``MAX_REFERENCES`` by keeping the root and the most recent ones."""
    if isinstance(references, str):
        references = _MSGID.findall(references)
    chain: list[str] = []
    for mid in [*references, *(_MSGID.findall(in_reply_to) if in_reply_to else [])]:
        if mid not in chain:
            chain.append(mid)
    if len(chain) > MAX_REFERENCES:
        chain = [chain[0], *chain[-(MAX_REFERENCES - 1):]]
    return chain


def text_to_html(text: str) -> str:
    escaped = html_lib.escape(text or "").replace("\r\n", "\n").replace("\n", "<br>\n")
    return f'<!DOCTYPE html>\n<html><body><div style="white-space: normal">{escaped}</div></body></html>\n'


def _address(display_name: str, address: str) -> Address:
    local, _, domain = address.strip().partition("@")
    if not local or not domain:
        raise ValueError(f"not an e-mail address: {address!r}")
    return Address(display_name=display_name, username=local, domain=domain)


def build_reply(
    *,
    from_address: str,
    to: str,
    text: str,
    display_name: str = "",
    sender_name: str = "",
    reply_to: str = "",
    subject: str = "",
    in_reply_to: str = "",
    references: Iterable[str] | str = (),
    local_id: str = "",
    automated: bool = False,
    attachments: Iterable[OutboundAttachment] = (),
    cc: Iterable[str] = (),
    date: dt.datetime | None = None,
) -> EmailMessage:
    """One reply ready for SMTP: plain and HTML bodies, threading headers, attachments.

    ``from_address`` is the inbox address; the From name reads "Ana via Shop Support" when
    ``sender_name`` is set. ``reply_to`` is usually the plus-address that leads answers back
    to the same conversation. ``automated`` marks bot and survey messages
    (``Auto-Submitted: auto-replied``) so the customer's own auto-responders stay quiet.
    """
    if not to or "@" not in to:
        raise ValueError(f"recipient is not an e-mail address: {to!r}")
    domain = from_address.partition("@")[2]
    if sender_name and display_name:
        name = f"{sender_name} via {display_name}"
    else:
        name = sender_name or display_name
    msg = EmailMessage()
    msg["From"] = _address(name, from_address)
    msg["To"] = to
    cc = [c for c in cc if c]
    if cc:
        msg["Cc"] = ", ".join(cc)
    if reply_to:
        msg["Reply-To"] = _address(display_name, reply_to)
    msg["Subject"] = reply_subject(subject) if (in_reply_to or references) else (subject or "Your message")
    msg["Date"] = format_datetime(date or dt.datetime.now(dt.timezone.utc))
    msg["Message-ID"] = message_id_for(local_id, domain)
    parent = (_MSGID.findall(in_reply_to) or [""])[0] if in_reply_to else ""
    chain = reference_chain(references, parent)
    if parent:
        msg["In-Reply-To"] = parent
    elif chain:
        msg["In-Reply-To"] = chain[-1]
    if chain:
        msg["References"] = " ".join(chain)
    if automated:
        msg["Auto-Submitted"] = "auto-replied"
        # asks Exchange not to answer with its own out-of-office
        msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(text or "")
    msg.add_alternative(text_to_html(text), subtype="html")
    for attachment in attachments:
        if not attachment.data:
            raise ValueError(f"attachment {attachment.filename!r} has no data; download it first")
        maintype, _, subtype = (attachment.content_type or "application/octet-stream").partition("/")
        msg.add_attachment(attachment.data, maintype=maintype, subtype=subtype or "octet-stream",
                           filename=attachment.filename or "attachment")
    return msg
