"""Sending against a real SMTP server (aiosmtpd on 127.0.0.1)."""

from email import policy
from email.parser import BytesParser

import pytest

from channels_adapters.base import PermanentSendError, TemporarySendError
from channels_adapters.email import build_reply, send_via_smtp
from tests.mailservers import free_port, smtp_server, smtp_server_with_auth  # noqa: F401


def message(to="maria@example.test"):
    return build_reply(from_address="support@shop.test", to=to, text="Your order ships today.",
                       display_name="Shop Support", sender_name="Ana", subject="Order",
                       in_reply_to="<c1@example.test>", local_id="m-1")


def test_sends_and_server_receives_the_message(smtp_server):
    refused = send_via_smtp(smtp_server.config(), message())
    assert refused == {}
    (received,) = smtp_server.handler.messages
    assert received["rcpt_tos"] == ["maria@example.test"]
    assert received["mail_from"] == "support@shop.test"
    got = BytesParser(policy=policy.default).parsebytes(received["data"])
    assert got["Message-ID"] == message()["Message-ID"]
    assert got["In-Reply-To"] == "<c1@example.test>"
    assert got.get_body(("plain",)).get_content().strip() == "Your order ships today."


def test_refused_recipient_is_permanent(smtp_server):
    smtp_server.handler.refuse.add("nobody@example.test")
    with pytest.raises(PermanentSendError, match="User unknown") as info:
        send_via_smtp(smtp_server.config(), message(to="nobody@example.test"))
    assert info.value.code == "550"
    assert smtp_server.handler.messages == []


def test_greylisted_recipient_is_temporary(smtp_server):
    smtp_server.handler.defer.add("slow@example.test")
    with pytest.raises(TemporarySendError, match="greylisted") as info:
        send_via_smtp(smtp_server.config(), message(to="slow@example.test"))
    assert info.value.code == "451"


def test_server_down_is_temporary():
    port = free_port()  # nothing listens there
    config = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none", "smtp_timeout": 5}
    with pytest.raises(TemporarySendError, match=f"127.0.0.1:{port}") as info:
        send_via_smtp(config, message())
    assert info.value.code == "connection"


def test_login_and_wrong_password(smtp_server_with_auth):
    config = smtp_server_with_auth.config(smtp_username="support@shop.test", smtp_password="smtp-pass")
    send_via_smtp(config, message())
    assert len(smtp_server_with_auth.handler.messages) == 1
    config["smtp_password"] = "wrong"
    with pytest.raises(PermanentSendError, match="refused the login") as info:
        send_via_smtp(config, message())
    assert info.value.code == "auth"
    assert len(smtp_server_with_auth.handler.messages) == 1


def test_starttls_required_but_not_offered_is_permanent(smtp_server):
    with pytest.raises(PermanentSendError, match="STARTTLS"):
        send_via_smtp(smtp_server.config(smtp_security="starttls"), message())


def test_bad_settings_are_permanent():
    with pytest.raises(PermanentSendError, match="smtp_security"):
        send_via_smtp({"smtp_host": "127.0.0.1", "smtp_security": "tls-please"}, message())
    with pytest.raises(PermanentSendError, match="smtp_host"):
        send_via_smtp({}, message())
