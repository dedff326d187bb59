"""Connections to shop platforms, the raw webhooks they send, and order imports.

Only ``shops.services`` creates or changes these rows; orders themselves are
``retention.Order`` rows written by ``retention.services.shop_orders`` (docs/shops.md).
"""

from __future__ import annotations

import secrets

from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.db.models import Q
from django.utils import timezone

from inbox.encryption import EncryptedJSONField


def new_public_id() -> str:
    return secrets.token_urlsafe(12)


class Platform(models.TextChoices):
    SHOPIFY = "shopify", "Shopify"
    WOOCOMMERCE = "woocommerce", "WooCommerce"
    NUVEMSHOP = "nuvemshop", "Nuvemshop / Tiendanube"


class ShopConnection(models.Model):
    """One store on one platform. Its secrets (API credentials and the webhook secret) live in
    ``secrets``, encrypted at rest (``inbox.encryption``), read and written only through
    ``shops.credentials``."""

    platform = models.CharField(max_length=20, choices=Platform.choices)
    name = models.CharField(max_length=100)
    public_id = models.CharField(max_length=32, unique=True, default=new_public_id, editable=False,
                                 help_text=_("The last part of the webhook URL."))
    inbox = models.ForeignKey("inbox.Inbox", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                              help_text=_("Optional: the inbox this shop's customers write to. Empty: the whole installation."))
    store_url = models.URLField(blank=True, help_text=_("https://your-shop.myshopify.com, https://your-site.com ..."))
    secrets = EncryptedJSONField(default=dict, blank=True, editable=False)
    status_overrides = models.JSONField(
        default=dict, blank=True,
        help_text=_('Platform status → ours, e.g. {"completed": "delivered"} for a WooCommerce shop that completes '
                  "orders on delivery."))
    enabled = models.BooleanField(default=True)
    synced_until = models.DateTimeField(null=True, blank=True,
                                        help_text=_("Orders changed before this were fetched; reconcile starts here."))
    last_test_at = models.DateTimeField(null=True, blank=True)
    last_test_ok = models.BooleanField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.name} ({self.get_platform_display()})"

    @property
    def order_prefix(self) -> str:
        """Namespaces ``Order.external_id`` per connection: two shops may both have order 1001."""
        return f"{self.platform}:{self.public_id}:"


class ShopEvent(models.Model):
    """A platform's webhook exactly as received, stored before it is parsed."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received, not processed yet")
        PROCESSED = "processed", _("Processed")
        IGNORED = "ignored", _("Ignored (not about an order)")
        FAILED = "failed", _("Failed")
        REJECTED = "rejected", _("Rejected")

    connection = models.ForeignKey(ShopConnection, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="events")
    platform = models.CharField(max_length=20, blank=True)
    connection_public_id = models.CharField(max_length=64, blank=True)
    topic = models.CharField(max_length=100, blank=True)
    delivery_id = models.CharField(max_length=200, blank=True,
                                   help_text=_("The platform's id of this delivery; a redelivery is not processed again."))
    headers = models.JSONField(default=dict, blank=True)
    body = models.BinaryField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED, db_index=True)
    error = models.TextField(blank=True)
    summary = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [models.UniqueConstraint(fields=["connection", "delivery_id"], condition=~Q(delivery_id=""),
                                               name="unique_shop_event_delivery")]

    def __str__(self) -> str:
        topic = self.topic or gettext("event")
        return f"{self.platform} {topic} {self.pk} ({self.get_status_display()})"


class ShopSync(models.Model):
    """An import of orders changed since ``since``: a backfill ("import the last N days") or a
    reconcile. The cursor of the next page is saved after every page, so an import that dies
    resumes where it stopped (``shops.tasks`` picks up stale running imports)."""

    class Kind(models.TextChoices):
        BACKFILL = "backfill", _("Import")
        RECONCILE = "reconcile", _("Reconcile")

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        WAITING = "waiting", _("Waiting for the rate limit")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    connection = models.ForeignKey(ShopConnection, on_delete=models.CASCADE, related_name="syncs")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING, db_index=True)
    since = models.DateTimeField()
    started_at = models.DateTimeField(default=timezone.now)
    cursor = models.CharField(max_length=2000, blank=True, help_text=_("The next page to fetch; empty: the first."))
    pages = models.PositiveIntegerField(default=0)
    orders_seen = models.PositiveIntegerField(default=0)
    orders_created = models.PositiveIntegerField(default=0)
    orders_updated = models.PositiveIntegerField(default=0)
    orders_skipped = models.PositiveIntegerField(default=0)
    resume_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [models.UniqueConstraint(fields=["connection"], condition=Q(status__in=["running", "waiting"]),
                                               name="one_open_shop_sync")]

    def __str__(self) -> str:
        return gettext("%(kind)s of %(connection)s (%(status)s)") % {
            "kind": self.get_kind_display(), "connection": self.connection, "status": self.get_status_display()}
