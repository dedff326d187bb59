"""Outbound replies: headers, threading, bodies, attachments."""

import datetime as dt
from email import policy
from email.parser import BytesParser

import pytest

from channels_adapters.base import OutboundAttachment
from channels_adapters.email import build_reply, message_id_for, parse_email, reply_subject
from channels_adapters.email.compose import MAX_REFERENCES


def reply(**overrides):
    kwargs = dict(
        from_address="support@shop.test", to="maria@example.test", text="Hi <Maria>,\nit ships today & arrives Friday.",
        display_name="Shop Support", sender_name="Ana", reply_to="support+c9f2a1@shop.test",
        subject="Re: RE: Order #1042", in_reply_to="<cust-2@example.test>",
        references=["<root@shop.test>", "<cust-1@example.test>"], local_id="msg-981",
    )
    kwargs.update(overrides)
    return build_reply(**kwargs)


def reparse(msg):
    return BytesParser(policy=policy.default).parsebytes(msg.as_bytes())


def test_headers():
    msg = reparse(reply())
    assert str(msg["From"]) == "Ana via Shop Support <support@shop.test>"
    assert str(msg["Reply-To"]) == "Shop Support <support+c9f2a1@shop.test>"
    assert str(msg["To"]) == "maria@example.test"
    assert str(msg["Subject"]) == "Re: Order #1042"
    assert str(msg["In-Reply-To"]) == "<cust-2@example.test>"
    assert str(msg["References"]).split() == ["<root@shop.test>", "<cust-1@example.test>", "<cust-2@example.test>"]
    assert msg["Message-ID"].endswith("@shop.test>") and "msg-981" in msg["Message-ID"]
    assert msg["Auto-Submitted"] is None
    assert msg["Date"].datetime.tzinfo is not None


def test_message_id_is_stable_for_a_retry():
    assert reply()["Message-ID"] == reply()["Message-ID"]
    assert reply()["Message-ID"] != reply(local_id="msg-982")["Message-ID"]
    assert message_id_for("msg-981", "shop.test") == reply()["Message-ID"]
    random_ids = {message_id_for("", "shop.test") for _ in range(3)}
    assert len(random_ids) == 3 and all(m.endswith("@shop.test>") for m in random_ids)


@pytest.mark.parametrize("subject, expected", [
    ("Order", "Re: Order"), ("Re: Order", "Re: Order"), ("RE: Re: re: Order", "Re: Order"),
    ("Res: Pedido", "Re: Pedido"), ("Re[2]: Order", "Re: Order"), ("", "Re: Your message"),
    ("Fwd: Order", "Re: Fwd: Order"),
])
def test_reply_subject(subject, expected):
    assert reply_subject(subject) == expected


def test_non_ascii_names_and_subject_survive():
    msg = reparse(reply(sender_name="João", display_name="Loja Conceição", subject="Re: Pedido nº 88"))
    assert msg["From"].addresses[0].display_name == "João via Loja Conceição"
    assert str(msg["Subject"]) == "Re: Pedido nº 88"


def test_reference_chain_is_capped_keeping_the_root():
    refs = [f"<r{i}@x.test>" for i in range(50)]
    msg = reparse(reply(references=refs, in_reply_to="<last@x.test>"))
    chain = str(msg["References"]).split()
    assert len(chain) == MAX_REFERENCES
    assert chain[0] == "<r0@x.test>" and chain[-1] == "<last@x.test>"


def test_automated_marker():
    msg = reply(automated=True)
    assert msg["Auto-Submitted"] == "auto-replied"
    # an automated reply of ours must be recognised as such by our own loop check
    from channels_adapters.email import automation_reasons

    assert "Auto-Submitted: auto-replied" in automation_reasons(reparse(msg))


def test_plain_and_escaped_html_bodies_and_attachments():
    msg = reparse(reply(attachments=[OutboundAttachment("label.pdf", "application/pdf", data=b"%PDF-1.4 x")]))
    assert msg.get_content_type() == "multipart/mixed"
    assert msg.get_body(("plain",)).get_content().strip() == "Hi <Maria>,\nit ships today & arrives Friday."
    html = msg.get_body(("html",)).get_content()
    assert "Hi &lt;Maria&gt;,<br>" in html and "&amp; arrives" in html
    (att,) = list(msg.iter_attachments())
    assert att.get_filename() == "label.pdf" and att.get_content() == b"%PDF-1.4 x"


def test_round_trip_through_our_parser():
    parsed = parse_email(reply().as_bytes())
    assert parsed.new_text == "Hi <Maria>,\nit ships today & arrives Friday."
    assert parsed.in_reply_to == "<cust-2@example.test>"


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="recipient"):
        reply(to="not-an-address")
    with pytest.raises(ValueError, match="no data"):
        reply(attachments=[OutboundAttachment("x.pdf", "application/pdf", url="https://x.test/x.pdf")])


def test_date_can_be_fixed():
    msg = reply(date=dt.datetime(2024, 3, 4, 9, 0, tzinfo=dt.timezone.utc))
    assert msg["Date"] == "Mon, 04 Mar 2024 09:00:00 +0000"
