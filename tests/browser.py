"""Fixtures for end-to-end tests: real Chromium (Playwright) against the real ASGI app.

``live_asgi_server`` runs ``config.asgi:application`` under Daphne in a subprocess, so the
browser talks to the same stack as production: HTTP, websockets, the Redis channel layer.
The subprocess shares the test database, which is why it needs a database a second process
can open: the PostgreSQL ``DATABASE_URL`` or, for SQLite, a file (``TEST_SQLITE_PATH``).
``python -m tests.servers --sqlite-file -- pytest`` (or ``--postgres``) sets that up.

Typical test::

    @pytest.mark.django_db(transaction=True)
    def test_agent_sees_new_message(live_asgi_server, new_page):
        agent = new_page()
        agent.goto(f"{live_asgi_server}/inbox/")
        services.message_receive(...)      # broadcasts through Redis to the server
        agent.get_by_text("hello").wait_for()

Playwright's sync API marks its event loop as running in the test's thread between calls.
Django's ORM then refuses to run (``SynchronousOnlyOperation``) and ``async_to_sync`` refuses
too. ``tests.conftest`` sets ``DJANGO_ALLOW_ASYNC_UNSAFE`` for browser tests, so ORM calls
work, and ``chromium_browser`` lets ``async_to_sync`` called from test code step around the
mark (see ``_async_to_sync_beside_playwright``), so services that broadcast work too. Other
code that needs no running loop (``asyncio.run``) goes inside ``outside_browser_loop()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.servers import START_TIMEOUT, STOP_TIMEOUT, RedisServer, ServerError, free_port

REPO_ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Flags that keep Chromium off the network (loopback only) and usable as root in CI.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
#: Upper bound for one Playwright action or wait, also for ``expect`` assertions (whose own
#: default is 5 s: on a loaded 2-core CI machine the first bot answer of a fresh server, which
#: loads the sentence encoder, took longer). Only a failing test waits this long.
BROWSER_TIMEOUT_MS = int(os.environ.get("BROWSER_TIMEOUT_MS", "15000"))
ASGI_APP = os.environ.get("LIVE_ASGI_APP", "config.asgi:application")

#: Fixtures that start or use the browser; tests using any of them get the ``browser`` marker.
BROWSER_FIXTURES = frozenset({"chromium_browser", "new_context", "browser_context", "new_page", "page"})

_playwright_loop: asyncio.AbstractEventLoop | None = None


# --- Playwright and the event loop ----------------------------------------------------------


def playwright_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop of the running Playwright session, if one is running."""
    return _playwright_loop


@contextlib.contextmanager
def outside_browser_loop() -> Iterator[None]:
    """Run Django code that uses ``async_to_sync`` inside a browser test.

    Clears the "running loop" mark Playwright leaves on this thread and puts it back after;
    no Playwright call may happen inside the block.
    """
    loop = asyncio._get_running_loop()
    asyncio._set_running_loop(None)
    try:
        yield
    finally:
        asyncio._set_running_loop(loop)


@contextlib.contextmanager
def _async_to_sync_beside_playwright() -> Iterator[None]:
    """Let ``async_to_sync`` work in browser tests without ``outside_browser_loop``.

    Services broadcast through ``async_to_sync``, and ``inbox.events`` logs and swallows
    errors, so a broadcast refused because of Playwright's loop mark would vanish silently.
    While Playwright runs, a call made from the thread's main greenlet (test code, where
    that loop is only marked, not running) clears the mark for its duration.
    """
    import greenlet
    from asgiref.sync import AsyncToSync

    original = AsyncToSync.__call__

    def __call__(self, *args, **kwargs):
        loop = asyncio._get_running_loop()
        if loop is None or loop is not _playwright_loop or greenlet.getcurrent().parent is not None:
            return original(self, *args, **kwargs)
        with outside_browser_loop():
            return original(self, *args, **kwargs)

    AsyncToSync.__call__ = __call__
    try:
        yield
    finally:
        AsyncToSync.__call__ = original


def _browser_missing(reason: str) -> None:
    """Skip locally, fail in CI: CI sets up the browser and a shared database itself, so
    their absence there is a bug."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_browser():
    """One headless Chromium for the session (Debian's, never a downloaded one)."""
    global _playwright_loop
    if not os.path.exists(CHROMIUM_PATH):
        _browser_missing(f"Chromium not found at {CHROMIUM_PATH}; run scripts/install-system-deps.sh")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS, headless=True)
    except BaseException:
        playwright.stop()
        raise
    _playwright_loop = playwright._loop
    try:
        with _async_to_sync_beside_playwright():
            yield browser
    finally:
        # Stopping needs the loop marked as running in this thread, as between any two calls.
        asyncio._set_running_loop(_playwright_loop)
        try:
            browser.close()
        finally:
            playwright.stop()
            _playwright_loop = None


@pytest.fixture
def new_context(chromium_browser, request) -> Callable:
    """Factory: ``new_context(**playwright_context_options)`` -> a fresh BrowserContext.

    Each context has its own cookies and storage, i.e. its own user; open several for
    two-user tests. All are closed at teardown. Console errors and uncaught page errors are
    attached to the report of a failing test.
    """
    contexts = []
    problems: list[str] = request.node.stash.setdefault(browser_problems_key, [])
    csp_violations: list[str] = []

    def factory(**options):
        context = chromium_browser.new_context(**options)
        context.set_default_timeout(BROWSER_TIMEOUT_MS)
        from playwright.sync_api import expect

        expect.set_options(timeout=BROWSER_TIMEOUT_MS)
        label = f"context {len(contexts) + 1}"

        def on_console(msg):
            if msg.type in ("error", "warning"):
                problems.append(f"[{label}] console.{msg.type}: {msg.text}")
                if "Content Security Policy" in msg.text:
                    csp_violations.append(f"[{label}] {msg.text}")

        def on_page(page):
            page.on("console", on_console)
            page.on("pageerror", lambda exc: problems.append(f"[{label}] page error: {exc}"))

        context.on("page", on_page)
        contexts.append(context)
        return context

    yield factory
    for context in contexts:
        with contextlib.suppress(Exception):
            context.close()
    if csp_violations:
        # every browser test also checks that its pages work under the Content-Security-Policy
        pytest.fail("Content-Security-Policy violations:\n" + "\n".join(csp_violations), pytrace=False)


@pytest.fixture
def browser_context(new_context):
    """A fresh BrowserContext for this test."""
    return new_context()


@pytest.fixture
def new_page(new_context) -> Callable:
    """Factory: ``new_page(**context_options)`` -> a page in a new context (a new user)."""

    def factory(**options):
        return new_context(**options).new_page()

    return factory


@pytest.fixture
def page(new_page):
    """A page in a fresh context."""
    return new_page()


def login(context, user, *, base_url: str) -> None:
    """Log ``user`` in for ``context`` (a BrowserContext) without going through the form.

    Uses Django's test client ``force_login`` to create a session in the shared database and
    copies its cookie into the browser.
    """
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": base_url}])


browser_problems_key = pytest.StashKey[list]()
live_servers_key = pytest.StashKey[list]()


# --- Redis -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_server_url():
    """``TEST_REDIS_URL`` if set (``python -m tests.servers --redis``), else a Redis started
    for this session.

    Under pytest-xdist each worker gets its own database number, since tests flush it.
    """
    url = os.environ.get("TEST_REDIS_URL")
    server = None
    if not url:
        try:
            server = RedisServer().start()
        except ServerError as exc:
            pytest.fail(f"could not start Redis for the tests: {exc}", pytrace=False)
        url = server.url()
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if worker.startswith("gw"):
        parsed = urllib.parse.urlsplit(url)
        url = urllib.parse.urlunsplit(parsed._replace(path=f"/{1 + int(worker[2:]) % 15}"))
    try:
        yield url
    finally:
        if server is not None:
            server.stop()


def flush_redis(url: str) -> None:
    """Empty the Redis database of ``url``: channel groups and cache keys from an earlier test
    must not reach this one."""
    parsed = urllib.parse.urlsplit(url)
    db = (parsed.path or "/0").lstrip("/") or "0"
    replies = _redis_pipeline(parsed.hostname, parsed.port or 6379, [["SELECT", db], ["FLUSHDB"]])
    if replies != [b"+OK", b"+OK"]:
        raise RuntimeError(f"SELECT/FLUSHDB on {url} answered {replies!r}")


def _redis_pipeline(host: str, port: int, commands: list[list[str]]) -> list[bytes]:
    """Send commands in one connection; return the first reply line of each."""
    payload = b""
    for args in commands:
        payload += f"*{len(args)}\r\n".encode()
        for arg in args:
            data = arg.encode()
            payload += b"$%d\r\n%s\r\n" % (len(data), data)
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(payload)
        data = b""
        while data.count(b"\r\n") < len(commands):
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    return data.split(b"\r\n")[: len(commands)]


@pytest.fixture
def redis_channel_layer(settings, redis_server_url):
    """Point this process's channel layer at the test Redis (the one ``live_asgi_server``
    uses), so broadcasts from the test reach consumers in the server. Returns the layer."""
    from channels.layers import get_channel_layer

    flush_redis(redis_server_url)
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [redis_server_url]},
        }
    }
    return get_channel_layer()


# --- the live ASGI server ----------------------------------------------------------------------


class LiveServerURL(str):
    """The server's base URL (``http://127.0.0.1:PORT``, no trailing slash), with details."""

    port: int
    ws_url: str
    log_path: Path
    process: subprocess.Popen

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


def database_url_for_subprocess() -> str:
    """A ``DATABASE_URL`` naming the test database this process uses right now."""
    from django.db import connection

    conf = connection.settings_dict
    engine = conf["ENGINE"]
    name = str(conf["NAME"])
    if "sqlite" in engine:  # Django's backend or config.sqlite, which the settings put back
        if not name or connection.is_in_memory_db():
            raise RuntimeError(
                "live_asgi_server needs a test database a second process can open, but the "
                "SQLite test database is in memory. Run the tests with TEST_SQLITE_PATH set "
                "(python -m tests.servers --sqlite-file -- pytest ...) or with a PostgreSQL "
                "DATABASE_URL (python -m tests.servers --postgres -- pytest ...)."
            )
        # The same OPTIONS (timeout, WAL, IMMEDIATE transactions) as this process, so two
        # writers wait for each other instead of failing with "database is locked".
        query = urllib.parse.urlencode({k: v for k, v in (conf.get("OPTIONS") or {}).items()})
        return f"sqlite:///{urllib.parse.quote(name)}" + (f"?{query}" if query else "")
    if "postgresql" in engine:
        user = urllib.parse.quote(conf.get("USER") or "", safe="")
        password = urllib.parse.quote(conf.get("PASSWORD") or "", safe="")
        auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        host = conf.get("HOST") or "127.0.0.1"
        port = f":{conf['PORT']}" if conf.get("PORT") else ""
        return f"postgres://{auth}{host}{port}/{urllib.parse.quote(name, safe='')}"
    raise RuntimeError(f"live_asgi_server does not know how to share a {engine} database")


def _answers_http(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/")
        conn.getresponse().read()
        return True
    except OSError:
        return False
    finally:
        conn.close()


def start_live_server(env_overrides: dict[str, str], log_dir: Path) -> LiveServerURL:
    """Start Daphne serving ``ASGI_APP`` on a free loopback port; return once it answers HTTP."""
    env = dict(os.environ)
    env.pop("TEST_SQLITE_PATH", None)  # the server opens the test database as its main one
    env.update(env_overrides)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    log_path = log_dir / "daphne.log"
    for _attempt in range(5):
        port = free_port()
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "--access-log", "-", ASGI_APP],
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                process_group=0,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            if _answers_http(port):
                server = LiveServerURL(f"http://127.0.0.1:{port}")
                server.port = port
                server.ws_url = f"ws://127.0.0.1:{port}"
                server.log_path = log_path
                server.process = process
                return server
            time.sleep(0.05)
        else:
            stop_live_server(process)
            raise RuntimeError(
                f"Daphne did not answer HTTP on port {port} within {START_TIMEOUT:.0f}s. Log:\n"
                + log_path.read_text(errors="replace")
            )
        text = log_path.read_text(errors="replace")
        if "address already in use" not in text.lower():
            raise RuntimeError(f"Daphne exited with code {process.returncode} during start-up. Log:\n{text}")
    raise RuntimeError("Daphne found no free port after 5 attempts. Log:\n" + log_path.read_text(errors="replace"))


def stop_live_server(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def live_asgi_server(request, transactional_db, redis_channel_layer, redis_server_url, settings):
    """The real ASGI app under Daphne in a subprocess; yields its base URL (a ``str``).

    Shares this test's database (committed data only, hence ``transactional_db``) and Redis:
    the server's channel layer and cache, and this process's too (see
    ``redis_channel_layer``). Tasks run inline (``HUEY_IMMEDIATE=1``). The server log is
    attached to the report of a failing test.
    """
    try:
        database_url = database_url_for_subprocess()
    except RuntimeError as exc:
        # Same rule as a missing Chromium: CI wraps pytest in tests.servers, so there this
        # is a broken setup; a bare local `pytest` skips the end-to-end tests instead.
        _browser_missing(str(exc))
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_server_url}
    }
    log_dir = Path(tempfile.mkdtemp(prefix="test-daphne-"))
    env = {
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE") or settings.SETTINGS_MODULE,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_server_url,
        "HUEY_IMMEDIATE": "1",
        "WORKER_IN_SERVER": "0",
        "DEBUG": "1",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECRET_KEY": settings.SECRET_KEY,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "LANGUAGE_CODE": settings.LANGUAGE_CODE,  # the suite's defaults (English), like this process
        "DEMO_LANGUAGE": settings.DEMO_LANGUAGE,
    }
    try:
        server = start_live_server(env, log_dir)
    except RuntimeError as exc:
        shutil.rmtree(log_dir, ignore_errors=True)
        pytest.fail(str(exc), pytrace=False)
    request.node.stash.setdefault(live_servers_key, []).append(server)
    try:
        yield server
    finally:
        stop_live_server(server.process)
        shutil.rmtree(log_dir, ignore_errors=True)


def screenshot_path(name: str) -> Path:
    """Where a test saves a screenshot: ``docs/screenshots/`` with ``UPDATE_SCREENSHOTS=1``
    (to refresh the README's pictures), else a temporary folder, so a test run never changes
    tracked files."""
    import tempfile

    if os.environ.get("UPDATE_SCREENSHOTS"):
        folder = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
    else:
        folder = Path(tempfile.gettempdir()) / "inbox-screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name
