"""Bounds on the work one e-mail can cause, applied to the raw bytes *before* parsing.

Python's ``email`` parser, the address-header parser, ``nh3`` and ``HTMLParser`` all take
time that grows with the number of MIME parts, addresses, tags and nesting levels: a crafted
mail of under 1 MB could keep a worker busy for a minute. Each cap below keeps the first part
of what it bounds, notes what was cut (``ParsedEmail.limits``), and ``parse_email`` then keeps
the untouched original as an ``original-message.eml`` attachment, so nothing is lost.

Defaults suit real support mail (a few parts, a handful of recipients, HTML under 100 KB);
an inbox can change any of them with the same key in its ``channel_config``
(see docs/channels.md, "Limits").
"""

from __future__ import annotations

import dataclasses
import re


@dataclasses.dataclass(frozen=True)
class EmailLimits:
    max_mime_parts: int = 200  # body parts (boundary delimiters) read; later ones are cut
    max_multipart_boundaries: int = 25  # distinct multipart containers (nesting and siblings)
    max_nested_messages: int = 10  # message/rfc822 parts (forwarded mails inside mails)
    max_recipients: int = 200  # addresses read per address header (To, Cc, From, ...)
    max_html_bytes: int = 200_000  # HTML fed to the sanitizer and text extractor
    max_html_depth: int = 100  # nesting of HTML elements; deeper tags are dropped, text kept
    max_html_tags: int = 8_000  # HTML tags kept; later tags are dropped, text kept
    max_header_fields: int = 1_000  # top-level header fields read
    max_text_chars: int = 200_000  # plain-text body characters kept

    @classmethod
    def from_config(cls, config) -> "EmailLimits":
        values = {}
        for field in dataclasses.fields(cls):
            value = (config or {}).get(field.name)
            if value not in (None, ""):
                try:
                    values[field.name] = max(1, int(value))
                except (TypeError, ValueError):
                    pass  # a typo in the config must not stop mail: keep the default
        return cls(**values)


DEFAULT_LIMITS = EmailLimits()

_BOUNDARY_PARAM = re.compile(rb'boundary\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))', re.IGNORECASE)
_DELIMITER_LINE = re.compile(rb"^--([^\r\n]{1,204})\r?$", re.MULTILINE)
_RFC822_PART = re.compile(rb"^Content-Type:[ \t]*message/rfc822", re.IGNORECASE | re.MULTILINE)
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_ADDRESS_HEADER = re.compile(
    rb"^(To|Cc|Bcc|From|Sender|Reply-To|Delivered-To|X-Original-To|Resent-To|Resent-Cc|Resent-From)"
    rb"[ \t]*:", re.IGNORECASE)


def limit_raw(raw: bytes, limits: EmailLimits = DEFAULT_LIMITS) -> tuple[bytes, list[str]]:
    """``raw`` cut to the structural limits, and a sentence for each limit that cut something.

    Linear in the size of ``raw``: a few regular-expression scans, no parsing.
    """
    notes: list[str] = []
    raw = _limit_address_headers(raw, limits, notes)
    cut = len(raw)
    boundaries = {a or b for a, b in _BOUNDARY_PARAM.findall(raw)}
    if boundaries:
        parts = 0
        seen: set[bytes] = set()
        for match in _DELIMITER_LINE.finditer(raw):
            line = match.group(1).rstrip()
            closing = line.endswith(b"--") and line[:-2] in boundaries
            name = line[:-2] if closing else line
            if name not in boundaries:
                continue
            if not closing:
                parts += 1
                seen.add(name)
            if parts > limits.max_mime_parts:
                notes.append(f"more than {limits.max_mime_parts} MIME parts: only the first "
                             f"{limits.max_mime_parts} were read")
                cut = match.start()
                break
            if len(seen) > limits.max_multipart_boundaries:
                notes.append(f"more than {limits.max_multipart_boundaries} nested or sibling multipart "
                             "sections: the rest was not read")
                cut = match.start()
                break
    nested = 0
    for match in _RFC822_PART.finditer(raw, 0, cut):
        nested += 1
        if nested > limits.max_nested_messages:
            notes.append(f"more than {limits.max_nested_messages} attached messages: the rest was not read")
            cut = match.start()
            break
    return raw[:cut], notes


def limit_form(body: bytes, content_type: str, max_fields: int) -> bytes:
    """A multipart/form-data body cut before its ``max_fields + 1``-th field (only the form's
    own boundary counts: a raw mail inside a field has boundaries of its own)."""
    found = _BOUNDARY_PARAM.search(content_type.encode("latin-1", "replace"))
    if not found:
        return body
    delimiter = re.compile(rb"^--" + re.escape(found.group(1) or found.group(2)) + rb"\r?$", re.MULTILINE)
    for count, match in enumerate(delimiter.finditer(body), start=1):
        if count > max_fields:
            return body[: match.start()]
    return body


def _limit_address_headers(raw: bytes, limits: EmailLimits, notes: list[str]) -> bytes:
    """Top-level header block cut to ``max_header_fields`` fields, and address headers cut
    after ``max_recipients`` addresses (counted by '@')."""
    end = _HEADER_END.search(raw)
    head_end = end.start() if end else len(raw)
    head = raw[:head_end]
    too_many_fields = head.count(b"\n") >= limits.max_header_fields
    if head.count(b"@") <= limits.max_recipients and not too_many_fields:
        return raw
    lines = re.split(rb"(\r?\n)", head)
    # regroup into (header text with its folded continuation lines)
    fields: list[bytes] = []
    for i in range(0, len(lines), 2):
        line = lines[i] + (lines[i + 1] if i + 1 < len(lines) else b"")
        if fields and line[:1] in (b" ", b"\t"):
            fields[-1] += line
        else:
            fields.append(line)
    changed = False
    if len(fields) > limits.max_header_fields:
        fields = fields[: limits.max_header_fields]
        if not fields[-1].endswith(b"\n"):
            fields[-1] += b"\r\n"
        notes.append(f"more than {limits.max_header_fields} header fields: only the first "
                     f"{limits.max_header_fields} were read")
        changed = True
    for index, field in enumerate(fields):
        if field.count(b"@") <= limits.max_recipients or not _ADDRESS_HEADER.match(field):
            continue
        position = -1
        for _ in range(limits.max_recipients):
            position = field.index(b"@", position + 1)
        comma = field.find(b",", position)
        if comma == -1:
            continue
        newline = b"\r\n" if field.endswith(b"\r\n") else (b"\n" if field.endswith(b"\n") else b"")
        fields[index] = field[:comma] + newline
        name = field.split(b":", 1)[0].decode("ascii", "replace")
        notes.append(f"the {name} header has more than {limits.max_recipients} addresses: only the first "
                     f"{limits.max_recipients} were read")
        changed = True
    if not changed:
        return raw
    return b"".join(fields).rstrip(b"\r\n") + raw[head_end:]


# --- HTML ---------------------------------------------------------------------------------------

_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]{0,40})\b[^>]*?(/?)>")
#: Elements that are never open (void) or whose end tag may be left out: they do not count as
#: nesting, or ordinary HTML with unclosed <p> and <li> would be cut.
_NOT_NESTING = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr",
    "p", "li", "dt", "dd", "tr", "td", "th", "thead", "tbody", "tfoot", "option", "optgroup",
    "colgroup", "caption", "rb", "rt", "rp", "html", "head", "body",
}


def limit_html(html: str, limits: EmailLimits = DEFAULT_LIMITS) -> tuple[str, list[str]]:
    """``html`` cut to ``max_html_bytes`` (at a tag boundary) with elements nested deeper than
    ``max_html_depth`` removed (their text stays), and a sentence per limit applied."""
    notes: list[str] = []
    if len(html.encode("utf-8", "surrogatepass")) > limits.max_html_bytes:
        cut = html[: limits.max_html_bytes]
        last_tag = cut.rfind("<")
        if last_tag > limits.max_html_bytes // 2:
            cut = cut[:last_tag]
        html = cut
        notes.append(f"the HTML body is over {limits.max_html_bytes} bytes: only the beginning is shown")
    depth = 0
    deepest = 0
    dropped = False
    tags = 0

    def replace(match: re.Match) -> str:
        nonlocal depth, deepest, dropped, tags
        tags += 1
        if tags > limits.max_html_tags:
            return ""
        closing, name, self_closing = match.group(1), match.group(2).lower(), match.group(3)
        if name in _NOT_NESTING or self_closing:
            return match.group(0)
        if closing:
            was = depth
            depth = max(0, depth - 1)
            return "" if was > limits.max_html_depth else match.group(0)
        depth += 1
        deepest = max(deepest, depth)
        if depth > limits.max_html_depth:
            dropped = True
            return ""
        return match.group(0)

    html = _TAG.sub(replace, html)
    if tags > limits.max_html_tags:
        notes.append(f"the HTML body has more than {limits.max_html_tags} tags: later formatting was dropped")
    if dropped:
        notes.append(f"HTML elements nested deeper than {limits.max_html_depth} levels were flattened")
    return html, notes
