"""Suite-wide fixtures and markers.

Fixtures (from ``tests.browser``): ``chromium_browser``, ``new_context``, ``browser_context``,
``new_page``, ``page``, ``live_asgi_server``, ``redis_server_url``, ``redis_channel_layer``.

Markers:
  browser      runs real Chromium (added automatically to tests that use a browser fixture)
  postgres     needs the PostgreSQL test database; skipped on SQLite
  redis        talks to a real Redis (one is started if TEST_REDIS_URL is not set)
  integration  starts real servers or subprocesses
"""

from __future__ import annotations

import asyncio
import os

import pytest

from tests.browser import (  # noqa: F401 - fixtures are found by name
    BROWSER_FIXTURES,
    browser_context,
    browser_problems_key,
    chromium_browser,
    live_asgi_server,
    live_servers_key,
    new_context,
    new_page,
    page,
    playwright_loop,
    redis_channel_layer,
    redis_server_url,
)

MARKERS = {
    "browser": "runs real Chromium through Playwright (deselect with -m 'not browser')",
    "postgres": "needs the PostgreSQL test database (DATABASE_URL); skipped on SQLite",
    "redis": "talks to a real Redis server",
    "integration": "starts real servers or subprocesses on loopback",
}


def pytest_configure(config):
    for name, description in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if BROWSER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)


def _uses_browser(item) -> bool:
    return bool(BROWSER_FIXTURES.intersection(getattr(item, "fixturenames", ())))


_saved_loop_key = pytest.StashKey[asyncio.AbstractEventLoop | None]()
_saved_env_key = pytest.StashKey[str | None]()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Keep Playwright's event loop from leaking into tests.

    Between calls Playwright's sync API leaves its loop marked as running in the main
    thread, for the rest of the session once a browser test has run. For a browser test that
    is unavoidable, and Django's ORM is allowed despite it (no other loop runs there). For
    every other test the mark is cleared until its teardown ends, so ORM calls and
    ``async_to_sync`` behave as if no browser existed.
    """
    if _uses_browser(item):
        item.stash[_saved_env_key] = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    else:
        loop = asyncio._get_running_loop()
        if loop is not None and loop is playwright_loop():
            item.stash[_saved_loop_key] = loop
            asyncio._set_running_loop(None)
    if item.get_closest_marker("postgres"):
        _skip_unless_postgres()


def _skip_unless_postgres() -> None:
    try:
        from django.conf import settings

        engine = settings.DATABASES["default"]["ENGINE"]
    except Exception:  # noqa: BLE001 - no Django configured at all
        engine = ""
    if "postgresql" not in engine:
        pytest.skip("needs PostgreSQL: run under `python -m tests.servers --postgres -- pytest`")


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_runtest_teardown(item, nextitem):
    yield
    if _saved_env_key in item.stash:
        previous = item.stash[_saved_env_key]
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous
    if _saved_loop_key in item.stash:
        asyncio._set_running_loop(item.stash[_saved_loop_key])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach the live server's log and the browser's console errors to a failed test."""
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    for server in item.stash.get(live_servers_key, []):
        report.sections.append((f"live ASGI server {server} log", server.log() or "(empty)"))
    problems = item.stash.get(browser_problems_key, [])
    if problems:
        report.sections.append(("browser console errors", "\n".join(problems)))


@pytest.fixture(autouse=True)
def _fresh_channel_layer():
    """Each test gets its own channel-layer instance. channels_redis keeps one ``receive_lock``
    per layer instance, bound to the event loop that first waited on it: shared across tests'
    loops (each ``asyncio.run``), it raised "Lock ... is bound to a different event loop" in the
    PostgreSQL + Redis run."""
    yield
    from channels.layers import channel_layers

    channel_layers.backends.clear()
