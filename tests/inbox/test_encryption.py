"""Channel credentials are encrypted at rest (Fernet), readable through the model, and the
keys can be rotated with a management command. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from inbox.encryption import EncryptionError, check_encryption_keys
from inbox.models import Inbox
from tests.factories import make_inbox

pytestmark = pytest.mark.django_db

SECRETS = {"imap_password": "hunter2-imap", "access_token": "EAAG-very-secret", "app_secret": "s3cr3t-app"}


def raw_row(pk):
    with connection.cursor() as cursor:
        cursor.execute("SELECT channel_config, widget_secret FROM inbox_inbox WHERE id = %s", [pk])
        return cursor.fetchone()


def test_credentials_are_not_stored_in_clear(settings):
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    inbox = make_inbox("email", channel_config={"address": "support@shop.test", **SECRETS})
    config, widget_secret = raw_row(inbox.pk)
    for value in [*SECRETS.values(), "support@shop.test", inbox.widget_secret]:
        assert value not in str(config) and value not in str(widget_secret)
    assert str(config).startswith("gAAAAA") and str(widget_secret).startswith("gAAAAA")
    again = Inbox.objects.get(pk=inbox.pk)
    assert again.channel_config == {"address": "support@shop.test", **SECRETS}
    assert again.widget_secret == inbox.widget_secret and len(again.widget_secret) > 20


def test_the_widget_identity_check_reads_the_decrypted_secret(settings):
    from widget import auth

    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    inbox = make_inbox("webchat")
    stored = Inbox.objects.get(pk=inbox.pk)
    assert auth.identity_hash(inbox=stored, user_id="user-42") == auth.identity_hash(inbox=inbox, user_id="user-42")


def test_key_rotation(settings, capsys):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.ENCRYPTION_KEYS = [old]
    inbox = make_inbox("whatsapp", channel_config=dict(SECRETS))
    settings.ENCRYPTION_KEYS = [new, old]
    assert Inbox.objects.get(pk=inbox.pk).channel_config == SECRETS  # the old key still opens it
    call_command("rotate_encryption_keys")
    assert "re-encrypted" in capsys.readouterr().out
    settings.ENCRYPTION_KEYS = [new]
    assert Inbox.objects.get(pk=inbox.pk).channel_config == SECRETS
    settings.ENCRYPTION_KEYS = [old]
    with pytest.raises(EncryptionError, match="rotate_encryption_keys"):
        Inbox.objects.get(pk=inbox.pk)


def test_values_stored_before_encryption_are_read_and_encrypted_by_the_command(settings):
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    inbox = make_inbox("email")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE inbox_inbox SET channel_config = %s, widget_secret = %s WHERE id = %s",
                       ['{"smtp_password": "plain-old"}', "legacy-secret", inbox.pk])
    legacy = Inbox.objects.get(pk=inbox.pk)
    assert legacy.channel_config == {"smtp_password": "plain-old"} and legacy.widget_secret == "legacy-secret"
    call_command("rotate_encryption_keys")
    config, secret = raw_row(inbox.pk)
    assert "plain-old" not in config and "legacy-secret" not in secret


def test_deploy_check_asks_for_explicit_keys(settings):
    settings.ENCRYPTION_KEYS = []
    assert [c.id for c in check_encryption_keys(None)] == ["inbox.W001"]
    settings.ENCRYPTION_KEYS = ["not-a-key"]
    assert [c.id for c in check_encryption_keys(None)] == ["inbox.E001"]
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    assert check_encryption_keys(None) == []


def test_shop_credentials_use_the_same_encrypted_field(settings):
    from shops import credentials
    from shops.models import ShopConnection

    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    connection = ShopConnection(platform="shopify", name="Casa Verde", store_url="https://casa.myshopify.com")
    credentials.set_secrets(connection, credentials={"access_token": "shpat_realtoken"}, webhook_secret="whsec-1")
    connection.save()
    with connection_cursor() as cursor:
        cursor.execute("SELECT secrets FROM shops_shopconnection WHERE id = %s", [connection.pk])
        raw = cursor.fetchone()[0]
    assert raw.startswith("gAAAAA") and "shpat_realtoken" not in raw and "whsec-1" not in raw
    again = ShopConnection.objects.get(pk=connection.pk)
    assert credentials.get_credentials(again) == {"access_token": "shpat_realtoken"}
    assert credentials.get_webhook_secret(again) == "whsec-1"


def connection_cursor():
    return connection.cursor()
