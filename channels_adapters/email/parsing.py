"""Reading an e-mail into plain data, tolerant of everything real mailboxes contain.

``parse_email`` never raises on bad input: what could be read is returned, and every problem
(malformed MIME, undecodable charset, unreadable header, oversized attachment) is listed in
``ParsedEmail.defects`` or ``ParsedEmail.notes`` so nothing is lost silently.

The work is bounded before anything is parsed (``limits.EmailLimits``: MIME parts, nesting,
recipients, HTML size and depth); a mail that was cut keeps its untouched original as an
``original-message.eml`` attachment.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

import nh3

from channels_adapters.base import InboundAttachment, InboundMessage

from .limits import DEFAULT_LIMITS, EmailLimits, limit_html, limit_raw
from .quotes import html_to_text, strip_quotes_html, strip_quotes_text

DEFAULT_MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
ORIGINAL_FILENAME = "original-message.eml"
_UNSAFE_FILENAME_CHARS = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff\u202a-\u202e\u2066-\u2069\ufeff]")

_MSGID = re.compile(r"<[^<>\s]+>")
# cid: keeps inline images resolvable once the integrator stores them by Content-ID.
_URL_SCHEMES = {"http", "https", "mailto", "cid", "tel"}
# class/id/type survive so the UI can fold quoted history (gmail_quote, type=cite, ...)
_ATTRIBUTES = {tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}
for _tag in ("div", "blockquote", "span", "p", "hr", "pre"):
    _ATTRIBUTES.setdefault(_tag, set()).update({"class", "id", "dir"})
_ATTRIBUTES["blockquote"].add("type")


@dataclasses.dataclass
class EmailAttachment:
    filename: str
    content_type: str
    data: bytes | None  # None when the part was too large (see ``too_large``) or unreadable
    size: int
    content_id: str = ""  # without the angle brackets
    inline: bool = False
    too_large: bool = False


@dataclasses.dataclass
class ParsedEmail:
    message_id: str = ""
    in_reply_to: str = ""
    references: list[str] = dataclasses.field(default_factory=list)
    from_name: str = ""
    from_address: str = ""
    to: list[str] = dataclasses.field(default_factory=list)
    cc: list[str] = dataclasses.field(default_factory=list)
    delivered_to: list[str] = dataclasses.field(default_factory=list)
    subject: str = ""
    date: dt.datetime | None = None
    text: str = ""  # the whole body as text, quotes included
    html: str = ""  # sanitized
    new_text: str = ""  # only what the sender newly wrote
    attachments: list[EmailAttachment] = dataclasses.field(default_factory=list)
    defects: list[str] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)  # e.g. oversized attachments
    limits: list[str] = dataclasses.field(default_factory=list)  # work bounds that cut something
    raw_sha256: str = ""
    message: EmailMessage | None = dataclasses.field(default=None, repr=False)

    @property
    def recipients(self) -> list[str]:
        seen: list[str] = []
        for address in [*self.to, *self.cc, *self.delivered_to]:
            if address and address not in seen:
                seen.append(address)
        return seen


# --- plus addressing ----------------------------------------------------------------------------


def reply_address(base_address: str, token: str) -> str:
    """``support@shop.com`` + ``abc123`` -> ``support+abc123@shop.com``."""
    local, sep, domain = base_address.strip().partition("@")
    if not sep or not local or not domain:
        raise ValueError(f"not an e-mail address: {base_address!r}")
    if not token or not re.fullmatch(r"[A-Za-z0-9._=-]+", token):
        raise ValueError(f"a plus-address token must be letters, digits, . _ = -: {token!r}")
    local = local.split("+", 1)[0]
    return f"{local}+{token}@{domain}"


def token_from_addresses(addresses, base_address: str) -> str:
    """The token of the first address that is ``base_address`` with a ``+token``, or ''.

    Local parts compare case-sensitively as RFC 5321 says, domains case-insensitively.
    """
    local, _, domain = base_address.strip().partition("@")
    local = local.split("+", 1)[0]
    for address in addresses or ():
        _, addr = parseaddr(address) if "<" in address else ("", address.strip())
        a_local, sep, a_domain = addr.partition("@")
        if not sep or a_domain.lower() != domain.lower():
            continue
        base, plus, token = a_local.partition("+")
        if plus and token and base.lower() == local.lower():
            return token
    return ""


# --- helpers ------------------------------------------------------------------------------------


def sanitize_html(html: str) -> str:
    """HTML safe to show to an agent: scripts, handlers and unknown schemes removed."""
    if not html:
        return ""
    try:
        return nh3.clean(html, url_schemes=_URL_SCHEMES, attributes=_ATTRIBUTES)
    except Exception:
        return ""


def _decode_bytes(data: bytes, charset: str | None) -> tuple[str, str | None]:
    """Text from bytes, and a defect description when the declared charset did not work."""
    charset = (charset or "").strip().strip('"').lower() or "us-ascii"
    # Mail labelled Latin-1 is nearly always Windows-1252 (smart quotes, euro sign), as
    # browsers assume too; cp1252 is a superset for every printable Latin-1 character.
    if charset in {"iso-8859-1", "latin-1", "latin1", "us-ascii", "ascii"}:
        candidates = ["cp1252", "latin-1"] if charset != "us-ascii" else ["ascii", "utf-8", "cp1252"]
    else:
        candidates = [charset]
    for candidate in candidates:
        try:
            return data.decode(candidate), None
        except (LookupError, UnicodeDecodeError):
            continue
    try:
        return data.decode("utf-8"), f"charset {charset!r} did not decode; read as UTF-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), (
            f"charset {charset!r} did not decode; read as Windows-1252 with replacements"
        )


def _part_text(part: Message, defects: list[str]) -> str:
    payload = part.get_payload(decode=True)
    if payload is None:
        raw = part.get_payload()
        return raw if isinstance(raw, str) else ""
    text, problem = _decode_bytes(payload, part.get_content_charset())
    if problem:
        defects.append(problem)
    return text


def _header(msg: Message, name: str, defects: list[str]) -> str:
    try:
        value = msg.get(name)
    except Exception as exc:  # a header the policy cannot parse
        defects.append(f"unreadable {name} header: {exc}")
        raw = msg.get_all(name, failobj=[]) if hasattr(msg, "get_all") else []
        value = raw[0] if raw else ""
    if value is None:
        return ""
    return re.sub(r"\s+", " ", str(value)).strip()


def _addresses(msg: Message, name: str, defects: list[str]) -> list[tuple[str, str]]:
    try:
        values = msg.get_all(name, failobj=[])
    except Exception as exc:
        defects.append(f"unreadable {name} header: {exc}")
        return []
    result: list[tuple[str, str]] = []
    for value in values:
        header = value
        addresses = getattr(header, "addresses", None)
        if addresses is not None:
            for a in addresses:
                if a.addr_spec and a.addr_spec != "<>":
                    result.append((a.display_name, a.addr_spec.lower()))
        if addresses is None or not addresses:
            for display, addr in getaddresses([str(header)]):
                if addr and "@" in addr:
                    result.append((display, addr.lower()))
    return result


def _date(msg: Message, defects: list[str]) -> dt.datetime | None:
    value = _header(msg, "Date", defects)
    if not value:
        return None
    try:
        date = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        defects.append(f"unreadable Date header: {value!r}")
        return None
    if date.tzinfo is None:
        date = date.replace(tzinfo=dt.timezone.utc)
    return date


def _defect_text(defect) -> str:
    name = type(defect).__name__
    detail = str(defect)
    return f"{name}: {detail}" if detail and detail != name else name


def safe_filename(name: str, *, max_length: int = 200) -> str:
    """The sender's file name as something safe to show and offer for download: no directory
    part (``../../x.pdf`` -> ``x.pdf``), no control, NUL, surrogate or bidi-override characters,
    no leading dots, at most ``max_length`` characters with the extension kept. May be ''.
    Storage never uses it as a path (``inbox.models.attachment_path`` generates one)."""
    name = _UNSAFE_FILENAME_CHARS.sub("", str(name or ""))
    name = re.split(r"[/\\]", name)[-1]
    name = re.sub(r"\s+", " ", name).strip().lstrip(".").strip()
    if len(name) > max_length:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 12:
            name = stem[: max_length - len(ext) - 1].rstrip() + "." + ext
        else:
            name = name[:max_length]
    return name


def _filename(part: Message) -> str:
    try:
        return safe_filename(part.get_filename() or "")
    except Exception:
        return ""


def _content_id(part: Message) -> str:
    value = part.get("Content-ID")
    return str(value).strip().strip("<>") if value else ""


def _extension(content_type: str) -> str:
    import mimetypes

    return mimetypes.guess_extension(content_type) or ".bin"


def _human_size(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return str(size)


# --- parsing ------------------------------------------------------------------------------------


def parse_email(raw: bytes, *, max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES,
                limits: EmailLimits = DEFAULT_LIMITS) -> ParsedEmail:
    """Read one RFC 5322 message. Never raises; see ``ParsedEmail.defects``."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", errors="surrogateescape")
    parsed = ParsedEmail(raw_sha256=hashlib.sha256(raw).hexdigest())
    original = raw
    raw, parsed.limits = limit_raw(raw, limits)
    try:
        _parse_into(parsed, raw, max_attachment_bytes, limits)
    except Exception as exc:  # the parser is lenient; this is a last resort
        parsed.defects.append(f"message could not be parsed: {type(exc).__name__}: {exc}")
        parsed.message = None
        text = raw[: limits.max_text_chars].decode("utf-8", errors="replace")
        parsed.text = parsed.new_text = text
        parsed.html = ""
        parsed.limits.append("the message could not be parsed: it is shown as raw text")
    if parsed.limits:
        _keep_original(parsed, original, max_attachment_bytes)
    return parsed


def _keep_original(parsed: ParsedEmail, original: bytes, max_attachment_bytes: int) -> None:
    too_large = len(original) > max_attachment_bytes
    parsed.attachments.append(EmailAttachment(
        filename=ORIGINAL_FILENAME, content_type="message/rfc822", data=None if too_large else original,
        size=len(original), too_large=too_large,
    ))
    where = (f"The original is attached as {ORIGINAL_FILENAME}." if not too_large
             else "The original is too large to attach; it stays in the mailbox or the stored raw event.")
    parsed.notes.append("[This e-mail was only partly read (" + "; ".join(parsed.limits) + "). " + where + "]")
    parsed.new_text = "\n\n".join([parsed.new_text, parsed.notes[-1]]).strip()


def _parse_into(parsed: ParsedEmail, raw: bytes, max_attachment_bytes: int, limits: EmailLimits) -> None:
    defects = parsed.defects
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    parsed.message = msg

    parsed.message_id = (_MSGID.findall(_header(msg, "Message-ID", defects)) or [""])[0]
    parsed.in_reply_to = (_MSGID.findall(_header(msg, "In-Reply-To", defects)) or [""])[0]
    parsed.references = _MSGID.findall(_header(msg, "References", defects))
    senders = _addresses(msg, "From", defects) or _addresses(msg, "Sender", defects)
    if senders:
        parsed.from_name, parsed.from_address = senders[0]
    else:
        defects.append("no readable From address")
    parsed.to = [a for _, a in _addresses(msg, "To", defects)]
    parsed.cc = [a for _, a in _addresses(msg, "Cc", defects)]
    parsed.delivered_to = [a for _, a in _addresses(msg, "Delivered-To", defects)]
    parsed.delivered_to += [a for _, a in _addresses(msg, "X-Original-To", defects)]
    parsed.subject = _header(msg, "Subject", defects)
    parsed.date = _date(msg, defects)

    plain_parts: list[str] = []
    html_parts: list[str] = []
    _walk(msg, parsed, plain_parts, html_parts, max_attachment_bytes, in_alternative=False)

    for part in msg.walk() if msg.is_multipart() else [msg]:
        for defect in getattr(part, "defects", []):
            defects.append(_defect_text(defect))

    # text is always derived from the original HTML (the extractor drops scripts and styles and
    # outputs plain text), so sanitizing cannot remove the markers quote stripping relies on
    html, html_limits = limit_html("\n".join(html_parts), limits)
    parsed.limits.extend(html_limits)
    parsed.html = sanitize_html(html)
    plain = "\n\n".join(p.strip("\n") for p in plain_parts if p.strip())
    if len(plain) > limits.max_text_chars:
        plain = plain[: limits.max_text_chars]
        parsed.limits.append(f"the text body is over {limits.max_text_chars} characters: only the beginning is shown")
    parsed.text = plain.strip() or html_to_text(html)

    if plain.strip():
        parsed.new_text = strip_quotes_text(plain)
        if parsed.html and parsed.new_text == plain.strip():
            # the plain rules found no history; the HTML may carry a client's marker
            html_new, found = strip_quotes_html(html)
            if found and html_new:
                parsed.new_text = html_new
    elif html.strip():
        parsed.new_text = strip_quotes_html(html)[0] or parsed.text
    if parsed.notes:
        parsed.new_text = "\n\n".join([parsed.new_text, *parsed.notes]).strip()


def _walk(part, parsed, plain_parts, html_parts, limit, *, in_alternative):
    """Collect body text and attachments. In multipart/alternative only the best plain and
    best HTML versions are bodies; the rest of a mail's leaves are attachments."""
    content_type = part.get_content_type()
    if part.is_multipart() and content_type != "message/rfc822":
        children = part.get_payload()
        if not isinstance(children, list):
            parsed.defects.append(f"{content_type} without readable parts")
            return
        if content_type == "multipart/alternative":
            # later alternatives are the richer ones (RFC 2046): keep the last of each kind
            bodies: dict[str, Message] = {}
            for child in children:
                child_type = child.get_content_type()
                if child_type in ("text/plain", "text/html") and not _is_attachment(child):
                    bodies[child_type] = child
                elif child.is_multipart():
                    _walk(child, parsed, plain_parts, html_parts, limit, in_alternative=True)
                else:
                    _add_attachment(child, parsed, limit)
            if "text/plain" in bodies:
                plain_parts.append(_part_text(bodies["text/plain"], parsed.defects))
            if "text/html" in bodies:
                html_parts.append(_part_text(bodies["text/html"], parsed.defects))
            return
        for child in children:
            _walk(child, parsed, plain_parts, html_parts, limit, in_alternative=in_alternative)
        return
    if content_type in ("text/plain", "text/html") and not _is_attachment(part):
        if in_alternative and content_type == "text/plain" and plain_parts:
            return
        target = plain_parts if content_type == "text/plain" else html_parts
        target.append(_part_text(part, parsed.defects))
        return
    _add_attachment(part, parsed, limit)


def _is_attachment(part: Message) -> bool:
    disposition = (part.get_content_disposition() or "").lower()
    return disposition == "attachment" or (disposition != "inline" and bool(_filename(part)))


def _add_attachment(part: Message, parsed: ParsedEmail, limit: int) -> None:
    content_type = part.get_content_type()
    if content_type == "message/rfc822":
        inner = part.get_payload()
        inner = inner[0] if isinstance(inner, list) and inner else inner
        try:
            data = inner.as_bytes() if isinstance(inner, Message) else b""
        except Exception as exc:
            parsed.defects.append(f"attached message could not be read: {exc}")
            data = b""
        subject = str(inner.get("Subject", "")) if isinstance(inner, Message) else ""
        filename = _filename(part) or safe_filename((re.sub(r"[^\w .-]", "_", subject)[:60] or "message") + ".eml")
    else:
        try:
            data = part.get_payload(decode=True)
        except Exception as exc:
            parsed.defects.append(f"attachment could not be decoded: {exc}")
            data = None
        if data is None:
            payload = part.get_payload()
            data = payload.encode("utf-8", errors="replace") if isinstance(payload, str) else b""
        filename = _filename(part)
    cid = _content_id(part)
    inline = (part.get_content_disposition() or "") == "inline" or (bool(cid) and not _filename(part))
    if not filename:
        filename = f"{'inline' if inline else 'attachment'}-{len(parsed.attachments) + 1}{_extension(content_type)}"
    size = len(data)
    attachment = EmailAttachment(
        filename=filename, content_type=content_type, data=data, size=size,
        content_id=cid, inline=inline,
    )
    if size > limit:
        attachment.data = None
        attachment.too_large = True
        parsed.notes.append(
            f"[Attachment {filename!r} ({_human_size(size)}) was not imported: larger than "
            f"the {_human_size(limit)} limit. It is still in the original e-mail.]"
        )
    parsed.attachments.append(attachment)


def _kind(content_type: str) -> str:
    main = content_type.split("/", 1)[0]
    return {"image": "image", "audio": "audio", "video": "video"}.get(main, "file")


def to_inbound(
    parsed: ParsedEmail,
    *,
    base_address: str = "",
    own_addresses=(),
) -> InboundMessage:
    """The normalized message for ``inbox.services``. ``base_address`` is the inbox address
    whose ``+token`` identifies a conversation; ``own_addresses`` feed the loop check."""
    from .loops import automation_reasons

    reasons = automation_reasons(parsed, own_addresses=own_addresses or ([base_address] if base_address else []))
    token = token_from_addresses(parsed.recipients, base_address) if base_address else ""
    attachments = [
        InboundAttachment(
            kind=_kind(a.content_type), content_type=a.content_type, filename=a.filename,
            data=a.data, size=a.size, content_id=a.content_id,
        )
        for a in parsed.attachments
        if not a.too_large
    ]
    return InboundMessage(
        provider_message_id=parsed.message_id or f"<sha256.{parsed.raw_sha256}@no-message-id>",
        sender_address=parsed.from_address,
        sender_name=parsed.from_name,
        text=parsed.new_text,
        html=parsed.html,
        attachments=attachments,
        sent_at=parsed.date,
        reply_to_provider_id=parsed.in_reply_to,
        contact_email=parsed.from_address,
        automated=bool(reasons),
        unsupported=not (parsed.text or parsed.attachments or parsed.notes),
        metadata={
            "subject": parsed.subject,
            "message_id": parsed.message_id,
            "in_reply_to": parsed.in_reply_to,
            "references": list(parsed.references),
            "full_text": parsed.text,
            "full_html": parsed.html,
            "to": list(parsed.to),
            "cc": list(parsed.cc),
            "recipients": parsed.recipients,
            "plus_token": token,
            "automation_reasons": reasons,
            "defects": list(parsed.defects),
            "limits": list(parsed.limits),
            "oversized_attachments": [
                {"filename": a.filename, "content_type": a.content_type, "size": a.size}
                for a in parsed.attachments if a.too_large
            ],
        },
    )
