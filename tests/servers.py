"""Private PostgreSQL and Redis instances for tests, on free loopback ports.

Each server lives in its own temporary directory and is gone after ``stop()``; nothing
touches the system services or their data. Readiness is checked by connecting, so start-up
takes as long as the server needs and no longer.

As a context manager::

    with PostgresServer() as pg, RedisServer() as redis:
        pg.create_database("inbox")
        os.environ["DATABASE_URL"] = pg.url("inbox")

As a command wrapper (the Makefile uses this)::

    python -m tests.servers --postgres --redis -- pytest -q

which exports ``DATABASE_URL`` / ``TEST_REDIS_URL`` (see ``main``) for the command, stops the
servers afterwards (also on Ctrl-C or failure) and exits with the command's exit code.
"""

from __future__ import annotations

import argparse
import atexit
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

START_TIMEOUT = 60.0  # an upper bound for a cold start on a slow CI machine, not a wait
STOP_TIMEOUT = 20.0

_running: set[_Server] = set()


class ServerError(RuntimeError):
    """A server did not start; the message carries the end of its log."""


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago.

    Another process can take it before the server binds it; the servers below retry with a
    new port when their log says the address is in use.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


class _Server:
    """Shared life cycle: a temp dir, one child process, a log file, readiness by polling."""

    name = "server"

    def __init__(self) -> None:
        self.port: int | None = None
        self.tmpdir: Path | None = None
        self.process: subprocess.Popen | None = None
        self.log_path: Path | None = None

    # --- to implement ---------------------------------------------------------------------

    def _command(self, port: int) -> list[str]:
        raise NotImplementedError

    def _is_ready(self) -> bool:
        """True once the server answers a real request on its port."""
        raise NotImplementedError

    def _prepare(self) -> None:
        """One-off set-up in ``self.tmpdir`` before the first start (e.g. initdb)."""

    def _popen_kwargs(self) -> dict:
        return {}

    # --- life cycle -----------------------------------------------------------------------

    def start(self) -> _Server:
        if self.process is not None:
            raise ServerError(f"{self.name} is already running")
        self.tmpdir = Path(tempfile.mkdtemp(prefix=f"test-{self.name}-"))
        self.log_path = self.tmpdir / f"{self.name}.log"
        try:
            self._prepare()
            for _attempt in range(5):
                port = free_port()
                if self._start_on(port):
                    self.port = port
                    _running.add(self)
                    return self
            raise ServerError(f"{self.name}: no free port after 5 attempts\n{_tail(self.log_path)}")
        except BaseException:
            self._cleanup()
            raise

    def _start_on(self, port: int) -> bool:
        """Start on ``port`` and wait until ready; False if the port was taken meanwhile."""
        self.port = port
        log = open(self.log_path, "ab")
        try:
            # Own process group: a Ctrl-C meant for the test command must not kill the
            # servers before that command has finished cleaning up.
            self.process = subprocess.Popen(
                self._command(port),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                process_group=0,
                **self._popen_kwargs(),
            )
        finally:
            log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.process = None
                log_text = _tail(self.log_path)
                if "already in use" in log_text.lower():
                    return False
                raise ServerError(f"{self.name} exited during start-up:\n{log_text}")
            if self._is_ready():
                return True
            time.sleep(0.05)
        self._terminate()
        raise ServerError(
            f"{self.name} did not answer on 127.0.0.1:{port} within {START_TIMEOUT:.0f}s:\n"
            f"{_tail(self.log_path)}"
        )

    def stop(self) -> None:
        self._terminate()
        self._cleanup()

    def _terminate(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(self._stop_signal)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    _stop_signal = signal.SIGTERM

    def _cleanup(self) -> None:
        _running.discard(self)
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _postgres_bindir() -> Path:
    """The newest installed PostgreSQL server binaries (Debian keeps them off PATH)."""
    candidates = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if not candidates:
        found = shutil.which("initdb")
        if found:
            return Path(found).parent
        raise ServerError(
            "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb); "
            "run scripts/install-system-deps.sh"
        )
    candidates.sort(key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0)
    return Path(candidates[-1]).parent


class PostgresServer(_Server):
    """A throwaway PostgreSQL cluster: trust auth on 127.0.0.1, fsync off, socket in its
    temp dir. Superuser ``postgres``, no password.

    initdb and postgres refuse to run as root, so under root both run as the ``postgres``
    system user (the Debian package creates it) and the temp dir is handed to that user.
    """

    name = "postgres"
    user = "postgres"
    # SIGINT is PostgreSQL's "fast" shutdown: disconnect clients, no waiting for them.
    _stop_signal = signal.SIGINT

    def __init__(self) -> None:
        super().__init__()
        self.bindir = _postgres_bindir()
        self._run_as: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            try:
                self._run_as = pwd.getpwnam("postgres")
            except KeyError:
                raise ServerError(
                    "running as root needs the 'postgres' system user (package postgresql)"
                ) from None

    @property
    def datadir(self) -> Path:
        return self.tmpdir / "data"

    @property
    def socket_dir(self) -> Path:
        return self.tmpdir / "socket"

    def _popen_kwargs(self) -> dict:
        if self._run_as is None:
            return {}
        return {
            "user": self._run_as.pw_uid,
            "group": self._run_as.pw_gid,
            "extra_groups": [],
            "env": {**os.environ, "HOME": str(self.tmpdir), "USER": "postgres", "LOGNAME": "postgres"},
        }

    def _prepare(self) -> None:
        self.socket_dir.mkdir()
        if self._run_as is not None:
            for path in (self.tmpdir, self.socket_dir):
                os.chown(path, self._run_as.pw_uid, self._run_as.pw_gid)
        # --no-sync: the cluster is thrown away, durability buys nothing and costs seconds.
        result = subprocess.run(
            [
                str(self.bindir / "initdb"),
                "-D", str(self.datadir),
                "-U", self.user,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=self.tmpdir,
            **self._popen_kwargs(),
        )
        if result.returncode != 0:
            raise ServerError(f"initdb failed:\n{result.stdout.decode(errors='replace')}")

    def _command(self, port: int) -> list[str]:
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(port),
            "unix_socket_directories": str(self.socket_dir),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",
            "logging_collector": "off",
        }
        command = [str(self.bindir / "postgres"), "-D", str(self.datadir)]
        for key, value in settings.items():
            command += ["-c", f"{key}={value}"]
        return command

    def _is_ready(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(self.dsn("postgres"), connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.OperationalError:
            return False

    def dsn(self, dbname: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user={self.user} dbname={dbname}"

    def url(self, dbname: str = "postgres") -> str:
        return f"postgres://{self.user}@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, dbname: str) -> str:
        """Create ``dbname`` (UTF-8) and return its URL."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        return self.url(dbname)


class RedisServer(_Server):
    """A throwaway Redis: no persistence, loopback only."""

    name = "redis"

    def _command(self, port: int) -> list[str]:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not os.path.exists(binary):
            raise ServerError("redis-server not found; run scripts/install-system-deps.sh")
        return [
            binary,
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.tmpdir),
            "--daemonize", "no",
        ]

    def _is_ready(self) -> bool:
        try:
            return redis_command(self.port, "PING") == b"+PONG"
        except OSError:
            return False

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"


def redis_command(port: int, *args: str, host: str = "127.0.0.1") -> bytes:
    """Send one command in RESP and return the first reply line (without CRLF).

    Enough for PING / FLUSHDB / SET / GET of short values; keeps readiness checks free of
    any client library.
    """
    payload = f"*{len(args)}\r\n".encode()
    for arg in args:
        data = arg.encode()
        payload += b"$%d\r\n%s\r\n" % (len(data), data)
    with socket.create_connection((host, port), timeout=2) as sock:
        sock.sendall(payload)
        reply = b""
        while not reply.endswith(b"\r\n"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
    return reply.split(b"\r\n", 1)[0]


@atexit.register
def _stop_leftovers() -> None:
    """Servers a caller forgot to stop (or an interrupted session) must not outlive it."""
    for server in list(_running):
        try:
            server.stop()
        except Exception:  # noqa: BLE001 - best effort at interpreter exit
            pass


# --- command line ----------------------------------------------------------------------------


class _Terminated(Exception):
    pass


def _raise_terminated(signum, frame):
    raise _Terminated(signum)


def main(argv: Sequence[str] | None = None) -> int:
    """Start the requested servers, run CMD with their URLs in the environment, stop them.

    Exports: ``DATABASE_URL`` (--postgres; database ``inbox`` is created),
    ``TEST_REDIS_URL`` (--redis), also ``REDIS_URL`` (--redis-as-default),
    ``TEST_SQLITE_PATH`` (--sqlite-file; a path in a temp dir, file not created).
    """
    parser = argparse.ArgumentParser(
        prog="python -m tests.servers",
        description="Run a command with private PostgreSQL/Redis servers on loopback.",
    )
    parser.add_argument("--postgres", action="store_true", help="start PostgreSQL, export DATABASE_URL")
    parser.add_argument("--redis", action="store_true", help="start Redis, export TEST_REDIS_URL")
    parser.add_argument(
        "--redis-as-default",
        action="store_true",
        help="also export REDIS_URL, so the app's channel layer and cache use Redis (implies --redis)",
    )
    parser.add_argument("--sqlite-file", action="store_true", help="export TEST_SQLITE_PATH (a temp file)")
    parser.add_argument("--dbname", default="inbox", help="database to create (default: inbox)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- CMD ARGS...")
    args = parser.parse_args(argv)
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        parser.error("no command given (usage: python -m tests.servers [options] -- CMD ARGS...)")
    if args.postgres and args.sqlite_file:
        parser.error("--postgres and --sqlite-file exclude each other")

    servers: list[_Server] = []
    sqlite_dir: str | None = None
    env = dict(os.environ)
    previous = {sig: signal.signal(sig, _raise_terminated) for sig in (signal.SIGTERM, signal.SIGHUP)}
    child: subprocess.Popen | None = None
    try:
        if args.postgres:
            pg = PostgresServer().start()
            servers.append(pg)
            env["DATABASE_URL"] = pg.create_database(args.dbname)
        if args.redis or args.redis_as_default:
            redis = RedisServer().start()
            servers.append(redis)
            env["TEST_REDIS_URL"] = redis.url()
            if args.redis_as_default:
                env["REDIS_URL"] = redis.url()
        if args.sqlite_file:
            sqlite_dir = tempfile.mkdtemp(prefix="test-sqlite-")
            env["TEST_SQLITE_PATH"] = os.path.join(sqlite_dir, "test.sqlite3")
        for key in ("DATABASE_URL", "TEST_REDIS_URL", "REDIS_URL", "TEST_SQLITE_PATH"):
            if key in env and env.get(key) != os.environ.get(key):
                print(f"tests.servers: {key}={env[key]}", file=sys.stderr)
        sys.stderr.flush()
        try:
            child = subprocess.Popen(command, env=env)
        except FileNotFoundError:
            print(f"tests.servers: command not found: {command[0]}", file=sys.stderr)
            return 127
        try:
            return child.wait()
        except KeyboardInterrupt:
            # The child got the same Ctrl-C (same process group); let it finish its cleanup.
            return _wait_after_interrupt(child)
    except _Terminated:
        if child is not None and child.poll() is None:
            child.terminate()
            return _wait_after_interrupt(child)
        return 143
    except ServerError as exc:
        print(f"tests.servers: {exc}", file=sys.stderr)
        return 2
    finally:
        for server in reversed(servers):
            server.stop()
        if sqlite_dir is not None:
            shutil.rmtree(sqlite_dir, ignore_errors=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _wait_after_interrupt(child: subprocess.Popen) -> int:
    try:
        code = child.wait(timeout=STOP_TIMEOUT)
    except (subprocess.TimeoutExpired, KeyboardInterrupt):
        child.kill()
        code = child.wait()
    # A child killed by a signal reports -N; a shell reports 128+N.
    return 128 - code if code < 0 else code


if __name__ == "__main__":
    sys.exit(main())
