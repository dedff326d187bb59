"""EmailAdapter: the inbound webhook and sending through a real SMTP server."""

import base64
from email import policy
from email.parser import BytesParser
from pathlib import Path
from urllib.parse import urlencode

import pytest

from channels_adapters.base import OutboundAttachment, OutboundMessage, PermanentSendError, WebhookRejected
from channels_adapters.email import EmailAdapter
from tests.mailservers import smtp_server  # noqa: F401

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "email"
RAW = (FIXTURES / "gmail_reply__en.eml").read_bytes()


def adapter(**extra):
    return EmailAdapter({"address": "support@shop.test", "display_name": "Shop Support",
                         "webhook_secret": "s3cret", **extra}, inbox_id=1)


def test_verify_request_header_and_basic_auth():
    a = adapter()
    a.verify_request(b"", {"X-Inbox-Secret": "s3cret"})
    a.verify_request(b"", {"authorization": "Basic " + base64.b64encode(b"mailgun:s3cret").decode()})
    for headers in ({}, {"X-Inbox-Secret": "wrong"}, {"Authorization": "Basic !!!"},
                    {"Authorization": "Basic " + base64.b64encode(b"s3cret:").decode()}):
        with pytest.raises(WebhookRejected) as info:
            a.verify_request(b"", headers)
        assert info.value.status_code == 403
    with pytest.raises(WebhookRejected, match="no webhook_secret"):
        EmailAdapter({}).verify_request(b"", {"X-Inbox-Secret": ""})


def check(parsed):
    (message,) = parsed.messages
    assert message.provider_message_id == "<CAF9a8b7c6d5e4f3-reply@mail.gmail.test>"
    assert message.text.startswith("Thanks Ana, the tracking number works now.")
    assert message.metadata["plus_token"] == "c9f2a1"


def test_parse_raw_mime():
    check(adapter().parse(RAW, {"Content-Type": "message/rfc822"}))


def test_parse_mailgun_multipart_form():
    boundary = "----form123"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"recipient\"\r\n\r\nsupport@shop.test\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"body-mime\"\r\n\r\n").encode() + RAW + (
            f"\r\n--{boundary}--\r\n").encode()
    check(adapter().parse(body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}))


def test_parse_sendgrid_urlencoded():
    body = urlencode({"to": "support@shop.test", "email": RAW.decode()}).encode()
    check(adapter().parse(body, {"content-type": "application/x-www-form-urlencoded"}))


def test_parse_rejects_what_it_cannot_read():
    with pytest.raises(WebhookRejected, match="no raw message field"):
        adapter().parse(urlencode({"text": "hi"}).encode(), {"Content-Type": "application/x-www-form-urlencoded"})
    with pytest.raises(WebhookRejected, match="no e-mail"):
        adapter().parse(b"  ", {"Content-Type": "message/rfc822"})
    with pytest.raises(WebhookRejected, match="unsupported Content-Type"):
        adapter().parse(b"{}", {"Content-Type": "application/json"})


def test_bounce_becomes_a_failed_status():
    parsed = adapter().parse_raw((FIXTURES / "bounce__dsn_postfix.eml").read_bytes())
    assert parsed.messages == []
    (status,) = parsed.statuses
    assert (status.status, status.provider_message_id, status.recipient_address, status.error_code) == (
        "failed", "<reply-42.0123456789abcdef@shop.test>", "nobody@customer.test", "5.1.1")


def test_auto_reply_is_kept_but_flagged():
    (message,) = adapter().parse_raw((FIXTURES / "auto_reply__out_of_office.eml").read_bytes()).messages
    assert message.automated and "Auto-Submitted: auto-replied" in message.metadata["automation_reasons"]


def test_send_through_smtp(smtp_server):
    a = adapter(**smtp_server.config())
    result = a.send(OutboundMessage(
        recipient_address="maria@example.test", text="It ships today.", sender_name="Ana", local_id="42",
        attachments=[OutboundAttachment("label.pdf", "application/pdf", data=b"%PDF")],
        metadata={"subject": "Order #1042", "in_reply_to": "<CAF9@mail.gmail.test>",
                  "references": ["<root@shop.test>"], "reply_token": "c9f2a1", "automated": False},
    ))
    (received,) = smtp_server.handler.messages
    msg = BytesParser(policy=policy.default).parsebytes(received["data"])
    assert result.provider_message_id == msg["Message-ID"]
    assert str(msg["From"]) == "Ana via Shop Support <support@shop.test>"
    assert msg["Reply-To"].addresses[0].addr_spec == "support+c9f2a1@shop.test"
    assert msg["Subject"] == "Re: Order #1042"
    assert msg["References"] == "<root@shop.test> <CAF9@mail.gmail.test>"
    assert [p.get_filename() for p in msg.iter_attachments()] == ["label.pdf"]
    # a retry of the same local message keeps the Message-ID
    assert a.send(OutboundMessage(recipient_address="maria@example.test", text="It ships today.",
                                  local_id="42", metadata={"subject": "Order #1042"})).provider_message_id == result.provider_message_id


def test_send_needs_an_address():
    with pytest.raises(PermanentSendError, match="address"):
        EmailAdapter({}).send(OutboundMessage(recipient_address="x@y.test", text="hi"))
    with pytest.raises(PermanentSendError, match="recipient"):
        adapter().send(OutboundMessage(recipient_address="nobody", text="hi"))
