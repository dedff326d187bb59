"""Encryption at rest for credentials (channel tokens, passwords, shop API keys).

A small reusable helper over Fernet from ``cryptography`` (AES-128-CBC + HMAC-SHA256, a kept
library rather than our own crypto): ``EncryptedTextField`` and ``EncryptedJSONField`` store a
Fernet token in a text column and give the plain value back in Python. Any app can use them::

    from inbox.encryption import EncryptedJSONField
    credentials = EncryptedJSONField(default=dict, blank=True)

Keys come from the environment: ``ENCRYPTION_KEYS``, comma-separated Fernet keys, the first
one encrypts, all of them decrypt (``MultiFernet``). To rotate: put a new key first, keep the
old one after it, run ``manage.py rotate_encryption_keys`` (re-encrypts every encrypted
column with the first key), then drop the old key. Without ``ENCRYPTION_KEYS`` (development,
tests) a key is derived from ``SECRET_KEY``; ``check --deploy`` warns about that, since
changing ``SECRET_KEY`` would then make the stored credentials unreadable.

Values stored before encryption was turned on (plain JSON or text) are still read, and are
encrypted the next time they are written (the rotation command does it for all rows at once).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils.translation import gettext as _

#: Fernet tokens are URL-safe base64 of a version byte 0x80: they always start like this.
TOKEN_PREFIX = "gAAAAA"


def _keys() -> list[bytes]:
    configured = [k.strip() for k in (getattr(settings, "ENCRYPTION_KEYS", None) or []) if k.strip()]
    if configured:
        return [k.encode() for k in configured]
    derived = hashlib.sha256(b"inbox.encryption:" + settings.SECRET_KEY.encode()).digest()
    return [base64.urlsafe_b64encode(derived)]


@functools.lru_cache(maxsize=8)
def _fernet_for(keys: tuple[bytes, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "ENCRYPTION_KEYS must be Fernet keys (32 url-safe base64 bytes each); make one with "
            "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`"
        ) from exc


def fernet() -> MultiFernet:
    return _fernet_for(tuple(_keys()))


def encrypt(text: str) -> str:
    return fernet().encrypt(text.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    """The plain text of ``token``; ``InvalidToken`` when no configured key opens it."""
    return fernet().decrypt(token.encode("ascii")).decode("utf-8")


def rotate(token: str) -> str:
    """``token`` re-encrypted with the first key (a no-op in content)."""
    return fernet().rotate(token.encode("ascii")).decode("ascii")


def is_encrypted(value) -> bool:
    return isinstance(value, str) and value.startswith(TOKEN_PREFIX)


class EncryptionError(ValueError):
    pass


def _open(value: str) -> str:
    try:
        return decrypt(value)
    except InvalidToken:
        raise EncryptionError(
            "an encrypted value cannot be read with the configured ENCRYPTION_KEYS (was a key "
            "removed before `manage.py rotate_encryption_keys` ran?)") from None


class EncryptedTextField(models.TextField):
    """Text stored encrypted. Not searchable or orderable in the database, by design."""

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return _open(value) if is_encrypted(value) else value

    def to_python(self, value):
        if is_encrypted(value):
            return _open(value)
        return super().to_python(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "" or is_encrypted(value):
            return value
        return encrypt(value)


class EncryptedJSONField(models.TextField):
    """A JSON value (dict, list, ...) stored as one encrypted text; no JSON lookups in queries."""

    def from_db_value(self, value, expression, connection):
        if value is None:
            return value
        if isinstance(value, (dict, list)):  # a JSON column read before the migration
            return value
        text = _open(value) if is_encrypted(value) else value
        return json.loads(text) if text else self._empty()

    def _empty(self):
        return self.get_default() if self.has_default() else None

    def to_python(self, value):
        if isinstance(value, str):
            if is_encrypted(value):
                value = _open(value)
            try:
                return json.loads(value) if value else self._empty()
            except json.JSONDecodeError:
                from django.core.exceptions import ValidationError

                raise ValidationError(_("Enter a valid JSON.")) from None
        return value

    def get_prep_value(self, value):
        if value is None:
            return None
        if is_encrypted(value):
            return value
        return encrypt(json.dumps(value, ensure_ascii=False, sort_keys=True))

    def value_to_string(self, obj):
        return json.dumps(self.value_from_object(obj), ensure_ascii=False)

    def formfield(self, **kwargs):
        from django import forms

        return forms.JSONField(**{"required": not self.blank, **kwargs})


def encrypted_fields():
    """``(model, field)`` for every encrypted column of every installed model."""
    from django.apps import apps

    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, (EncryptedTextField, EncryptedJSONField)):
                yield model, field


@checks.register(checks.Tags.security, deploy=True)
def check_encryption_keys(app_configs, **kwargs):
    if getattr(settings, "ENCRYPTION_KEYS", None):
        try:
            fernet()
        except ImproperlyConfigured as exc:
            return [checks.Error(str(exc), id="inbox.E001")]
        return []
    return [checks.Warning(
        "ENCRYPTION_KEYS is not set: channel credentials are encrypted with a key derived from "
        "SECRET_KEY, so changing SECRET_KEY would make them unreadable. Set ENCRYPTION_KEYS.",
        id="inbox.W001")]
