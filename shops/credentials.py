"""The one place that reads and writes a connection's secrets (API credentials and webhook
secret), kept in an encrypted JSON field (``inbox.encryption.EncryptedJSONField``; see
docs/shops.md and docs/deployment.md for the keys)."""

from __future__ import annotations

from typing import Any

#: Credential names each platform's connector reads (``shop_connectors.<platform>``).
CREDENTIAL_FIELDS = {
    "shopify": ("access_token",),
    "woocommerce": ("consumer_key", "consumer_secret"),
    "nuvemshop": ("store_id", "access_token"),
}


def get_credentials(connection) -> dict[str, str]:
    return dict((connection.secrets or {}).get("credentials") or {})


def get_webhook_secret(connection) -> str:
    return str((connection.secrets or {}).get("webhook_secret") or "")


def set_secrets(connection, *, credentials: dict[str, Any] | None = None, webhook_secret: str | None = None) -> None:
    """Change the secrets on the (unsaved) row; blank values keep what was there."""
    stored = dict(connection.secrets or {})
    if credentials is not None:
        merged = dict(stored.get("credentials") or {})
        merged.update({k: str(v).strip() for k, v in credentials.items() if v not in (None, "")})
        stored["credentials"] = merged
    if webhook_secret:
        stored["webhook_secret"] = webhook_secret.strip()
    connection.secrets = stored


def connector_config(connection) -> dict[str, Any]:
    from django.conf import settings

    config: dict[str, Any] = {
        "store_url": connection.store_url,
        "credentials": get_credentials(connection),
        "webhook_secret": get_webhook_secret(connection),
        "status_overrides": connection.status_overrides or {},
    }
    api_base = getattr(settings, "SHOP_API_BASES", {}).get(connection.platform)
    if api_base:
        config["api_base"] = api_base
    return config
