"""Which language and time zone a page is shown in, and money formatted for it.

Agents: the language in their profile, else the browser's Accept-Language (Django's
``LocaleMiddleware``, which runs first), else ``LANGUAGE_CODE``. Time zone: the profile's,
else the first of their inboxes', else ``TIME_ZONE``. Customers get ``customer_language``.
See docs/i18n.md.
"""

from __future__ import annotations

import zoneinfo
from decimal import Decimal

from babel.core import Locale, UnknownLocaleError
from babel.numbers import format_currency
from django.conf import settings
from django.utils import timezone, translation

#: Language codes customers are spoken to in (bot answers, widget, surveys): the short codes of
#: ``settings.LANGUAGES`` ("pt-br" -> "pt"), so a new language is one line there plus catalogs.
CUSTOMER_LANGUAGES = tuple(dict.fromkeys(code.split("-")[0].lower() for code, _ in settings.LANGUAGES))


def customer_language_choices() -> list[tuple[str, str]]:
    """(short code, the language's own name) of each customer language, for model and form
    choices (a callable in the models, so a new language needs no migration)."""
    return [(code, Locale.parse(code).get_display_name(code).capitalize()) for code in CUSTOMER_LANGUAGES]


def catalog_language(code: str) -> str:
    """The installed language for a customer code or browser tag ("pt" -> "pt-br")."""
    try:
        return translation.get_supported_language_variant((code or "").lower())
    except LookupError:
        return translation.get_supported_language_variant(settings.LANGUAGE_CODE)


def customer_code(language: str) -> str:
    """The short customer code of an installed language ("pt-br" -> "pt")."""
    short = (language or "").split("-")[0].lower()
    return short if short in CUSTOMER_LANGUAGES else catalog_language(settings.LANGUAGE_CODE).split("-")[0]


def customer_language(contact, inbox) -> str:
    """The short code a customer is written to in: the contact's locale, else the inbox's
    default language, else the installation's (the bot refines this per message)."""
    code = (getattr(contact, "locale", "") or "").split("-")[0].split("_")[0].lower()
    if code in CUSTOMER_LANGUAGES:
        return code
    return inbox.language_code if inbox is not None else customer_code(settings.LANGUAGE_CODE)


def language_for_scope(scope, user) -> str:
    """The language of an agent's websocket: their profile's, else the browser's
    Accept-Language from the handshake, else LANGUAGE_CODE."""
    chosen = agent_preferences(user)["language"] if user is not None and user.is_authenticated else ""
    if chosen:
        return chosen
    from django.utils.translation.trans_real import parse_accept_lang_header

    headers = dict(scope.get("headers") or [])
    header = headers.get(b"accept-language", b"").decode("latin-1")
    for tag, _quality in parse_accept_lang_header(header):
        if tag == "*":
            break
        try:
            return translation.get_supported_language_variant(tag)
        except LookupError:
            continue
    return catalog_language(settings.LANGUAGE_CODE)


def valid_time_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return bool(name)


def agent_preferences(user) -> dict:
    """What an agent chose ('' = automatic) and the zone in effect; at most two queries."""
    from .models import AgentProfile, Inbox

    row = AgentProfile.objects.filter(user=user).values_list("language", "time_zone").first()
    language, own_zone = row or ("", "")
    zone = own_zone or Inbox.objects.filter(members=user).order_by("pk").values_list("timezone", flat=True).first() or ""
    return {"language": language, "time_zone": own_zone, "effective_time_zone": zone}


class AgentLocaleMiddleware:
    """Activate a signed-in agent's own language and time zone (after authentication)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            request.agent_prefs = prefs = agent_preferences(user)
            if prefs["language"]:
                translation.activate(prefs["language"])
                request.LANGUAGE_CODE = translation.get_language()
            if valid_time_zone(prefs["effective_time_zone"]):
                timezone.activate(zoneinfo.ZoneInfo(prefs["effective_time_zone"]))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


def context(request) -> dict:
    """Template context: the header's language and time zone menu."""
    prefs = getattr(request, "agent_prefs", None) or {}
    zones = list(COMMON_TIME_ZONES)
    for zone in (prefs.get("time_zone"), prefs.get("effective_time_zone")):
        if zone and zone not in zones:
            zones.append(zone)
    return {"LANGUAGE_CHOICES": settings.LANGUAGES, "TIME_ZONE_CHOICES": zones, "agent_prefs": prefs}


#: Babel locale for a language without a region when no country fits the currency: Spanish
#: here is Latin America's (CLDR "es_419"), not Spain's.
MONEY_FALLBACK_LOCALES = {"es": "es_419"}


def money_locale(language: str, currency: str) -> str:
    """The CLDR locale an amount is written in. A language with a region (pt-BR) keeps its
    own habits for every currency; otherwise the language as spoken in the currency's country
    (the ISO 4217 code begins with it: USD -> es_US, MXN -> es_MX, ARS -> es_AR), else the
    language's fallback."""
    base = translation.to_locale(language)
    if "_" in base:
        return base
    candidate = f"{base}_{currency[:2].upper()}"
    try:
        Locale.parse(candidate)
    except (UnknownLocaleError, ValueError):
        return MONEY_FALLBACK_LOCALES.get(base, base)
    return candidate


def money(amount, currency: str = "", language: str = "") -> str:
    """``amount`` in ``currency`` as written in ``language`` (the active one by default):
    ``R$ 1.234,56`` for BRL in pt-BR, ``$1,234.56`` for USD in en and es. Babel's CLDR data,
    not hand-written rules."""
    if amount is None:
        return "—"
    currency = (currency or settings.DEFAULT_CURRENCY).upper()
    language = language or translation.get_language() or settings.LANGUAGE_CODE
    return format_currency(Decimal(str(amount)), currency, locale=money_locale(language, currency))


#: Time zones offered in the profile menu (others can be set in the admin).
COMMON_TIME_ZONES = [
    "America/Sao_Paulo", "America/Manaus", "America/Recife", "America/Argentina/Buenos_Aires",
    "America/Santiago", "America/Bogota", "America/Lima", "America/Mexico_City", "America/Montevideo",
    "America/Asuncion", "America/Caracas", "America/La_Paz", "America/Guayaquil", "America/New_York",
    "Europe/Lisbon", "Europe/Madrid", "UTC",
]


def agent_preferences_set(*, user, language: str, time_zone: str) -> None:
    """Store an agent's language and time zone ('' = automatic); both validated by the caller."""
    from .models import AgentProfile

    AgentProfile.objects.update_or_create(user=user, defaults={"language": language, "time_zone": time_zone})


def translated(msgid: str, language: str) -> str:
    """``msgid`` from the catalogs in a customer's language (short code or installed tag)."""
    with translation.override(catalog_language(language)):
        return translation.gettext(msgid)


def translations(msgid: str) -> dict[str, str]:
    """``msgid`` in every customer language: ``{"pt": ..., "es": ..., "en": ...}``, for the
    per-language text tables admins can override."""
    return {code: translated(msgid, code) for code in CUSTOMER_LANGUAGES}
