"""Phone numbers: parse what people type into E.164, and tell which numbers are one person.

Parsing and validation are ``phonenumbers`` (the Python port of Google's libphonenumber, kept
current with every country's numbering plan); this module adds only what libphonenumber
deliberately does not do, the equivalences WhatsApp needs in Latin America:

- **Brazil**: mobiles gained a ninth digit (``+55 11 9XXXX-XXXX``), but WhatsApp accounts
  registered before still arrive as ``551187654321``. The canonical form has the nine; the
  eight-digit form of a mobile range (first digit 6-9) is the same number.
- **Argentina**: mobiles are ``+54 9 <area> <number>`` internationally, ``0<area> 15 <number>``
  nationally (libphonenumber reads both), and people and shops also write them without the 9.
  ``549…`` and ``54…`` with the same area and number are the same line.
- **Mexico**: the ``1`` after ``+52`` for mobiles was abolished in 2019 but old wa_ids and
  address books keep it (``521…``), as do the national ``044``/``045`` prefixes. The canonical
  form drops them; ``521…`` is the same number.

A number that cannot be read as valid is kept as typed and flagged (``valid=False``): it is
shown to agents but never used to join contacts. Pure: no Django, the region is an argument.
"""

from __future__ import annotations

import dataclasses
import re

import phonenumbers
from phonenumbers import PhoneNumberFormat

DEFAULT_REGION = "BR"
_FORMATTING = re.compile(r"[\s\-().\[\]/]")


@dataclasses.dataclass(frozen=True)
class Phone:
    raw: str  # as typed, stripped
    e164: str  # the canonical E.164 number, "" when not valid
    region: str = ""  # the number's country (ISO 3166), "" when not valid

    @property
    def valid(self) -> bool:
        return bool(self.e164)

    @property
    def stored(self) -> str:
        """What a contact keeps: the canonical number, or the text as typed."""
        return self.e164 or self.raw


def _valid(number: phonenumbers.PhoneNumber) -> bool:
    return phonenumbers.is_valid_number(number)


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def _try_parse(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


def _repair(number: phonenumbers.PhoneNumber) -> phonenumbers.PhoneNumber | None:
    """The valid canonical number behind a parse, applying the BR and MX equivalences."""
    national = str(number.national_number)
    if number.country_code == 55 and len(national) == 10 and national[2] in "6789":
        # Eight-digit Brazilian mobile from before the ninth digit.
        candidate = phonenumbers.PhoneNumber(country_code=55, national_number=int(national[:2] + "9" + national[2:]))
        if _valid(candidate):
            return candidate
    if number.country_code == 52 and len(national) == 11 and national[0] == "1":
        candidate = phonenumbers.PhoneNumber(country_code=52, national_number=int(national[1:]))
        if _valid(candidate):
            return candidate
    return number if _valid(number) else None


def parse_phone(raw: str | None, region: str | None = DEFAULT_REGION) -> Phone:
    """Read a typed number (``(11) 98765-4321``, ``+55 11 98765-4321``, ``0055…``, ``011 15…``)
    as E.164 in ``region`` when it has no country code."""
    text = (raw or "").strip()
    region = (region or DEFAULT_REGION).upper()
    compact = _FORMATTING.sub("", text)
    if not compact or not re.fullmatch(r"\+?\d{4,20}", compact):
        return Phone(raw=text, e164="")
    candidates = [compact]
    if compact.startswith("00"):
        candidates.insert(0, "+" + compact[2:])  # 00 as the international prefix, wherever typed
    if region == "MX" and re.fullmatch(r"04[45]\d{10}", compact):
        candidates.insert(0, compact[3:])  # old national mobile prefixes
    for candidate in candidates:
        number = _try_parse(candidate, region)
        repaired = _repair(number) if number is not None else None
        if repaired is not None:
            return Phone(raw=text, e164=_e164(repaired),
                         region=phonenumbers.region_code_for_number(repaired) or "")
    return Phone(raw=text, e164="")


def from_wa_id(wa_id: str) -> Phone:
    """A WhatsApp id is the full international number in digits, without ``+``."""
    digits = re.sub(r"\D", "", wa_id or "")
    return parse_phone("+" + digits if digits else "", DEFAULT_REGION)


def to_wa_id(e164: str) -> str:
    return (e164 or "").lstrip("+")


def equivalent_numbers(e164: str) -> list[str]:
    """Every E.164 spelling of the same line, ``e164`` first. Only for valid numbers."""
    number = _try_parse(e164, None) if e164 else None
    if number is None:
        return []
    canonical = _repair(number)
    if canonical is None:
        return []
    first = _e164(canonical)
    forms = [first]
    national = str(canonical.national_number)
    if canonical.country_code == 55 and len(national) == 11 and national[2] == "9" and national[3] in "6789":
        forms.append(f"+55{national[:2]}{national[3:]}")
    elif canonical.country_code == 54:
        if national.startswith("9") and len(national) == 11:
            forms.append(f"+54{national[1:]}")
        elif len(national) == 10:
            mobile = phonenumbers.PhoneNumber(country_code=54, national_number=int("9" + national))
            if _valid(mobile):
                forms.append(_e164(mobile))
    elif canonical.country_code == 52 and len(national) == 10:
        forms.append(f"+521{national}")
    if e164 not in forms:
        forms.append(e164)
    return forms


def same_line(a: str, b: str) -> bool:
    """Whether two stored numbers reach the same person (both must be valid)."""
    return bool(a and b) and bool(set(equivalent_numbers(a)) & set(equivalent_numbers(b)))
