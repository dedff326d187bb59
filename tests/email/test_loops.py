"""Loop protection and bounce reading."""

from pathlib import Path

import pytest

from channels_adapters.email import automation_reasons, parse_bounce, parse_email

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "email"


def load(name: str):
    return parse_email((FIXTURES / name).read_bytes())


@pytest.mark.parametrize("name, reason", [
    ("auto_reply__out_of_office.eml", "Auto-Submitted: auto-replied"),
    ("auto_reply__out_of_office.eml", "X-Autoreply: yes"),
    ("auto_reply__out_of_office.eml", "X-Auto-Response-Suppress: All"),
    ("auto_reply__precedence_junk.eml", "Precedence: junk"),
    ("auto_reply__precedence_junk.eml", "empty Return-Path"),
    ("list__newsletter.eml", "List-Id present"),
    ("list__newsletter.eml", "Precedence: list"),
    ("bounce__dsn_postfix.eml", "delivery report"),
    ("bounce__qmail_failure_notice.eml", "from mailer-daemon@mail.oldhost.test"),
])
def test_machine_mail_is_flagged(name, reason):
    assert reason in automation_reasons(load(name))


@pytest.mark.parametrize("name", ["gmail_reply__en.eml", "human__plain.eml", "apple_mail_reply__pt.eml",
                                  "outlook_reply__es_windows1252.eml", "attachments__pdf_and_inline_image.eml"])
def test_person_written_mail_is_not_flagged(name):
    # human__plain.eml says "Auto-Submitted: no", which must not count
    assert automation_reasons(load(name)) == []


def test_mail_from_our_own_address_is_an_echo():
    raw = b"From: Shop <Support+abc@shop.test>\r\nTo: x@y.test\r\nSubject: hi\r\n\r\nbody\r\n"
    assert automation_reasons(parse_email(raw), own_addresses=["support@shop.test"]) == [
        "from our own address support+abc@shop.test"]
    assert automation_reasons(parse_email(raw), own_addresses=["other@shop.test"]) == []


def test_to_inbound_sets_automated():
    from channels_adapters.email import to_inbound

    assert to_inbound(load("auto_reply__out_of_office.eml")).automated is True
    assert to_inbound(load("human__plain.eml")).automated is False


def test_standard_dsn():
    bounce = parse_bounce(load("bounce__dsn_postfix.eml"))
    assert bounce.original_message_id == "<reply-42.0123456789abcdef@shop.test>"
    assert bounce.recipient == "nobody@customer.test"
    assert bounce.status == "5.1.1"
    assert bounce.action == "failed" and bounce.permanent
    assert "User unknown" in bounce.reason


def test_qmail_style_bounce():
    bounce = parse_bounce(load("bounce__qmail_failure_notice.eml"))
    assert bounce.original_message_id == "<reply-43.fedcba9876543210@shop.test>"
    assert bounce.recipient == "gone@oldhost.test"
    assert bounce.status == "5.1.1"
    assert "no mailbox here" in bounce.reason
    assert bounce.permanent


def test_delayed_dsn_is_not_permanent():
    raw = (FIXTURES / "bounce__dsn_postfix.eml").read_bytes()
    raw = raw.replace(b"Action: failed", b"Action: delayed").replace(b"Status: 5.1.1", b"Status: 4.4.1")
    bounce = parse_bounce(parse_email(raw))
    assert bounce.action == "delayed" and not bounce.permanent and bounce.status == "4.4.1"


@pytest.mark.parametrize("name", ["gmail_reply__en.eml", "auto_reply__out_of_office.eml",
                                  "list__newsletter.eml", "malformed__broken_multipart.eml"])
def test_ordinary_mail_is_not_a_bounce(name):
    assert parse_bounce(load(name)) is None
