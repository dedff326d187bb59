"""Real mail servers on 127.0.0.1 for tests: Dovecot (IMAP) and aiosmtpd (SMTP).

Use the pytest fixtures ``dovecot`` and ``smtp_server`` (import them into a conftest or a
test module). Dovecot runs from a temporary directory with its own config, log and state;
mail is put into mailboxes with IMAP APPEND, the same way a real client would.
"""

from __future__ import annotations

import dataclasses
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen | None, log: Path | None, timeout: float = 20.0) -> None:
    """Block until something listens on ``port``: a readiness check, not a timing assumption
    (the deadline only turns a broken start into a clear failure)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            detail = log.read_text(errors="replace") if log and log.exists() else ""
            raise RuntimeError(f"dovecot exited with {proc.returncode}:\n{detail}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    detail = log.read_text(errors="replace") if log and log.exists() else ""
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s\n{detail}")


@dataclasses.dataclass
class Dovecot:
    host: str
    port: int
    root: Path
    users: dict[str, str]
    proc: subprocess.Popen | None = None
    #: With TLS: ``port`` offers STARTTLS, ``imaps_port`` speaks TLS from the first byte.
    imaps_port: int | None = None

    def config(self, user: str = "support@shop.test", **extra) -> dict:
        """An e-mail channel config pointing at this server."""
        return {
            "address": user, "imap_host": self.host, "imap_port": self.port,
            "imap_security": "none", "imap_username": user, "imap_password": self.users[user],
            "imap_timeout": 10, **extra,
        }

    def connect(self, user: str = "support@shop.test") -> imaplib.IMAP4:
        conn = imaplib.IMAP4(self.host, self.port, timeout=10)
        conn.login(user, self.users[user])
        return conn

    def append(self, raw: bytes, *, folder: str = "INBOX", user: str = "support@shop.test",
               seen: bool = False) -> None:
        conn = self.connect(user)
        try:
            typ, data = conn.append(f'"{folder}"', r"(\Seen)" if seen else None, None, raw)
            assert typ == "OK", data
        finally:
            conn.logout()

    def flags(self, folder: str = "INBOX", user: str = "support@shop.test") -> dict[int, str]:
        """UID -> FLAGS text for every message in ``folder``."""
        conn = self.connect(user)
        try:
            typ, _ = conn.select(f'"{folder}"', readonly=True)
            assert typ == "OK"
            typ, data = conn.uid("FETCH", "1:*", "(UID FLAGS)")
            result = {}
            for item in data:
                if isinstance(item, bytes) and b"UID" in item:
                    import re

                    uid = int(re.search(rb"UID (\d+)", item).group(1))
                    result[uid] = re.search(rb"FLAGS \(([^)]*)\)", item).group(1).decode()
            return result
        finally:
            conn.logout()


def start_dovecot(users: dict[str, str] | None = None, *, cert_file: Path | None = None,
                  key_file: Path | None = None, server_class: type[Dovecot] = Dovecot) -> Dovecot:
    """Dovecot on a free loopback port; with ``cert_file``/``key_file`` it also offers STARTTLS
    and an IMAPS listener (on 127.0.0.1 and 127.0.0.2, a loopback name no certificate covers)."""
    users = users or {"support@shop.test": "secret-pass"}
    if not os.path.exists(DOVECOT):
        pytest.skip("dovecot is not installed (apt-get install dovecot-imapd)")
    root = Path(tempfile.mkdtemp(prefix="dovecot-test-"))
    os.chmod(root, 0o755)
    mail_user = pwd.getpwnam("dovecot")
    home = root / "home"
    home.mkdir()
    os.chown(home, mail_user.pw_uid, mail_user.pw_gid)
    (root / "run").mkdir()
    (root / "state").mkdir()
    passwd = root / "passwd"
    passwd.write_text("".join(f"{u}:{{PLAIN}}{p}::::::\n" for u, p in users.items()))
    os.chmod(passwd, 0o644)
    port = free_port()
    imaps_port = None
    if cert_file:
        imaps_port = free_port()
        while imaps_port == port:
            imaps_port = free_port()
        ssl_settings = f"ssl = yes\nssl_cert = <{cert_file}\nssl_key = <{key_file}\nssl_min_protocol = TLSv1.2"
        imaps_listener = (f"address = 127.0.0.1, 127.0.0.2\n    port = {imaps_port}\n    ssl = yes")
    else:
        ssl_settings, imaps_listener = "ssl = no", "port = 0"
    log = root / "dovecot.log"
    conf = root / "dovecot.conf"
    conf.write_text(f"""
protocols = imap
listen = 127.0.0.1
{ssl_settings}
disable_plaintext_auth = no
auth_mechanisms = plain login
base_dir = {root}/run
state_dir = {root}/state
log_path = {log}
info_log_path = {log}
default_login_user = dovenull
default_internal_user = dovecot
mail_location = maildir:~/Maildir
first_valid_uid = {mail_user.pw_uid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {passwd}
}}
userdb {{
  driver = static
  args = uid={mail_user.pw_uid} gid={mail_user.pw_gid} home={home}/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    {imaps_listener}
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
""")
    proc = subprocess.Popen([DOVECOT, "-F", "-c", str(conf)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    server = server_class(host="127.0.0.1", port=port, root=root, users=users, proc=proc, imaps_port=imaps_port)
    try:
        _wait_for_port(port, proc, log)
        if imaps_port:
            _wait_for_port(imaps_port, proc, log)
    except Exception:
        stop_dovecot(server)
        raise
    return server


def stop_dovecot(server: Dovecot) -> None:
    if server.proc is not None and server.proc.poll() is None:
        server.proc.terminate()
        try:
            server.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait()
    if server.proc is not None and server.proc.stdout:
        server.proc.stdout.close()
    shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture
def dovecot():
    """A fresh Dovecot per test, with user ``support@shop.test`` / ``secret-pass``."""
    server = start_dovecot()
    try:
        yield server
    finally:
        stop_dovecot(server)


# --- SMTP -----------------------------------------------------------------------------------


class RecordingHandler:
    """Accepts mail and keeps it in ``messages``; recipients in ``refuse`` get a 550, those in
    ``defer`` a 451, like a real server rejecting an unknown or greylisted mailbox."""

    def __init__(self):
        self.messages: list[dict] = []
        self.refuse: set[str] = set()
        self.defer: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse:
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        if address.lower() in self.defer:
            return "451 4.7.1 <%s>: greylisted, try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append({
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "data": envelope.original_content or envelope.content,
            "auth": getattr(session, "auth_data", None),
        })
        return "250 2.0.0 Message accepted"


@dataclasses.dataclass
class SmtpServer:
    host: str
    port: int
    handler: RecordingHandler
    controller: object

    def config(self, **extra) -> dict:
        return {"smtp_host": self.host, "smtp_port": self.port, "smtp_security": "none",
                "smtp_timeout": 10, **extra}


def start_smtp(*, users: dict[str, str] | None = None, tls_context=None) -> SmtpServer:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    handler = RecordingHandler()
    kwargs = {}
    if users is not None:
        def authenticator(server, session, envelope, mechanism, auth_data):
            login = auth_data.login.decode() if isinstance(auth_data.login, bytes) else auth_data.login
            password = auth_data.password.decode() if isinstance(auth_data.password, bytes) else auth_data.password
            # handled=False lets aiosmtpd answer 535 itself on failure
            return AuthResult(success=login in users and users[login] == password, handled=False)

        kwargs.update(authenticator=authenticator, auth_require_tls=tls_context is not None)
    if tls_context is not None:
        kwargs.update(tls_context=tls_context, require_starttls=True)
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return SmtpServer(host="127.0.0.1", port=port, handler=handler, controller=controller)


@pytest.fixture
def smtp_server():
    server = start_smtp()
    try:
        yield server
    finally:
        server.controller.stop()


@pytest.fixture
def smtp_server_with_auth():
    server = start_smtp(users={"support@shop.test": "smtp-pass"})
    try:
        yield server
    finally:
        server.controller.stop()
