"""The one write path of shop connections: create and test them, store and process their
webhooks, run imports page by page. Orders are written by ``retention.services.shop_orders``; the
platform is spoken to only through ``shop_connectors`` (docs/shops.md)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from inbox import queue
from retention import services as retention_services
from retention.services import shop_orders
from shop_connectors.base import (
    BaseShopConnector, CredentialsError, NotFound, RateLimited, ShopError, ShopEvent as ParsedEvent, TemporaryShopError,
    WebhookRejected,
)
from shop_connectors.registry import build_connector

from . import credentials
from .models import Platform, ShopConnection, ShopEvent, ShopSync

logger = logging.getLogger(__name__)

#: Headers kept with a raw event: what names the event and its signature, never credentials.
KEPT_HEADERS = ("content-type", "user-agent", "x-shopify-topic", "x-shopify-hmac-sha256", "x-shopify-event-id",
                "x-shopify-webhook-id", "x-shopify-shop-domain", "x-shopify-triggered-at", "x-shopify-api-version",
                "x-wc-webhook-topic", "x-wc-webhook-signature", "x-wc-webhook-delivery-id", "x-wc-webhook-id",
                "x-wc-webhook-source", "x-linkedstore-hmac-sha256")
#: A reconcile starts this long before the last one's start, so an order changed while it ran is not missed.
RECONCILE_OVERLAP = dt.timedelta(minutes=10)
FIRST_RECONCILE_WINDOW = dt.timedelta(days=1)
PAGES_PER_RUN = 20  # then the task enqueues itself again: one run never holds a worker for long
STALE_SYNC_AFTER = dt.timedelta(minutes=5)


class ShopServiceError(retention_services.RetentionError):
    """A refused operation, with a message fit for the admin."""


class _Overtaken(Exception):
    """Another run of the same import saved this page first."""


# --- connections ----------------------------------------------------------------------------------


def connector_for(connection: ShopConnection, **extra) -> BaseShopConnector:
    return build_connector(connection.platform, {**credentials.connector_config(connection), **extra})


def webhook_url(connection: ShopConnection) -> str:
    path = reverse("shop-webhook", kwargs={"platform": connection.platform, "public_id": connection.public_id})
    return settings.PUBLIC_BASE_URL.rstrip("/") + path


@transaction.atomic
def connection_create(*, platform: str, name: str, webhook_secret: str, store_url: str = "",
                      credentials_in: Mapping[str, str] | None = None, inbox=None,
                      status_overrides: Mapping[str, str] | None = None) -> ShopConnection:
    if platform not in Platform.values:
        raise ShopServiceError(_("Unknown platform %(platform)r; use one of %(platforms)s.") % {
            "platform": platform, "platforms": ", ".join(Platform.values)})
    if not (name or "").strip():
        raise ShopServiceError(_("A connection needs a name."))
    if not (webhook_secret or "").strip():
        raise ShopServiceError(_("A connection needs the webhook secret the platform signs with."))
    if platform in (Platform.SHOPIFY, Platform.WOOCOMMERCE) and not store_url:
        raise ShopServiceError(_("This platform needs the store URL (https://...)."))
    connection = ShopConnection(platform=platform, name=name.strip()[:100], store_url=(store_url or "").rstrip("/"),
                                inbox=inbox, status_overrides=dict(status_overrides or {}))
    credentials.set_secrets(connection, credentials=dict(credentials_in or {}), webhook_secret=webhook_secret)
    connection.save()
    return connection


@transaction.atomic
def connection_update(*, connection: ShopConnection, credentials_in: Mapping[str, str] | None = None,
                      webhook_secret: str | None = None, **fields) -> ShopConnection:
    connection = ShopConnection.objects.select_for_update().get(pk=connection.pk)
    for field, value in fields.items():
        setattr(connection, field, value)
    credentials.set_secrets(connection, credentials=dict(credentials_in) if credentials_in else None,
                            webhook_secret=webhook_secret)
    connection.save()
    return connection


def connection_test(*, connection: ShopConnection) -> tuple[bool, str]:
    """Call the platform with the stored credentials: (True, shop name) or (False, why)."""
    try:
        name = connector_for(connection, sleep=lambda s: None).test_connection()
        ok, message = True, _("Connected to %(name)s.") % {"name": name}
    except CredentialsError as exc:
        ok, message = False, str(exc)
    except ShopError as exc:
        ok, message = False, _("Could not check the connection: %(error)s") % {"error": exc}
    ShopConnection.objects.filter(pk=connection.pk).update(last_test_at=timezone.now(), last_test_ok=ok,
                                                          last_error="" if ok else message[:2000])
    return ok, message


# --- webhooks -------------------------------------------------------------------------------------


def event_record(*, connection: ShopConnection | None, platform: str, public_id: str, body: bytes,
                 headers: Mapping[str, str], status: str = ShopEvent.Status.RECEIVED, error: str = "",
                 parsed: ParsedEvent | None = None) -> ShopEvent:
    kept = {k.lower(): v for k, v in headers.items() if k.lower() in KEPT_HEADERS}
    return ShopEvent.objects.create(
        connection=connection, platform=platform[:20], connection_public_id=public_id[:64], body=body, headers=kept,
        topic=(parsed.topic if parsed else "")[:100], delivery_id=(parsed.delivery_id if parsed else "")[:200],
        status=status, error=error,
        processed_at=timezone.now() if status != ShopEvent.Status.RECEIVED else None)


def event_receive(*, connection: ShopConnection, body: bytes, headers: Mapping[str, str]) -> tuple[ShopEvent, bool]:
    """Verify, parse (a dry run, for the 400), store and enqueue a webhook. Returns
    (event, created); a redelivery (same delivery id) returns the first event, not created.
    ``WebhookRejected`` after storing the request as a rejected event."""
    connector = connector_for(connection)
    try:
        connector.verify_webhook(body, headers)
        parsed = connector.parse_webhook(body, headers)
    except WebhookRejected as exc:
        event_record(connection=connection, platform=connection.platform, public_id=connection.public_id, body=body,
                     headers=headers, status=ShopEvent.Status.REJECTED, error=f"{exc.status_code}: {exc}")
        raise
    if parsed.delivery_id:
        first = ShopEvent.objects.filter(connection=connection, delivery_id=parsed.delivery_id[:200]).first()
        if first:
            return first, False
    try:
        with transaction.atomic():
            event = event_record(connection=connection, platform=connection.platform, public_id=connection.public_id,
                                 body=body, headers=headers, parsed=parsed)
            queue.enqueue("shops.process_event", event.pk)
    except IntegrityError:  # the same delivery, arriving twice at once
        return ShopEvent.objects.get(connection=connection, delivery_id=parsed.delivery_id[:200]), False
    return event, True


def event_process(event_id: int) -> ShopEvent:
    """Apply one stored webhook. Safe to run twice: orders only move forward in time."""
    event = ShopEvent.objects.select_related("connection").get(pk=event_id)
    if event.status not in (ShopEvent.Status.RECEIVED, ShopEvent.Status.FAILED):
        return event
    ShopEvent.objects.filter(pk=event.pk).update(attempts=event.attempts + 1)
    connection = event.connection
    if connection is None or not connection.enabled:
        return _finish(event, ShopEvent.Status.FAILED, "The connection was deleted or disabled; nothing was imported.")
    connector = connector_for(connection)
    try:
        parsed = connector.parse_webhook(bytes(event.body), event.headers)
    except WebhookRejected as exc:
        return _finish(event, ShopEvent.Status.FAILED, str(exc))
    if parsed.ignored:
        return _finish(event, ShopEvent.Status.IGNORED, "", parsed.ignored)
    try:
        summary = _apply_event(connection, connector, parsed)
    except (ShopError, retention_services.RetentionError) as exc:
        return _finish(event, ShopEvent.Status.FAILED, str(exc))
    except Exception as exc:
        logger.exception("processing shop event %s failed", event.pk)
        return _finish(event, ShopEvent.Status.FAILED, f"{type(exc).__name__}: {exc}")
    return _finish(event, ShopEvent.Status.PROCESSED, "", summary)


def _apply_event(connection: ShopConnection, connector: BaseShopConnector, parsed: ParsedEvent) -> str:
    order = parsed.order
    if order is None and parsed.order_ref:
        if connector.has_api_access:
            try:
                order = connector.fetch_order(parsed.order_ref)
            except NotFound:
                if not parsed.topic.endswith("deleted"):
                    raise
                found = shop_orders.order_cancel_from_shop(source=connection.order_prefix, order_id=parsed.order_ref)
                return f"order {parsed.order_ref} deleted: {'cancelled here' if found else 'never imported'}"
        elif parsed.tracking is not None:
            found = shop_orders.order_apply_tracking(source=connection.order_prefix, order_id=parsed.order_ref,
                                                     tracking=parsed.tracking)
            return f"tracking of order {parsed.order_ref}: {'applied' if found else 'order not imported yet'}"
        else:
            raise ShopError(f"{parsed.topic} names order {parsed.order_ref}; fetching it needs the API credentials")
    stored, outcome = shop_orders.order_sync_from_shop(source=connection.order_prefix, order=order)
    return f"order {order.number}: {outcome}"


def _finish(event: ShopEvent, status: str, error: str, summary: str = "") -> ShopEvent:
    ShopEvent.objects.filter(pk=event.pk).update(status=status, error=error[:5000], summary=summary[:5000],
                                                 processed_at=timezone.now())
    event.refresh_from_db()
    return event


# --- imports --------------------------------------------------------------------------------------


def sync_start(*, connection: ShopConnection, kind: str, since: dt.datetime) -> ShopSync:
    """Start an import of orders changed since ``since`` (or return the one already open: a
    connection runs one import at a time) and enqueue its first run."""
    open_sync = ShopSync.objects.filter(connection=connection, status__in=[ShopSync.Status.RUNNING,
                                                                           ShopSync.Status.WAITING]).first()
    if open_sync:
        return open_sync
    try:
        with transaction.atomic():
            sync = ShopSync.objects.create(connection=connection, kind=kind, since=since)
            _enqueue_sync(sync.pk)
    except IntegrityError:
        return ShopSync.objects.get(connection=connection, status__in=[ShopSync.Status.RUNNING,
                                                                       ShopSync.Status.WAITING])
    return sync


def backfill_start(*, connection: ShopConnection, days: int, now: dt.datetime | None = None) -> ShopSync:
    if not 1 <= days <= 3650:
        raise ShopServiceError(_("Import between 1 and 3650 days."))
    now = now or timezone.now()
    return sync_start(connection=connection, kind=ShopSync.Kind.BACKFILL, since=now - dt.timedelta(days=days))


def reconcile_start(*, connection: ShopConnection, now: dt.datetime | None = None) -> ShopSync | None:
    """Fetch orders changed since the last import, so a missed webhook costs minutes, not data."""
    if not connection.enabled or not connector_for(connection).has_api_access:
        return None
    now = now or timezone.now()
    since = (connection.synced_until - RECONCILE_OVERLAP) if connection.synced_until else now - FIRST_RECONCILE_WINDOW
    return sync_start(connection=connection, kind=ShopSync.Kind.RECONCILE, since=since)


def _enqueue_sync(sync_id: int, delay: float | None = None) -> None:
    queue.enqueue("shops.run_sync", sync_id, delay=delay)


def sync_run(sync_id: int, *, max_pages: int = PAGES_PER_RUN, sleep=None) -> ShopSync:
    """Fetch up to ``max_pages`` pages of an import, each page's orders stored with its cursor
    in one transaction, so a crash between pages loses nothing and repeats nothing. Rate
    limits longer than a connector waits in place pause the import until ``resume_at``."""
    sync = ShopSync.objects.select_related("connection").get(pk=sync_id)
    if sync.status not in (ShopSync.Status.RUNNING, ShopSync.Status.WAITING):
        return sync
    connection = sync.connection
    connector = connector_for(connection, **({"sleep": sleep} if sleep else {}))
    ShopSync.objects.filter(pk=sync.pk).update(status=ShopSync.Status.RUNNING, resume_at=None,
                                               heartbeat_at=timezone.now())
    for _page_number in range(max_pages):
        try:
            page = connector.fetch_orders(updated_since=sync.since, cursor=sync.cursor or None)
        except RateLimited as exc:
            return _sync_pause(sync, exc.retry_after, str(exc))
        except TemporaryShopError as exc:
            return _sync_pause(sync, 60.0, str(exc))
        except ShopError as exc:  # credentials, a wrong store address: retrying will not help
            return _sync_end(sync, ShopSync.Status.FAILED, str(exc))
        created = updated = skipped = 0
        problems = list(page.skipped)
        previous_cursor, previous_pages = sync.cursor, sync.pages
        try:
            with transaction.atomic():
                for order in page.orders:
                    try:
                        with transaction.atomic():
                            _, outcome = shop_orders.order_sync_from_shop(source=connection.order_prefix, order=order)
                    except retention_services.RetentionError as exc:
                        problems.append(f"order {order.number}: {exc}")
                        continue
                    created += outcome == shop_orders.CREATED
                    updated += outcome == shop_orders.UPDATED
                skipped = len(problems)
                sync.cursor = page.next_cursor or ""
                sync.pages += 1
                sync.orders_seen += len(page.orders) + len(page.skipped)
                sync.orders_created += created
                sync.orders_updated += updated
                sync.orders_skipped += skipped
                if problems:
                    sync.error = (sync.error + "\n" + "\n".join(problems)).strip()[-5000:]
                # Saved only if no other run of this import moved it meanwhile (a sweep that
                # thought this worker dead): the page then belongs to that run, and this one stops.
                moved = ShopSync.objects.filter(pk=sync.pk, cursor=previous_cursor, pages=previous_pages).update(
                    cursor=sync.cursor, pages=sync.pages, orders_seen=sync.orders_seen,
                    orders_created=sync.orders_created, orders_updated=sync.orders_updated,
                    orders_skipped=sync.orders_skipped, error=sync.error, heartbeat_at=timezone.now())
                if not moved:
                    raise _Overtaken
        except _Overtaken:
            return ShopSync.objects.get(pk=sync.pk)
        if page.next_cursor is None:
            return _sync_end(sync, ShopSync.Status.DONE, sync.error)
    _enqueue_sync(sync.pk)
    return ShopSync.objects.get(pk=sync.pk)


def _sync_pause(sync: ShopSync, seconds: float, reason: str) -> ShopSync:
    resume_at = timezone.now() + dt.timedelta(seconds=max(seconds, 1.0))
    ShopSync.objects.filter(pk=sync.pk).update(status=ShopSync.Status.WAITING, resume_at=resume_at,
                                               error=reason[:5000], heartbeat_at=timezone.now())
    _enqueue_sync(sync.pk, delay=max(seconds, 1.0))
    return ShopSync.objects.get(pk=sync.pk)


@transaction.atomic
def _sync_end(sync: ShopSync, status: str, error: str) -> ShopSync:
    now = timezone.now()
    ShopSync.objects.filter(pk=sync.pk).update(status=status, error=error[:5000], finished_at=now, heartbeat_at=now)
    connection = ShopConnection.objects.select_for_update().get(pk=sync.connection_id)
    if status == ShopSync.Status.DONE:
        # Everything changed before this import started is here now; the next reconcile starts there.
        if connection.synced_until is None or sync.started_at > connection.synced_until:
            connection.synced_until = sync.started_at
        connection.last_error = ""
    else:
        connection.last_error = error[:2000]
    connection.save(update_fields=["synced_until", "last_error"])
    return ShopSync.objects.get(pk=sync.pk)


def syncs_resume_stale(*, now: dt.datetime | None = None) -> int:
    """Enqueue imports whose worker died (no heartbeat for a while) or whose rate-limit pause
    is over. The database, not the queue, is the record of what is left to do."""
    now = now or timezone.now()
    stale = list(ShopSync.objects.filter(status=ShopSync.Status.RUNNING, heartbeat_at__lt=now - STALE_SYNC_AFTER)
                 .values_list("pk", flat=True))
    stale += list(ShopSync.objects.filter(status=ShopSync.Status.WAITING, resume_at__lte=now).values_list("pk", flat=True))
    for sync_id in stale:
        ShopSync.objects.filter(pk=sync_id).update(heartbeat_at=now)
        _enqueue_sync(sync_id)
    return len(stale)


def reconcile_all(*, now: dt.datetime | None = None) -> int:
    started = 0
    for connection in ShopConnection.objects.filter(enabled=True):
        started += reconcile_start(connection=connection, now=now) is not None
    return started
