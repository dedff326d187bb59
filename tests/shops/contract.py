"""Shared tests every shop connector must pass (like ``tests/adapters/contract.py``).

A subclass sets ``connector_class`` and ``platform``, and implements ``config(fake)``,
``signed_headers(body, topic)``, ``api_order(n, updated_at)`` (the platform's JSON for an
order in its API) and ``expectations()`` (a check per fixture file; a fixture without one
fails the suite). Fakes: ``tests.fakes.shop_platforms.FakeShopPlatforms``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shop_connectors.base import (
    STATUSES, BaseShopConnector, CredentialsError, RateLimited, ShopEvent, TemporaryShopError, WebhookRejected,
)
from tests.fakes.shop_platforms import FakeShopPlatforms

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "shops"
SECRET = "whsec_test_secret"
SINCE = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)


class ShopConnectorContract:
    connector_class: type[BaseShopConnector]
    platform: str
    webhook_fixtures: tuple[str, ...] = ()  # files that are webhook bodies (others are API objects)
    has_bucket = True  # the platform announces a leaky bucket in its headers

    def config(self, fake: FakeShopPlatforms | None = None, **overrides) -> dict[str, Any]:
        raise NotImplementedError

    def signed_headers(self, body: bytes, topic: str, secret: str = SECRET) -> dict[str, str]:
        raise NotImplementedError

    def topic_of(self, fixture: str) -> str:
        raise NotImplementedError

    def api_order(self, n: int, updated_at: dt.datetime) -> dict[str, Any]:
        raise NotImplementedError

    def expectations(self) -> dict[str, Callable[[ShopEvent], None]]:
        raise NotImplementedError

    # helpers --------------------------------------------------------------------------------------

    def connector(self, fake=None, **overrides) -> BaseShopConnector:
        waits: list[float] = []
        connector = self.connector_class({**self.config(fake, **overrides), "sleep": waits.append})
        return connector

    def fixture_names(self) -> list[str]:
        return sorted(p.name for p in (FIXTURES / self.platform).glob("*.json"))

    def body(self, name: str) -> bytes:
        return (FIXTURES / self.platform / name).read_bytes()

    # webhooks -------------------------------------------------------------------------------------

    def test_every_fixture_has_an_expectation(self):
        assert sorted(self.expectations()) == self.fixture_names()

    def test_every_webhook_fixture_verifies_and_parses(self):
        connector = self.connector()
        for name, check in self.expectations().items():
            if name not in self.webhook_fixtures:
                continue
            body = self.body(name)
            headers = self.signed_headers(body, self.topic_of(name))
            connector.verify_webhook(body, headers)
            event = connector.parse_webhook(body, headers)
            assert event.order is not None or event.order_ref or event.ignored, name
            if event.order:
                assert event.order.status in STATUSES
            check(event)

    def test_altered_body_is_rejected(self):
        name = self.webhook_fixtures[0]
        body = self.body(name)
        headers = self.signed_headers(body, self.topic_of(name))
        with pytest.raises(WebhookRejected) as caught:
            self.connector().verify_webhook(body.replace(b"}", b', "x": 1}', 1), headers)
        assert caught.value.status_code == 401

    def test_wrong_secret_and_missing_signature_are_rejected(self):
        name = self.webhook_fixtures[0]
        body = self.body(name)
        with pytest.raises(WebhookRejected) as caught:
            self.connector().verify_webhook(body, self.signed_headers(body, self.topic_of(name), secret="other"))
        assert caught.value.status_code == 401
        with pytest.raises(WebhookRejected) as caught:
            self.connector().verify_webhook(body, {"Content-Type": "application/json"})
        assert caught.value.status_code == 401

    def test_connection_without_secret_refuses_every_webhook(self):
        name = self.webhook_fixtures[0]
        body = self.body(name)
        connector = self.connector_class({**self.config(), "webhook_secret": ""})
        with pytest.raises(WebhookRejected) as caught:
            connector.verify_webhook(body, self.signed_headers(body, self.topic_of(name)))
        assert caught.value.status_code == 403

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.differing_executors])
    @given(value=json_values)
    def test_garbage_bodies_raise_only_webhook_rejected(self, value):
        body = json.dumps(value).encode()
        connector = self.connector()
        headers = self.signed_headers(body, self.topic_of(self.webhook_fixtures[0]))
        try:
            connector.parse_webhook(body, headers)
        except WebhookRejected as exc:
            assert exc.status_code == 400

    def test_mutated_fixture_fields_never_crash_the_parser(self):
        name = self.webhook_fixtures[0]
        document = json.loads(self.body(name))
        connector = self.connector()
        for key in list(document):
            for value in (None, "", [], {}, "not a date", -1):
                body = json.dumps({**document, key: value}).encode()
                try:
                    event = connector.parse_webhook(body, self.signed_headers(body, self.topic_of(name)))
                except WebhookRejected as exc:
                    assert exc.status_code == 400
                else:
                    assert event.order is None or event.order.status in STATUSES

    # API against the fake -------------------------------------------------------------------------

    def _load(self, fake: FakeShopPlatforms, count: int) -> None:
        fake.orders[self.platform] = [self.api_order(n, SINCE + dt.timedelta(hours=n)) for n in range(1, count + 1)]

    def _all_pages(self, connector, since=SINCE) -> tuple[list, int]:
        cursor, orders, pages = None, [], 0
        while True:
            page = connector.fetch_orders(updated_since=since, cursor=cursor)
            pages += 1
            orders += page.orders
            cursor = page.next_cursor
            if cursor is None:
                return orders, pages

    def test_fetch_orders_pages_through_everything_changed_since(self, monkeypatch):
        module = __import__(self.connector_class.__module__, fromlist=["PAGE_SIZE"])
        monkeypatch.setattr(module, "PAGE_SIZE", 3)
        with FakeShopPlatforms() as fake:
            self._load(fake, 8)
            orders, pages = self._all_pages(self.connector(fake))
            assert sorted(int(o.order_id) for o in orders) == [self.api_order(n, SINCE)["id"] for n in range(1, 9)]
            assert pages >= 3
            later, _ = self._all_pages(self.connector(fake), since=SINCE + dt.timedelta(hours=6))
            assert len(later) == 3

    def test_fetch_order_by_id(self):
        with FakeShopPlatforms() as fake:
            self._load(fake, 2)
            order = self.connector(fake).fetch_order(str(self.api_order(2, SINCE)["id"]))
            assert order.order_id == str(self.api_order(2, SINCE)["id"])

    def test_rate_limit_waits_retry_after_then_succeeds(self):
        with FakeShopPlatforms() as fake:
            self._load(fake, 2)
            fake.fail_next(status=429, headers={"Retry-After": "2.0"}, times=2)
            connector = self.connector(fake)
            page = connector.fetch_orders(updated_since=SINCE)
            assert len(page.orders) == 2
            assert connector.waited[:2] == [2.0, 2.0]
            assert len(fake.requests) == 3

    def test_long_retry_after_raises_rate_limited_with_the_wait(self):
        with FakeShopPlatforms() as fake:
            fake.fail_next(status=429, headers={"Retry-After": "120"})
            with pytest.raises(RateLimited) as caught:
                self.connector(fake).fetch_orders(updated_since=SINCE)
            assert caught.value.retry_after == 120.0

    def test_server_errors_retry_then_raise_temporary(self):
        with FakeShopPlatforms() as fake:
            fake.fail_next(status=503, headers={"Retry-After": "0"}, times=10)
            with pytest.raises(TemporaryShopError):
                self.connector(fake).fetch_orders(updated_since=SINCE)
            assert len(fake.requests) == self.connector_class.max_retries + 1

    def test_nearly_full_bucket_slows_down(self):
        if not self.has_bucket:
            pytest.skip("this platform announces no rate-limit bucket")
        with FakeShopPlatforms() as fake:
            self._load(fake, 1)
            fake.bucket_used = 39
            connector = self.connector(fake)
            connector.fetch_orders(updated_since=SINCE)
            assert connector.waited == [1.0]

    def test_test_connection_names_the_shop(self):
        with FakeShopPlatforms() as fake:
            assert self.connector(fake).test_connection()

    def test_wrong_credentials_raise_credentials_error(self):
        with FakeShopPlatforms() as fake:
            with pytest.raises(CredentialsError) as caught:
                self.connector(fake, wrong_credentials=True).test_connection()
            assert "refused the credentials" in str(caught.value)

    def test_unreachable_store_is_temporary(self):
        with FakeShopPlatforms() as fake:
            config = self.config(fake)
        with pytest.raises(TemporaryShopError):  # the fake has stopped: connection refused
            self.connector_class({**config, "sleep": lambda s: None, "timeout": 2}).test_connection()

    def test_missing_credentials_are_a_clear_error(self):
        connector = self.connector_class({**self.config(), "credentials": {}})
        with pytest.raises(CredentialsError) as caught:
            connector.fetch_orders(updated_since=SINCE)
        assert "no API credentials" in str(caught.value)
