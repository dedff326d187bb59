"""The PostgreSQL/Redis launchers and their command-line wrapper, against real servers."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.servers import PostgresServer, RedisServer, redis_command

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parent.parent


def port_is_closed(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def test_postgres_server_accepts_queries_and_is_gone_after_stop():
    import psycopg

    with PostgresServer() as pg:
        url = pg.create_database("inbox")
        assert url == f"postgres://postgres@127.0.0.1:{pg.port}/inbox"
        with psycopg.connect(url) as conn:
            conn.execute("CREATE TABLE t (v text)")
            conn.execute("INSERT INTO t VALUES ('héllo')")
            assert conn.execute("SELECT v, current_database(), current_user FROM t").fetchone() == (
                "héllo",
                "inbox",
                "postgres",
            )
            # fsync off is what keeps test databases fast; check it took effect.
            assert conn.execute("SHOW fsync").fetchone() == ("off",)
            assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
        tmpdir, port = pg.tmpdir, pg.port
        assert (tmpdir / "socket" / f".s.PGSQL.{port}").exists()
    assert port_is_closed(port)
    assert not tmpdir.exists()


def test_two_postgres_servers_run_side_by_side():
    import psycopg

    with PostgresServer() as first, PostgresServer() as second:
        assert first.port != second.port
        with psycopg.connect(first.dsn()) as a, psycopg.connect(second.dsn()) as b:
            a.execute("CREATE TABLE only_in_first (x int)")
            a.commit()
            assert b.execute("SELECT to_regclass('only_in_first')").fetchone() == (None,)


@pytest.mark.redis
def test_redis_server_answers_ping_and_keeps_data_until_stop():
    with RedisServer() as redis:
        assert redis_command(redis.port, "PING") == b"+PONG"
        assert redis_command(redis.port, "SET", "k", "v") == b"+OK"
        assert redis_command(redis.port, "GET", "k") == b"$1"
        assert redis.url() == f"redis://127.0.0.1:{redis.port}/0"
        # Persistence is off: nothing is written to disk on shutdown.
        assert redis_command(redis.port, "CONFIG", "GET", "save") == b"*2"
        port, tmpdir = redis.port, redis.tmpdir
    assert port_is_closed(port)
    assert not tmpdir.exists()


def test_server_start_failure_reports_the_log():
    from tests.servers import ServerError

    class BrokenRedis(RedisServer):
        def _command(self, port):
            return super()._command(port) + ["--no-such-option", "x"]

    server = BrokenRedis()
    with pytest.raises(ServerError, match="exited during start-up") as excinfo:
        server.start()
    assert "no-such-option" in str(excinfo.value)
    assert server.tmpdir is None


# --- the command-line wrapper --------------------------------------------------------------

# The child reports what it sees as JSON on stdout, then exits with the requested code.
CHILD = textwrap.dedent(
    """
    import json, os, sys
    keys = ["DATABASE_URL", "TEST_REDIS_URL", "REDIS_URL", "TEST_SQLITE_PATH"]
    report = {key: os.environ.get(key) for key in keys}
    if report["DATABASE_URL"]:
        import psycopg
        with psycopg.connect(report["DATABASE_URL"]) as conn:
            report["db"] = conn.execute("SELECT current_database()").fetchone()[0]
    if report["TEST_REDIS_URL"]:
        from tests.servers import redis_command
        port = int(report["TEST_REDIS_URL"].rsplit(":", 1)[1].split("/")[0])
        report["ping"] = redis_command(port, "PING").decode()
    if report["TEST_SQLITE_PATH"]:
        report["sqlite_dir_exists"] = os.path.isdir(os.path.dirname(report["TEST_SQLITE_PATH"]))
    print(json.dumps(report), flush=True)
    sys.exit(int(sys.argv[1]))
    """
)


def run_cli(*options: str, exit_code: int = 0) -> tuple[int, dict]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TEST_REDIS_URL", "REDIS_URL", "TEST_SQLITE_PATH")}
    result = subprocess.run(
        [sys.executable, "-m", "tests.servers", *options, "--", sys.executable, "-c", CHILD, str(exit_code)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = result.stdout.strip().splitlines()
    assert lines, f"child printed nothing; stderr:\n{result.stderr}"
    return result.returncode, json.loads(lines[-1])


@pytest.mark.redis
def test_cli_exports_urls_runs_command_and_propagates_exit_code():
    code, seen = run_cli("--postgres", "--redis", exit_code=3)
    assert code == 3
    assert seen["db"] == "inbox"
    assert seen["DATABASE_URL"].startswith("postgres://postgres@127.0.0.1:")
    assert seen["DATABASE_URL"].endswith("/inbox")
    assert seen["ping"] == "+PONG"
    assert seen["REDIS_URL"] is None  # only --redis-as-default makes the app use Redis
    assert seen["TEST_SQLITE_PATH"] is None
    pg_port = int(seen["DATABASE_URL"].rsplit(":", 1)[1].split("/")[0])
    redis_port = int(seen["TEST_REDIS_URL"].rsplit(":", 1)[1].split("/")[0])
    assert port_is_closed(pg_port)
    assert port_is_closed(redis_port)


@pytest.mark.redis
def test_cli_redis_as_default_exports_redis_url():
    code, seen = run_cli("--redis-as-default")
    assert code == 0
    assert seen["REDIS_URL"] == seen["TEST_REDIS_URL"]
    assert seen["ping"] == "+PONG"
    assert seen["DATABASE_URL"] is None


def test_cli_sqlite_file_gives_a_path_in_a_temp_dir_removed_afterwards():
    code, seen = run_cli("--sqlite-file", exit_code=1)
    assert code == 1
    assert seen["sqlite_dir_exists"] is True
    assert not os.path.exists(os.path.dirname(seen["TEST_SQLITE_PATH"]))


def test_cli_unknown_command_exits_127():
    result = subprocess.run(
        [sys.executable, "-m", "tests.servers", "--redis", "--", "no-such-command-xyz"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 127
    assert "command not found: no-such-command-xyz" in result.stderr


def test_cli_without_command_is_a_usage_error():
    result = subprocess.run(
        [sys.executable, "-m", "tests.servers", "--redis"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "no command given" in result.stderr


# A child that reports its servers' ports, then waits for the test to signal the wrapper.
WAITING_CHILD = textwrap.dedent(
    """
    import os, sys
    print(os.environ["DATABASE_URL"], os.environ["TEST_REDIS_URL"], flush=True)
    sys.stdin.read()
    """
)


@pytest.mark.parametrize(
    ("signum", "to_group", "expected_codes"),
    [
        # Ctrl-C in a terminal reaches the whole foreground group: wrapper and child.
        (signal.SIGINT, True, {130}),
        # A CI runner stopping the job signals the wrapper, which stops the child.
        (signal.SIGTERM, False, {143}),
    ],
    ids=["ctrl-c", "sigterm"],
)
def test_cli_stops_servers_when_interrupted(signum, to_group, expected_codes):
    wrapper = subprocess.Popen(
        [sys.executable, "-m", "tests.servers", "--postgres", "--redis", "--", sys.executable, "-c", WAITING_CHILD],
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        process_group=0,
    )
    try:
        database_url, redis_url = wrapper.stdout.readline().split()
        pg_port = int(database_url.rsplit(":", 1)[1].split("/")[0])
        redis_port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
        assert not port_is_closed(pg_port)
        if to_group:
            os.killpg(wrapper.pid, signum)
        else:
            wrapper.send_signal(signum)
        code = wrapper.wait(timeout=60)
    finally:
        if wrapper.poll() is None:
            wrapper.kill()
            wrapper.wait()
        wrapper.stdin.close()
    assert code in expected_codes, wrapper.stderr.read()
    assert port_is_closed(pg_port)
    assert port_is_closed(redis_port)


def test_install_script_check_mode_reports_all_present():
    """CI runs the script before the suite, so here every package must be present."""
    result = subprocess.run(
        ["sh", str(REPO_ROOT / "scripts" / "install-system-deps.sh"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all present" in result.stdout


# --- the live ASGI server and the browser ------------------------------------------------------


def test_database_url_for_subprocess_names_this_test_database(db):
    import dj_database_url
    from django.db import connection

    from tests.browser import database_url_for_subprocess

    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        with pytest.raises(RuntimeError, match="TEST_SQLITE_PATH"):
            database_url_for_subprocess()
        return
    parsed = dj_database_url.parse(database_url_for_subprocess())
    # The settings turn dj_database_url's sqlite3 engine into config.sqlite (the write queue).
    assert parsed["ENGINE"] == connection.settings_dict["ENGINE"] or (
        connection.vendor == "sqlite" and parsed["ENGINE"] == "django.db.backends.sqlite3")
    assert str(parsed["NAME"]) == str(connection.settings_dict["NAME"])
    if connection.vendor == "sqlite":
        # timeout, WAL and IMMEDIATE must reach the server, or two writers hit "locked".
        assert parsed.get("OPTIONS", {}) == dict(connection.settings_dict.get("OPTIONS") or {})


@pytest.mark.redis
def test_live_server_shares_the_test_database_with_the_browser(live_asgi_server, page, django_user_model):
    """A user created here logs in through the real admin form served by the subprocess."""
    django_user_model.objects.create_superuser("boss", "boss@example.com", "correct horse 42")
    response = page.goto(f"{live_asgi_server}/admin/login/")
    assert response.status == 200
    page.fill("#id_username", "boss")
    page.fill("#id_password", "correct horse 42")
    page.click("input[type=submit]")
    page.get_by_text("Site administration").wait_for()
    assert page.url == f"{live_asgi_server}/admin/"
    # The session row the server wrote is visible here.
    from django.contrib.sessions.models import Session

    assert Session.objects.count() == 1


@pytest.mark.redis
def test_browser_contexts_are_separate_users(live_asgi_server, new_context, django_user_model):
    from tests.browser import login

    boss = django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-unused-123")
    logged_in, anonymous = new_context(), new_context()
    login(logged_in, boss, base_url=live_asgi_server)
    first, second = logged_in.new_page(), anonymous.new_page()
    first.goto(f"{live_asgi_server}/admin/")
    second.goto(f"{live_asgi_server}/admin/")
    first.get_by_text("Site administration").wait_for()
    assert first.url == f"{live_asgi_server}/admin/"
    assert second.url.startswith(f"{live_asgi_server}/admin/login/")


@pytest.mark.redis
def test_broadcast_from_a_browser_test_reaches_another_process_layer(
    live_asgi_server, page, redis_channel_layer, redis_server_url
):
    """Test code in a browser test can broadcast (async_to_sync despite Playwright's loop)
    through the same Redis the server uses."""
    import asyncio

    from asgiref.sync import async_to_sync
    from channels_redis.core import RedisChannelLayer

    page.goto(f"{live_asgi_server}/admin/login/")
    assert asyncio._get_running_loop() is not None  # Playwright's mark is there

    # A second layer object on the same Redis stands in for the server process.
    other = RedisChannelLayer(hosts=[redis_server_url])

    async def join():
        name = await other.new_channel()
        await other.group_add("inbox-1", name)
        return name

    from tests.browser import outside_browser_loop

    with outside_browser_loop():
        channel = asyncio.run(join())
    async_to_sync(redis_channel_layer.group_send)("inbox-1", {"type": "inbox.event", "data": {"n": 1}})

    async def receive():
        try:
            return await other.receive(channel)
        finally:
            await other.close_pools()

    with outside_browser_loop():
        message = asyncio.run(receive())
    assert message == {"type": "inbox.event", "data": {"n": 1}}


def test_tests_after_browser_tests_see_no_playwright_loop(transactional_db):
    """Runs after the browser tests above (same pytest-django group, so definition order):
    their loop mark must not leak into this test."""
    import asyncio

    from asgiref.sync import async_to_sync

    from tests.browser import playwright_loop

    if playwright_loop() is None:
        pytest.skip("no browser session ran before this test")
    assert asyncio._get_running_loop() is None

    async def answer():
        return 42

    assert async_to_sync(answer)() == 42
    from django.contrib.auth.models import User

    assert User.objects.count() == 0
