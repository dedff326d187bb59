"""The widget's own words, from the catalogs, in the visitor's language.

``/widget/api/config?lang=`` answers them with the inbox's look; widget.js keeps only the
English source as a fallback for the moment before (or without) the config. ``{name}``-style
placeholders are filled by the script. See docs/i18n.md.
"""

from __future__ import annotations

from django.utils.translation import gettext, gettext_noop

from inbox.locale import CUSTOMER_LANGUAGES, catalog_language

TEXTS = {
    "open": gettext_noop("Open chat"),
    "close": gettext_noop("Close chat"),
    "placeholder": gettext_noop("Type your message…"),
    "send": gettext_noop("Send"),
    "attach": gettext_noop("Attach an image or PDF"),
    "unread": gettext_noop("unread messages"),
    "typing": gettext_noop("{name} is typing…"),
    "someone": gettext_noop("Someone"),
    "you": gettext_noop("You"),
    "online": gettext_noop("We reply in a few minutes"),
    "offline": gettext_noop("We're away right now"),
    "offlineNext": gettext_noop("We're away. We'll answer from {time}."),
    "offlineAsk": gettext_noop("Leave your e-mail and we'll get back to you."),
    "email": gettext_noop("Your e-mail"),
    "name": gettext_noop("Your name"),
    "phone": gettext_noop("Your phone or WhatsApp (optional)"),
    "save": gettext_noop("Save"),
    "saved": gettext_noop("Thanks! We'll answer here and by e-mail."),
    "start": gettext_noop("Start chat"),
    "prechat": gettext_noop("Before we start, tell us who you are."),
    "reconnecting": gettext_noop("Reconnecting…"),
    "failed": gettext_noop("Not sent. Tap to retry."),
    "tooLarge": gettext_noop("This file is too large (max {mb} MB)."),
    "badType": gettext_noop("Only images and PDF files can be sent."),
    "remove": gettext_noop("Remove file"),
    "seen": gettext_noop("Seen"),
    "sending": gettext_noop("Sending…"),
    "messages": gettext_noop("Messages"),
    "refused": gettext_noop("This chat is not available on this website."),
    "tooLong": gettext_noop("Messages can be at most {n} characters."),
    "file": gettext_noop("File"),
}


def visitor_language(requested: str, inbox) -> str:
    """The customer code for a visitor: the browser's language the script sends (``lang``),
    when we speak it, else the inbox's default language."""
    code = (requested or "").replace("_", "-").split("-")[0].lower()
    return code if code in CUSTOMER_LANGUAGES else inbox.language_code


def texts_for(language: str) -> dict[str, str]:
    from django.utils import translation

    with translation.override(catalog_language(language)):
        return {key: gettext(msgid) for key, msgid in TEXTS.items()}
