"""Keep only what the customer newly wrote in a reply: drop quoted history and signatures.

Written here rather than taken from PyPI: ``email-reply-parser`` knows English plain text
only, ``quotequail`` and ``mail-parser-reply`` have no Portuguese/Spanish attribution lines
for every client covered here and do not cut HTML on the structural markers mail clients
leave (``gmail_quote``, ``blockquote type=cite``, ``divRplyFwdMsg``...). Both plain text and
HTML are handled below; the HTML side removes those elements first, then the text rules run.

The cut is conservative: when the rules would leave nothing (a customer who wrote below the
quote, or a mail that is only a quote), the text after the quote, and failing that the whole
text, is kept. The caller always keeps the full original next to the result.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

# "On Mon, 1 Jan 2024 at 10:00, Ana <ana@x.com> wrote:" and friends (Gmail, Apple Mail,
# Thunderbird); Gmail wraps long attributions over two or three lines, so joined lines are tried.
_ATTRIBUTION = re.compile(
    r"^\s*>?\s*("
    r"On\s.{4,300}?\swrote\s*:"  # en
    r"|Em\s.{4,300}?\sescreveu\s*:"  # pt
    r"|El\s.{4,300}?\sescribi[oó]\s*:"  # es
    r"|Le\s.{4,300}?\sa\s+[ée]crit\s*:"  # fr
    r"|Am\s.{4,300}?\sschrieb\s.{0,100}:"  # de
    r"|Op\s.{4,300}?\sschreef\s.{0,100}:"  # nl
    r"|Den\s.{4,300}?\sskrev\s.{0,100}:"  # sv, da, no
    r"|W\s+dniu\s.{4,300}?\snapisa[łl]\s*(\(a\))?.{0,100}:"  # pl
    r"|Il\s.{4,300}?\sha\s+scritto\s*:"  # it
    r"|.{0,300}?\s(написал|написала|написал\(а\))\s*:"  # ru
    r"|.{0,200}<[^<>\s]+@[^<>\s]+>\s+(wrote|escreveu|escribi[oó]|schrieb|schreef|skrev|napisa[łl]\s*(\(a\))?"
    r"|ha\s+scritto|a\s+[ée]crit)\s*:"  # "Ana <a@x> wrote:"
    r")\s*$",
    re.IGNORECASE | re.DOTALL,
)
_ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(Original Message|Reply Message|Mensagem original|Mensaje original|Message d'origine"
    r"|Urspr[üu]ngliche Nachricht|Oorspronkelijk bericht|Originalmeddelande|Oprindelig meddelelse"
    r"|Opprinnelig melding|Wiadomo[śs][ćc] oryginalna|Messaggio originale|Исходное сообщение)\s*-{2,}\s*$",
    re.IGNORECASE,
)
#: A forwarded mail: what follows is the point of the mail, not history to hide.
_FORWARD = re.compile(
    r"^\s*(-{3,}\s*(Forwarded message|Mensagem encaminhada|Mensaje reenviado|Message transf[ée]r[ée]"
    r"|Weitergeleitete Nachricht|Doorgestuurd bericht|Vidarebefordrat meddelande|Videresendt (melding|meddelelse)"
    r"|Wiadomo[śs][ćc] przekazana|Messaggio inoltrato|Пересылаемое сообщение)\s*-{3,}"
    r"|Begin forwarded message\s*:|In[ií]cio da mensagem encaminhada\s*:|Inicio del mensaje reenviado\s*:)\s*$",
    re.IGNORECASE,
)
_UNDERSCORES = re.compile(r"^\s*_{10,}\s*$")
# Outlook's header block: "From: / De:" followed within a few lines by Sent/To/Subject.
# Outlook and other clients in en/pt/es/fr/de/nl/sv/da/no/pl/it/ru; the block may start with
# Date:/Sent: instead of From:, as long as a From-like line is part of it.
_HEADER_FROM = re.compile(r"^\s*\*?(From|De|Von|Van|Fra|Från|Od|Da|От)\s*:\*?\s*\S", re.IGNORECASE)
_HEADER_OTHER = re.compile(
    r"^\s*\*?(Sent|Date|To|Subject|Cc|Enviado|Enviada|Enviado el|Data|Fecha|Para|Assunto"
    r"|Asunto|Gesendet|Datum|An|Betreff|Verzonden|Aan|Onderwerp|Sendt|Skickat|Til|Till|Emne|Ämne"
    r"|Wysłano|Wys[łl]ane|Do|Temat|Inviato|A|Oggetto|Отправлено|Дата|Кому|Тема|Objet|Envoy[ée]|[ÀA])\s*:\*?",
    re.IGNORECASE,
)
_SIGNATURE_DELIMITER = re.compile(r"^-- ?$")
_MOBILE_SIGNATURE = re.compile(
    r"^\s*(Sent from my\s.+|Sent from (Mail|Outlook|Yahoo Mail).*"
    r"|Enviado do meu\s.+|Enviado de meu\s.+|Enviado desde mi\s.+|Enviado desde (Outlook|Correo).*"
    r"|Get Outlook for\s.+|Obter o Outlook para\s.+|Obtener Outlook para\s.+)\s*$",
    re.IGNORECASE,
)


def _is_attribution(lines: list[str], i: int) -> int:
    """How many lines starting at ``i`` form an attribution line (0 if none).

    A wrapped attribution is tried over two or three lines, but only when it does not start on
    a later line: "Reply" directly above "On ... wrote:" (no blank line) is the reply, not part
    of the attribution."""
    for span in (1, 2, 3):
        if i + span > len(lines) or not lines[i + span - 1].strip():
            break  # an attribution never spans a blank line
        joined = " ".join(line.strip() for line in lines[i : i + span])
        if _ATTRIBUTION.match(joined):
            if span > 1 and any(_ATTRIBUTION.match(" ".join(line.strip() for line in lines[j : i + span]))
                                for j in range(i + 1, i + span)):
                return 0  # it starts further down
            return span
        # an attribution ends with the colon: stop growing once a line ends with one
        if lines[i + span - 1].rstrip().endswith(":"):
            break
    return 0


def _is_header_block(lines: list[str], i: int) -> bool:
    if _HEADER_FROM.match(lines[i]):
        others = sum(1 for line in lines[i + 1 : i + 6] if _HEADER_OTHER.match(line))
        return others >= 2
    if _HEADER_OTHER.match(lines[i]) and re.match(r"^\s*\*?(Date|Sent|Data|Datum|Fecha|Sendt|Skickat)\s*:",
                                                   lines[i], re.IGNORECASE):
        block = lines[i + 1 : i + 6]
        return (any(_HEADER_FROM.match(line) for line in block)
                and sum(1 for line in block if _HEADER_OTHER.match(line)) >= 1)
    return False


def _forward_start(lines: list[str]) -> int | None:
    for i, line in enumerate(lines):
        if _FORWARD.match(line):
            return i
    return None


def _quote_start(lines: list[str]) -> tuple[int, int] | None:
    """Index of the first line of quoted history, and how many marker lines start there."""
    for i, line in enumerate(lines):
        if _ORIGINAL_MESSAGE.match(line) or _UNDERSCORES.match(line):
            return i, 1
        if _is_header_block(lines, i):
            return i, 1
        span = _is_attribution(lines, i)
        if span:
            return i, span
    return None


def _strip_signature(lines: list[str]) -> list[str]:
    for i, line in enumerate(lines):
        if i > 0 and (_SIGNATURE_DELIMITER.match(line) or _MOBILE_SIGNATURE.match(line)):
            return lines[:i]
    return lines


def _tidy(lines: list[str]) -> str:
    return "\n".join(lines).strip()


def strip_quotes_text(text: str) -> str:
    """The part of a plain-text reply that is new: no quoted history, no signature."""
    if not text:
        return ""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    start = _quote_start(lines)
    forward = _forward_start(lines)
    if forward is not None and (start is None or start[0] >= forward):
        # a forward: the forwarded mail is what the customer sends us, keep it whole
        return _tidy(_strip_signature(lines[:forward]) + lines[forward:]) or text.strip()
    head = lines[: start[0]] if start else lines
    head = [line for line in head if not line.lstrip().startswith(">")]
    head = _strip_signature(head)
    new = _tidy(head)
    if new:
        return new
    # Bottom-posting: the customer wrote below the quote.
    rest = lines[start[0] + start[1] :] if start else lines
    rest = [line for line in rest if not line.lstrip().startswith(">")]
    rest = _strip_signature(rest)
    new = _tidy(rest)
    return new or text.strip()


# --- HTML ---------------------------------------------------------------------------------------

_BLOCK_TAGS = {
    "p", "div", "br", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6",
    "blockquote", "pre", "hr", "section", "article", "header", "footer", "dl", "dt", "dd",
}
_DROP_CONTENT = {"script", "style", "head", "title", "template"}
_VOID = {"br", "hr", "img", "meta", "link", "input", "col", "area", "base", "wbr", "source"}


def _quote_role(tag: str, attrs: dict[str, str]) -> str:
    """'skip' for an element that holds quoted history or a signature, 'cut' for one after
    which everything is history (Outlook), '' otherwise."""
    classes = set((attrs.get("class") or "").split())
    ident = attrs.get("id") or ""
    if tag == "blockquote" and (attrs.get("type") or "").lower() == "cite":
        return "skip"
    if classes & {"gmail_quote", "gmail_signature", "moz-cite-prefix", "moz-signature",
                  "yahoo_quoted", "protonmail_quote", "gmail_extra"}:
        return "skip"
    if ident in {"divRplyFwdMsg", "appendonsend", "stopSpelling", "Signature"} or (
        ident.startswith("x_") and ident[2:] in {"divRplyFwdMsg", "appendonsend"}
    ):
        return "cut"
    if ident == "OutlookMessageHeader" or "OutlookMessageHeader" in classes:
        return "cut"
    return ""


class _TextExtractor(HTMLParser):
    def __init__(self, strip_quotes: bool):
        super().__init__(convert_charrefs=True)
        self.strip_quotes = strip_quotes
        self.parts: list[str] = []
        self.stack: list[str] = []  # open tags inside a skipped element
        self.skip_depth = 0  # >0 while inside a skipped element
        self.drop_depth = 0
        self.cut = False
        self.found_quote = False
        self.pre = 0
        self.href: list[str] = []

    def handle_starttag(self, tag, attrs):
        if self.cut:
            return
        attr = {k: (v or "") for k, v in attrs}
        if self.skip_depth:
            if tag not in _VOID:
                self.skip_depth += 1
            return
        if self.strip_quotes:
            role = _quote_role(tag, attr)
            if role == "cut":
                self.cut = self.found_quote = True
                return
            if role == "skip":
                self.found_quote = True
                if tag not in _VOID:
                    self.skip_depth = 1
                return
        if tag in _DROP_CONTENT:
            self.drop_depth += 1
            return
        if tag == "pre":
            self.pre += 1
        if tag == "li":
            self.parts.append("\n- ")
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")
        if tag == "a":
            self.href.append(attr.get("href", ""))
        if tag == "img" and attr.get("alt"):
            self.parts.append(f"[{attr['alt']}]")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if self.cut:
            return
        if self.skip_depth:
            if tag not in _VOID:
                self.skip_depth -= 1
            return
        if tag in _DROP_CONTENT:
            self.drop_depth = max(0, self.drop_depth - 1)
            return
        if tag == "pre":
            self.pre = max(0, self.pre - 1)
        if tag == "a" and self.href:
            href = self.href.pop()
            text = self._current_line()
            if href.startswith(("http://", "https://")) and href not in text:
                self.parts.append(f" ({href})")
        if tag in _BLOCK_TAGS and tag not in ("br", "li"):
            self.parts.append("\n")

    def _current_line(self) -> str:
        return "".join(self.parts[-20:]).rsplit("\n", 1)[-1]

    def handle_data(self, data):
        if self.cut or self.skip_depth or self.drop_depth:
            return
        if not self.pre:
            data = re.sub(r"\s+", " ", data)
        self.parts.append(data)

    def text(self) -> str:
        raw = "".join(self.parts).replace("\xa0", " ")
        lines = [line.strip() for line in raw.split("\n")]
        out: list[str] = []
        for line in lines:
            if not line and (not out or not out[-1]):
                continue  # one blank line at most between blocks
            out.append(line)
        return "\n".join(out).strip()


def html_to_text(html: str, *, strip_quotes: bool = False) -> str:
    """Readable plain text from HTML (block elements become line breaks, links keep their
    address). With ``strip_quotes`` the quoted-history elements of common clients are left out.
    """
    return _html_to_text(html, strip_quotes=strip_quotes)[0]


def _html_to_text(html: str, *, strip_quotes: bool) -> tuple[str, bool]:
    parser = _TextExtractor(strip_quotes)
    try:
        parser.feed(html or "")
        parser.close()
    except Exception:  # HTMLParser is lenient; this guards against odd input all the same
        pass
    return parser.text(), parser.found_quote


_FORWARD_HINT = re.compile(
    r"Forwarded message|Begin forwarded|encaminhada|reenviado|transf[ée]r[ée]|Weitergeleitete|Doorgestuurd"
    r"|Vidarebefordrat|Videresendt|przekazana|inoltrato|Пересылаемое", re.IGNORECASE)


def strip_quotes_html(html: str) -> tuple[str, bool]:
    """The new text of an HTML reply, and whether a client's quote marker was found. A forward
    (Gmail puts the forwarded mail inside ``gmail_quote``) keeps the forwarded content."""
    if html and _FORWARD_HINT.search(html):
        full = html_to_text(html)
        lines = full.split("\n")
        forward, start = _forward_start(lines), _quote_start(lines)
        if forward is not None and (start is None or start[0] >= forward):
            return strip_quotes_text(full), False
    text, found = _html_to_text(html, strip_quotes=True)
    return strip_quotes_text(text), found
