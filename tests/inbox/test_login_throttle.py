"""Login throttling on /login/ and /admin/login/: per account and per client IP, with a clear
message, counted in the shared cache (Redis across processes)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.cache import cache

from tests.factories import make_agent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_counters(settings):
    settings.AXES_FAILURE_LIMIT = 3  # fewer (slow, by design) password hashes per test
    cache.clear()
    yield
    cache.clear()


def login(client, username, password, *, url="/login/", ip="127.0.0.1"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=ip)


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.parametrize("url", ["/login/", "/admin/login/"])
def test_wrong_passwords_lock_the_account(client, url):
    make_agent("ana", staff=True)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert login(client, "ana", "wrong", url=url).status_code == 200
    assert login(client, "ana", "wrong", url=url).status_code == 429  # the last allowed failure locks
    locked = login(client, "ana", "pw-ana", url=url)
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode() and not logged_in(client)
    # the lock is on the account: from another address it stays locked
    assert login(client, "ana", "pw-ana", url=url, ip="192.0.2.7").status_code == 429


def test_many_accounts_from_one_address_lock_the_address(client):
    make_agent("bruno")
    for n in range(settings.AXES_FAILURE_LIMIT):
        login(client, f"nobody{n}", "guess", ip="198.51.100.9")
    assert login(client, "bruno", "pw-bruno", ip="198.51.100.9").status_code == 429
    assert login(client, "bruno", "pw-bruno", ip="198.51.100.10").status_code == 302  # another address is fine
    assert logged_in(client)


def test_a_few_mistakes_then_the_right_password_works(client):
    make_agent("carla")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        login(client, "carla", "typo")
    assert login(client, "carla", "pw-carla").status_code == 302 and logged_in(client)


def test_the_client_address_behind_a_proxy(client, settings):
    from inbox.login_throttle import client_ip
    from django.test import RequestFactory

    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.5")
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == "10.0.0.1"
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == "203.0.113.5"  # never the forgeable left-most entry


@pytest.mark.redis
def test_counters_are_shared_across_processes_through_redis(client, settings):
    """Runs in the PostgreSQL + Redis suite (``--redis-as-default``): another process, with
    nothing but REDIS_URL in common, sees the lockout."""
    if not settings.REDIS_URL:
        pytest.skip("needs Redis as the cache: run under `python -m tests.servers --redis --redis-as-default`")
    make_agent("dora")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, "dora", "wrong")
    check = (
        "import django; django.setup()\n"
        "from django.conf import settings; settings.AXES_FAILURE_LIMIT = 3\n"
        "from django.test import RequestFactory\n"
        "from axes.handlers.proxy import AxesProxyHandler\n"
        "r = RequestFactory().post('/login/', REMOTE_ADDR='192.0.2.99')\n"
        "r.axes_ip_address = '192.0.2.99'; r.axes_user_agent = ''; r.axes_path_info = '/login/'\n"
        "r.axes_http_accept = ''; import django.utils.timezone as tz; r.axes_attempt_time = tz.now()\n"
        "print('LOCKED' if AxesProxyHandler.is_locked(r, {'username': 'dora'}) else 'OPEN')\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DJANGO_TESTING": "1",
           "REDIS_URL": settings.REDIS_URL, "AXES_FAILURE_LIMIT_FOR_CHECK": "3"}
    other = subprocess.run([sys.executable, "-c", check], env=env, capture_output=True, text=True, timeout=60,
                           cwd=settings.BASE_DIR)
    assert other.stdout.strip().splitlines()[-1:] == ["LOCKED"], other.stderr[-2000:]
