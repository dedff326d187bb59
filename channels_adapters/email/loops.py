"""Mail loop protection and bounce (DSN) reading.

``automation_reasons`` says why a mail must never get an automatic answer (bot, survey,
auto-reply); an empty list means a person probably wrote it. ``parse_bounce`` reads delivery
status notifications, standard (RFC 3464 ``multipart/report``) or the free-text kind some
servers still send, so the integrator can mark the original outbound message failed.
"""

from __future__ import annotations

import dataclasses
import re
from email import policy
from email.message import Message
from email.parser import BytesParser, HeaderParser

_MSGID = re.compile(r"<[^<>\s]+@[^<>\s]+>")
_STATUS = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
_SMTP_CODE = re.compile(r"\b([45]\d\d)[ -]")
_ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
_BOUNCE_SUBJECT = re.compile(
    r"(undeliver|undelivered mail|delivery status notification|delivery failure|mail delivery"
    r"|failure notice|returned mail|delivery has failed|delivery failed|could not be delivered"
    r"|delivery warning|delivery notification|non remis|undeliverable"
    r"|n[ãa]o (foi )?entregue|falha na entrega|no se pudo entregar|error de entrega)",
    re.IGNORECASE,
)
_DAEMON = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|mailerdaemon)@", re.IGNORECASE)
#: Local parts only machines send from: delivery daemons, no-reply senders (Amazon SES/SNS
#: notifications, shop platforms), mail gateways and antivirus scanners.
_MACHINE_LOCAL_PART = re.compile(
    r"^(mailer-?daemon|mail-daemon|postmaster|ndr|bounces?([+=.-].*)?|mdaemon"
    r"|no[-_.]?reply([+=.-].*)?|do[-_.]?not[-_.]?reply|n[aã]o[-_.]?respond[ae]|no[-_.]?responder"
    r"|.*(anti-?virus|virus-?scan|mailscanner|mailsweeper|scanmail|interscan|symantec|smtp_mail_service"
    r"|mail_service|quarantine|spam-?filter).*"
    r"|imss|e500_smtp_mail_service)$",
    re.IGNORECASE,
)
_MACHINE_DOMAIN = re.compile(r"(^|\.)(amazonses\.com|sns\.amazonaws\.com)$", re.IGNORECASE)
#: A From with no address at all, or the null address: "MAILER-DAEMON", "Postmaster <>", "<>".
_NULL_OR_DAEMON_FROM = re.compile(
    r"^\s*(\"?(mailer[- ]?daemon|postmaster|mail delivery (subsystem|system))\"?\s*)?(<\s*>)?\s*$", re.IGNORECASE)
#: Subjects auto-responders put first (en, pt, es, fr, de, nl); anchored so a customer's
#: "Automatic replies are not working" or "Out of office chairs" does not match.
_AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(auto(matic)?[ -]?(reply|replies|response|answer)|autoreply|auto-?responder"
    r"|out of (the )?office(\s+auto-?reply)?|resposta autom[aá]tica|respuesta autom[aá]tica"
    r"|r[ée]ponse automatique|automatische antwort|abwesenheitsnotiz|afwezigheidsmelding"
    r"|ausente|fora do escrit[oó]rio|fuera de la oficina)\s*(:|$|\(|-)",
    re.IGNORECASE,
)
#: What only a delivery report says: an enhanced status code, an SMTP reply with its code, or
#: "could not be delivered to <an e-mail address>".
_DSN_TEXT = re.compile(
    r"(\b[45]\d\d[ -]#?[45]\.\d{1,3}\.\d{1,3}\b|Status:\s*[45]\.\d{1,3}\.\d|#[45]\.\d{1,3}\.\d{1,3}\b"
    r"|(?:^|said:|reason:|\()\s*5\d\d[ -]\S*\s*(user|mailbox|recipient|unknown|rejected|no such)"
    r"|Diagnostic-Code:|Final-Recipient:|Failed Recipient:"
    r"|(could not be delivered|was not delivered|could not deliver message|delivery (has )?failed"
    r"|undeliverable|n[ãa]o p[ôo]de ser entregue|no se pudo entregar)[^@\n]{0,60}\n?[^@\n]{0,60}"
    r"[\w.+-]+@[\w-]+\.[\w.-]+)",
    re.IGNORECASE | re.MULTILINE,
)


def _message(msg) -> Message:
    """Accept an ``EmailMessage``, a ``ParsedEmail`` or raw bytes."""
    if isinstance(msg, (bytes, bytearray)):
        return BytesParser(policy=policy.default).parsebytes(bytes(msg))
    if hasattr(msg, "raw_sha256"):  # a ParsedEmail; its message is None when parsing failed
        return msg.message if msg.message is not None else Message()
    return msg


def _get(msg: Message, name: str) -> str:
    try:
        value = msg.get(name)
    except Exception:
        return ""
    return "" if value is None else str(value).strip()


def _from_address(msg: Message) -> str:
    try:
        header = msg.get("From")
        addresses = getattr(header, "addresses", None) or ()
        if addresses:
            address = addresses[0].addr_spec.lower()
            return address if "@" in address else ""
    except Exception:
        pass
    found = _ADDRESS.findall(_get(msg, "From"))
    return found[0].lower() if found else ""


def automation_reasons(msg, *, own_addresses=()) -> list[str]:
    """Why this mail looks machine-sent; empty when it looks written by a person.

    ``own_addresses`` are the inbox's addresses: a mail from one of them is our own echo.
    Plus-address variants (``support+x@``) count as ours too.
    """
    msg = _message(msg)
    reasons: list[str] = []
    auto_submitted = _get(msg, "Auto-Submitted").lower()
    if auto_submitted and auto_submitted.split(";")[0].strip() != "no":
        reasons.append(f"Auto-Submitted: {auto_submitted}")
    precedence = _get(msg, "Precedence").lower()
    if precedence in {"bulk", "junk", "list", "auto_reply"}:
        reasons.append(f"Precedence: {precedence}")
    if _get(msg, "List-Id"):
        reasons.append("List-Id present")
    elif _get(msg, "List-Unsubscribe"):
        reasons.append("List-Unsubscribe present")
    if _get(msg, "X-Auto-Response-Suppress"):
        reasons.append(f"X-Auto-Response-Suppress: {_get(msg, 'X-Auto-Response-Suppress')}")
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder"):
        if _get(msg, name):
            reasons.append(f"{name}: {_get(msg, name)}")
    if msg.get("Return-Path") is not None and _get(msg, "Return-Path").replace(" ", "") in {"<>", ""}:
        reasons.append("empty Return-Path")
    sender = _from_address(msg)
    local, _, domain = sender.partition("@")
    if sender and _DAEMON.match(sender):
        reasons.append(f"from {sender}")
    elif sender and (_MACHINE_LOCAL_PART.match(local) or _MACHINE_DOMAIN.search(domain)):
        reasons.append(f"machine sender {sender}")
    elif not sender and _NULL_OR_DAEMON_FROM.match(_get(msg, "From")):
        reasons.append(f"null or daemon sender {_get(msg, 'From') or '(none)'!r}")
    subject = _get(msg, "Subject")
    if _AUTO_REPLY_SUBJECT.match(re.sub(r"^\s*((re|fw|fwd|enc|rv|aw|wg)\s*:\s*)+", "", subject, flags=re.I)):
        reasons.append(f"auto-reply subject {subject[:60]!r}")
    elif _BOUNCE_SUBJECT.search(subject) and _DSN_TEXT.search(_all_text(msg)[:20_000]):
        reasons.append(f"bounce subject {subject[:60]!r} with a delivery report text")
    if msg.get_content_type() == "multipart/report":
        reasons.append("delivery report")
    own = {_normalize(a) for a in own_addresses if a}
    if sender and _normalize(sender) in own:
        reasons.append(f"from our own address {sender}")
    return reasons


def _normalize(address: str) -> str:
    local, _, domain = address.strip().lower().partition("@")
    return f"{local.split('+', 1)[0]}@{domain}"


# --- bounces ------------------------------------------------------------------------------------


@dataclasses.dataclass
class Bounce:
    original_message_id: str = ""  # the Message-ID of the mail that bounced, if the DSN has it
    recipient: str = ""
    status: str = ""  # enhanced status code, e.g. 5.1.1 (or an SMTP code such as 550)
    reason: str = ""  # human text: the diagnostic the remote server gave
    action: str = "failed"  # failed | delayed

    @property
    def permanent(self) -> bool:
        return self.action == "failed" and not self.status.startswith("4")


def _strip_type(value: str) -> str:
    """'rfc822; ana@x.com' -> 'ana@x.com'; 'smtp; 550 ...' -> '550 ...'."""
    return value.split(";", 1)[1].strip() if ";" in value else value.strip()


def _original_message_id(msg: Message) -> str:
    for part in msg.walk():
        content_type = part.get_content_type()
        if content_type == "message/rfc822":
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else payload
            if isinstance(inner, Message):
                found = _MSGID.findall(_get(inner, "Message-ID"))
                if found:
                    return found[0]
        elif content_type == "text/rfc822-headers":
            text = _text(part)
            headers = HeaderParser().parsestr(text)
            found = _MSGID.findall(str(headers.get("Message-ID", "")))
            if found:
                return found[0]
    return ""


def _text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if payload is None:
        raw = part.get_payload()
        return raw if isinstance(raw, str) else ""
    return payload.decode(part.get_content_charset() or "utf-8", errors="replace")


def _all_text(msg: Message) -> str:
    chunks = []
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            chunks.append(_text(part))
    return "\n".join(chunks)


def _from_report(msg: Message) -> Bounce | None:
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = part.get_payload()
        if isinstance(blocks, str):  # some parsers leave it as text
            blocks = [HeaderParser().parsestr(b) for b in re.split(r"\n\s*\n", blocks) if b.strip()]
        per_recipient = [b for b in blocks if b.get("Final-Recipient") or b.get("Original-Recipient")]
        # a failed recipient first, a delayed one if nothing failed
        per_recipient.sort(key=lambda b: 0 if str(b.get("Action", "")).strip().lower() == "failed" else 1)
        if not per_recipient:
            continue
        block = per_recipient[0]
        action = str(block.get("Action", "failed")).strip().lower() or "failed"
        if action not in {"failed", "delayed"}:
            return None  # delivered / relayed / expanded: not a failure
        diagnostic = _strip_type(str(block.get("Diagnostic-Code", "")))
        diagnostic = re.sub(r"\s+", " ", diagnostic).strip()
        return Bounce(
            original_message_id=_original_message_id(msg),
            recipient=_strip_type(str(block.get("Final-Recipient") or block.get("Original-Recipient"))),
            status=str(block.get("Status", "")).strip() or _first(_STATUS, diagnostic),
            reason=diagnostic or _human_text(msg),
            action=action,
        )
    return None


def _first(pattern: re.Pattern, text: str) -> str:
    found = pattern.search(text)
    return found.group(1) if found else ""


def _human_text(msg: Message) -> str:
    for part in msg.walk():
        if part.get_content_type() == "text/plain":
            text = re.sub(r"\s+", " ", _text(part)).strip()
            return text[:500]
    return ""


def parse_bounce(msg) -> Bounce | None:
    """The failure a DSN reports, or None when the mail is not a bounce."""
    msg = _message(msg)
    if msg.get_content_type() == "multipart/report":
        bounce = _from_report(msg)
        if bounce is not None or "delivery-status" in str(msg.get_param("report-type", "")).lower():
            return bounce
    sender = _from_address(msg)
    subject = _get(msg, "Subject")
    from_daemon = bool(_DAEMON.match(sender or ""))
    null_sender = msg.get("Return-Path") is not None and _get(msg, "Return-Path").replace(" ", "") in {"<>", ""}
    if not (from_daemon or (null_sender and _BOUNCE_SUBJECT.search(subject))):
        return None
    text = _all_text(msg)
    # the diagnostic is usually the line carrying the SMTP reply
    reason = ""
    for line in text.splitlines():
        if _SMTP_CODE.search(line) or _STATUS.search(line):
            reason = line.strip()
            break
    recipient = ""
    # qmail / Postfix style: "<ana@x.com>:" on a line of its own
    found = re.search(r"^\s*<?([^\s<>@]+@[^\s<>]+?)>?:\s*$", text, re.MULTILINE)
    if found:
        recipient = found.group(1).lower()
    else:
        for address in _ADDRESS.findall(text):
            if not _DAEMON.match(address) and address.lower() != sender:
                recipient = address.lower()
                break
    status = _first(_STATUS, reason or text) or _first(_SMTP_CODE, reason or text)
    original = _original_message_id(msg)
    if not original:
        found = re.search(r"^\s*Message-ID:\s*(<[^<>\s]+>)", text, re.IGNORECASE | re.MULTILINE)
        original = found.group(1) if found else ""
    action = "delayed" if re.search(r"\b(delayed|will retry|still trying)\b", text, re.I) and not status.startswith("5") else "failed"
    return Bounce(original_message_id=original, recipient=recipient, status=status,
                  reason=reason or _human_text(msg), action=action)
