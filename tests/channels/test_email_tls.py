"""The e-mail adapter over TLS against real servers on 127.0.0.1: Dovecot with IMAPS and
STARTTLS, aiosmtpd with STARTTLS and implicit TLS, all presenting a throwaway certificate
the client trusts only through ``imap_ca_file`` / ``smtp_ca_file`` (see ``tests.channels.certs``).

Run: .venv/bin/python -m pytest tests/channels/test_email_tls.py -q
"""

from __future__ import annotations

import dataclasses
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest

from channels_adapters.base import PermanentSendError, SendError
from channels_adapters.email import (
    MailboxError,
    MailboxLoginFailed,
    build_reply,
    parse_email,
    poll_mailbox,
    send_via_smtp,
)
from tests.channels.certs import TLSFiles, make_tls_files
from tests.mailservers import Dovecot, RecordingHandler, free_port, start_dovecot, stop_dovecot

USER, PASSWORD = "support@shop.test", "secret-pass"


@pytest.fixture(scope="module")
def tls(tmp_path_factory) -> TLSFiles:
    """The certificate the servers present, and the CA that signed it."""
    return make_tls_files(tmp_path_factory.mktemp("tls"), prefix="server")


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory) -> Path:
    """A CA that signed nothing the servers present: trusting only it must fail."""
    return make_tls_files(tmp_path_factory.mktemp("other-tls"), prefix="other").ca_file


# --- Dovecot with TLS -----------------------------------------------------------------------


@dataclasses.dataclass
class TLSDovecot(Dovecot):
    """``port`` is the plain IMAP listener (which offers STARTTLS); ``imaps_port`` speaks TLS
    from the first byte."""

    def tls_config(self, security: str, ca_file: Path, **extra) -> dict:
        port = self.imaps_port if security == "ssl" else self.port
        return self.config(USER, **{"imap_security": security, "imap_port": port,
                                    "imap_ca_file": str(ca_file), **extra})


def start_tls_dovecot(tls: TLSFiles) -> TLSDovecot:
    """Dovecot with ``ssl = yes``, the test certificate, and both the imap (STARTTLS) and imaps
    listeners. Plain-text login stays allowed so the test can APPEND without TLS; the client
    under test never relies on that."""
    return start_dovecot({USER: PASSWORD}, cert_file=tls.cert_file, key_file=tls.key_file, server_class=TLSDovecot)


@pytest.fixture
def tls_dovecot(tls):
    server = start_tls_dovecot(tls)
    try:
        yield server
    finally:
        stop_dovecot(server)


def mail(n: int) -> bytes:
    return (f"From: Customer {n} <c{n}@example.test>\r\nTo: {USER}\r\nSubject: Question {n}\r\n"
            f"Message-ID: <tls{n}@example.test>\r\n\r\nQuestion number {n}\r\n").encode()


@pytest.mark.integration
@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_imap_polls_over_tls_with_the_inbox_ca(tls_dovecot, tls, security):
    tls_dovecot.append(mail(1))
    config = tls_dovecot.tls_config(security, tls.ca_file)
    messages, state = poll_mailbox(config, {})
    assert [parse_email(raw).message_id for _, raw in messages] == ["<tls1@example.test>"]
    assert messages[0][1].endswith(b"Question number 1\r\n")
    # the state carries on like over plain IMAP: the next poll sees only new mail
    tls_dovecot.append(mail(2))
    newer, _ = poll_mailbox(config, state)
    assert [parse_email(raw).message_id for _, raw in newer] == ["<tls2@example.test>"]


@pytest.mark.integration
@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_imap_certificate_from_another_ca_fails_clearly(tls_dovecot, tls, other_ca, security):
    tls_dovecot.append(mail(1))
    config = tls_dovecot.tls_config(security, other_ca)
    with pytest.raises(MailboxError) as info:
        poll_mailbox(config, {})
    message = str(info.value)
    assert f"127.0.0.1:{config['imap_port']}" in message
    assert "TLS failed" in message and "certificate verify failed" in message
    # A certificate that does not verify is a settings problem (wrong CA file or a server
    # being impersonated), not something retrying fixes. It also shows the passing tests
    # above really verified the server: with TLS off, the CA file would not matter.
    assert info.value.temporary is False


@pytest.mark.integration
def test_imap_hostname_is_checked_not_just_the_ca(tls_dovecot, tls):
    """The certificate names localhost and 127.0.0.1 only; reaching the same server by
    another loopback address must fail verification even though the CA is trusted."""
    config = tls_dovecot.tls_config("ssl", tls.ca_file, imap_host="127.0.0.2")
    with pytest.raises(MailboxError, match="certificate verify failed"):
        poll_mailbox(config, {})


@pytest.mark.integration
def test_imap_wrong_password_over_tls_is_a_login_error(tls_dovecot, tls):
    config = tls_dovecot.tls_config("starttls", tls.ca_file, imap_password="wrong")
    with pytest.raises(MailboxLoginFailed, match="refused the login"):
        poll_mailbox(config, {})


# --- SMTP with TLS --------------------------------------------------------------------------


def start_tls_smtp(tls: TLSFiles, *, implicit: bool):
    """aiosmtpd presenting the test certificate: STARTTLS required on the plain port, or
    TLS from the first byte (``ssl_context``, i.e. SMTPS on 465) with ``implicit``."""
    from aiosmtpd.controller import Controller

    handler = RecordingHandler()
    if implicit:
        kwargs = {"ssl_context": tls.server_context()}
    else:
        kwargs = {"tls_context": tls.server_context(), "require_starttls": True}
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **kwargs)
    # start() returns once the server answered a first connection (over TLS when implicit).
    controller.start()
    return controller, handler


@pytest.fixture(params=["starttls", "ssl"])
def tls_smtp(request, tls):
    """``(config, handler)`` for an aiosmtpd speaking the parametrized security mode."""
    security = request.param
    controller, handler = start_tls_smtp(tls, implicit=security == "ssl")
    config = {"smtp_host": "127.0.0.1", "smtp_port": controller.port, "smtp_security": security,
              "smtp_ca_file": str(tls.ca_file), "smtp_timeout": 10}
    try:
        yield config, handler
    finally:
        controller.stop()


def reply(to: str = "maria@example.test"):
    return build_reply(from_address=USER, to=to, text="Your order ships today.", display_name="Shop Support",
                       sender_name="Ana", subject="Order", in_reply_to="<c1@example.test>", local_id="tls-1")


@pytest.mark.integration
def test_smtp_sends_over_tls_with_the_inbox_ca(tls_smtp):
    config, handler = tls_smtp
    assert send_via_smtp(config, reply()) == {}
    (received,) = handler.messages
    assert received["rcpt_tos"] == ["maria@example.test"] and received["mail_from"] == USER
    got = BytesParser(policy=policy.default).parsebytes(received["data"])
    assert got["Message-ID"] == reply()["Message-ID"]
    assert got.get_body(("plain",)).get_content().strip() == "Your order ships today."


@pytest.mark.integration
def test_smtp_certificate_from_another_ca_is_a_permanent_error(tls_smtp, other_ca):
    config, handler = tls_smtp
    config["smtp_ca_file"] = str(other_ca)
    with pytest.raises(SendError) as info:
        send_via_smtp(config, reply())
    # Permanent, not temporary: a certificate that does not verify stays that way until
    # someone fixes the CA file or the server's certificate; retrying with backoff would
    # only delay telling the agent (and could be talking to an impersonator every time).
    assert isinstance(info.value, PermanentSendError)
    assert info.value.code == "tls"
    assert f"127.0.0.1:{config['smtp_port']}" in str(info.value)
    assert "certificate did not verify" in str(info.value)
    assert handler.messages == []

