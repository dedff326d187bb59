"""Imports against the loopback fakes: pages, resume after a crash, rate limits, credentials."""

import datetime as dt

import pytest
from django.utils import timezone

from retention.models import Order
from shops import services
from shops.models import ShopSync
from tests.fakes.shop_platforms import FakeShopPlatforms

from .contract import SINCE
from .helpers import make_connection
from . import test_nuvemshop_connector, test_shopify_connector, test_woocommerce_connector

pytestmark = pytest.mark.django_db(transaction=True)

CONTRACTS = {"shopify": test_shopify_connector.TestShopifyConnector(),
             "woocommerce": test_woocommerce_connector.TestWooCommerceConnector(),
             "nuvemshop": test_nuvemshop_connector.TestNuvemshopConnector()}
NOW = SINCE + dt.timedelta(days=20)


def load(fake, platform: str, count: int, start=SINCE) -> None:
    contract = CONTRACTS[platform]
    fake.orders[platform] = [contract.api_order(n, start + dt.timedelta(hours=n)) for n in range(1, count + 1)]


@pytest.fixture
def small_pages(monkeypatch):
    from shop_connectors import nuvemshop, shopify, woocommerce

    for module in (shopify, woocommerce, nuvemshop):
        monkeypatch.setattr(module, "PAGE_SIZE", 3)


@pytest.mark.parametrize("platform", ["shopify", "woocommerce", "nuvemshop"])
def test_backfill_imports_every_page(platform, settings, small_pages):
    with FakeShopPlatforms() as fake:
        load(fake, platform, 8)
        connection = make_connection(platform, fake, settings=settings)
        sync = services.backfill_start(connection=connection, days=30, now=NOW)
    sync.refresh_from_db()
    assert sync.status == ShopSync.Status.DONE, sync.error
    assert (sync.orders_seen, sync.orders_created, sync.orders_skipped) == (8, 8, 0)
    assert sync.pages >= 3
    assert Order.objects.filter(source=connection.order_prefix).count() == 8
    connection.refresh_from_db()
    assert connection.synced_until == sync.started_at


def test_import_resumes_from_its_cursor_after_a_crash(settings, small_pages, monkeypatch):
    with FakeShopPlatforms() as fake:
        load(fake, "shopify", 7)
        connection = make_connection("shopify", fake)
        sync = ShopSync.objects.create(connection=connection, kind=ShopSync.Kind.BACKFILL, since=SINCE)
        with monkeypatch.context() as patch:
            patch.setattr(services, "_enqueue_sync", lambda *a, **k: None)  # the worker dies after the first page...
            services.sync_run(sync.pk, max_pages=1)
        sync.refresh_from_db()
        assert sync.status == ShopSync.Status.RUNNING and sync.pages == 1 and sync.cursor
        assert Order.objects.count() == 3
        first_requests = len(fake.requests)
        # ...and a minute later the sweep finds the import without a heartbeat and goes on.
        assert services.syncs_resume_stale(now=timezone.now()) == 0  # not stale yet
        assert services.syncs_resume_stale(now=timezone.now() + dt.timedelta(minutes=10)) == 1
        later = [r.query for r in fake.requests[first_requests:]]
    sync.refresh_from_db()
    assert sync.status == ShopSync.Status.DONE and sync.orders_created == 7 and Order.objects.count() == 7
    assert "page_info" in later[0]  # it went on from the cursor, not from the first page
    assert all("updated_at_min" not in q for q in later)


def test_long_rate_limit_pauses_the_import_until_resume_at(settings):
    with FakeShopPlatforms() as fake:
        load(fake, "shopify", 2)
        connection = make_connection("shopify", fake)
        fake.fail_next(status=429, headers={"Retry-After": "90"})
        sync = services.backfill_start(connection=connection, days=30, now=NOW)
        sync.refresh_from_db()
        assert sync.status == ShopSync.Status.WAITING and "rate limit" in sync.error
        assert sync.resume_at > timezone.now() + dt.timedelta(seconds=80)
        assert services.syncs_resume_stale(now=timezone.now()) == 0
        assert services.syncs_resume_stale(now=sync.resume_at + dt.timedelta(seconds=1)) == 1
    sync.refresh_from_db()
    assert sync.status == ShopSync.Status.DONE and sync.orders_created == 2


def test_short_rate_limit_is_waited_in_place(settings):
    with FakeShopPlatforms() as fake:
        load(fake, "nuvemshop", 2)
        connection = make_connection("nuvemshop", fake, settings=settings)
        fake.fail_next(status=429, headers={"Retry-After": "3"})
        sync = ShopSync.objects.create(connection=connection, kind=ShopSync.Kind.BACKFILL, since=SINCE)
        waits = []
        services.sync_run(sync.pk, sleep=waits.append)
    sync.refresh_from_db()
    assert sync.status == ShopSync.Status.DONE and waits == [3.0]


def test_wrong_credentials_fail_the_import_and_the_test_with_a_clear_error(settings):
    with FakeShopPlatforms() as fake:
        connection = make_connection("woocommerce", fake)
        connection = services.connection_update(connection=connection, credentials_in={"consumer_secret": "wrong"})
        ok, message = services.connection_test(connection=connection)
        assert not ok and "refused the credentials (401)" in message
        sync = services.backfill_start(connection=connection, days=7, now=NOW)
    sync.refresh_from_db()
    connection.refresh_from_db()
    assert sync.status == ShopSync.Status.FAILED and "refused the credentials" in sync.error
    assert connection.last_test_ok is False and "refused" in connection.last_error


def test_connection_test_ok(settings):
    with FakeShopPlatforms() as fake:
        connection = make_connection("nuvemshop", fake, settings=settings)
        assert services.connection_test(connection=connection) == (True, "Connected to Loja Nuvem Fake.")


def test_one_bad_order_is_skipped_and_its_neighbours_imported(settings):
    with FakeShopPlatforms() as fake:
        load(fake, "shopify", 3)
        bad = fake.orders["shopify"][1]
        bad.update(email=None, contact_email=None, phone=None, customer={}, shipping_address={}, billing_address={})
        fake.orders["shopify"][2]["currency"] = "R$"
        connection = make_connection("shopify", fake)
        sync = services.backfill_start(connection=connection, days=30, now=NOW)
    sync.refresh_from_db()
    assert sync.status == ShopSync.Status.DONE
    assert (sync.orders_created, sync.orders_skipped) == (1, 2)
    assert "e-mail address or a phone" in sync.error and "three-letter" in sync.error


def test_reconcile_fetches_what_changed_since_the_last_import(settings):
    with FakeShopPlatforms() as fake:
        load(fake, "woocommerce", 2)
        connection = make_connection("woocommerce", fake)
        services.backfill_start(connection=connection, days=30, now=NOW)
        connection.refresh_from_db()
        # a webhook was missed: order 702 completed afterwards
        changed = fake.orders["woocommerce"][1]
        changed.update(status="completed",
                       date_modified_gmt=(timezone.now() + dt.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S"))
        assert services.reconcile_all() == 1
        query = fake.requests[-1].query
    assert query["modified_after"] >= (connection.synced_until - services.RECONCILE_OVERLAP).strftime("%Y-%m-%dT%H:%M")
    assert Order.objects.get(external_id=f"{connection.order_prefix}702").status == "shipped"
    assert ShopSync.objects.filter(kind=ShopSync.Kind.RECONCILE, status=ShopSync.Status.DONE).count() == 1


def test_reconcile_skips_connections_without_api_access():
    make_connection("shopify", with_api=False)
    assert services.reconcile_all() == 0


def test_one_import_at_a_time(settings):
    with FakeShopPlatforms() as fake:
        connection = make_connection("shopify", fake)
        first = ShopSync.objects.create(connection=connection, kind=ShopSync.Kind.BACKFILL, since=SINCE)
        assert services.backfill_start(connection=connection, days=5).pk == first.pk


def test_two_runs_of_one_import_never_double_count(settings, small_pages, monkeypatch):
    """A sweep may think a slow worker dead and start a second run: the page is saved once."""
    with FakeShopPlatforms() as fake:
        load(fake, "shopify", 6)
        connection = make_connection("shopify", fake)
        sync = ShopSync.objects.create(connection=connection, kind=ShopSync.Kind.BACKFILL, since=SINCE)
        monkeypatch.setattr(services, "_enqueue_sync", lambda *a, **k: None)
        original = services.connector_for

        def slow_connector(*args, **kwargs):
            connector = original(*args, **kwargs)
            fetch = connector.fetch_orders

            def fetch_then_lose_the_race(**kw):
                page = fetch(**kw)
                if not getattr(slow_connector, "raced", False):
                    slow_connector.raced = True
                    services.sync_run(sync.pk, max_pages=1)  # the second run saves the first page first
                return page

            connector.fetch_orders = fetch_then_lose_the_race
            return connector

        monkeypatch.setattr(services, "connector_for", slow_connector)
        services.sync_run(sync.pk, max_pages=1)
    sync.refresh_from_db()
    assert (sync.pages, sync.orders_seen, sync.orders_created) == (1, 3, 3)
    assert Order.objects.count() == 3
