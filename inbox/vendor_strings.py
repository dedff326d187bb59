"""Texts of third-party apps that our pages show and whose own catalogs have no Brazilian
Portuguese or Spanish, listed here so makemessages puts them in our catalogs (LOCALE_PATHS come
first, so Django reads our translation of the app's own msgid).

django-axes (login throttling) ships no pt-BR or es catalog. Its lockout page and message are
ours (``inbox.login_throttle``); its attempt-log admin is off (``AXES_ENABLE_ADMIN``), but its
model names appear in the admin's permission lists ("Pode ver tentativa de acesso"). The msgids
must stay exactly axes's; tests/i18n/test_vendor_strings.py checks them against the installed
version.
"""

from django.utils.translation import gettext_noop

AXES = [
    gettext_noop("access attempt"),
    gettext_noop("access attempts"),
    gettext_noop("access attempt expiration"),
    gettext_noop("access attempt expirations"),
    gettext_noop("access failure"),
    gettext_noop("access failures"),
    gettext_noop("access log"),
    gettext_noop("access logs"),
]
