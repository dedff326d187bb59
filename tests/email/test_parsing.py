"""Parsing and quote stripping over the fixture corpus of real-client mails."""

from pathlib import Path

import pytest

from channels_adapters.email import (
    html_to_text,
    parse_email,
    reply_address,
    strip_quotes_text,
    to_inbound,
    token_from_addresses,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "email"


def load(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


# fixture -> (exact new text, a phrase of the quoted history that must be gone)
REPLIES = {
    "gmail_reply__en.eml": (
        "Thanks Ana, the tracking number works now.\nCan you tell me when it will be delivered?\n\nMaria",
        "Your order ships today",
    ),
    "gmail_reply__pt.eml": (
        "Olá, ainda não recebi o reembolso.\nJá se passaram duas semanas!",
        "O reembolso foi processado",
    ),
    "outlook_reply__es_windows1252.eml": (
        "Buenos días, ¿pueden enviarme la factura de 49,90 € a nombre de “Peña S.L.”?\n\nGracias,\nBegoña",
        "su pedido está en camino",
    ),
    "outlook_original_message__en_latin1_mislabelled.eml": (
        "Hello,\n\nThe “deluxe” kettle I bought for 39€ stopped working – can I get a replacement?"
        "\n\nRegards,\nRenée",
        "Thanks for your order",
    ),
    "outlook_reply__en_mobile.eml": ("Got the label, thanks!", "Here is your return label"),
    "apple_mail_reply__pt.eml": ("Sim, pode trocar pelo tamanho M.", "quer trocar o tamanho"),
    "thunderbird_reply__es_latin1.eml": (
        "Hola, el código de descuento no funciona en el carrito.\n\n¿Me ayudan?",
        "PROMO10",
    ),
    "human__plain.eml": ("Do the shoes run small?", "Sam"),
}


@pytest.mark.parametrize("name", sorted(REPLIES))
def test_new_text_keeps_only_what_the_customer_wrote(name):
    parsed = parse_email(load(name))
    new, quoted = REPLIES[name]
    assert parsed.new_text == new
    assert quoted not in parsed.new_text
    # the full original stays available
    assert quoted in parsed.text or quoted in parsed.html


HTML_REPLIES = ["gmail_reply__en.eml", "gmail_reply__pt.eml", "outlook_reply__es_windows1252.eml",
                "apple_mail_reply__pt.eml", "thunderbird_reply__es_latin1.eml"]


@pytest.mark.parametrize("name", HTML_REPLIES)
def test_html_side_strips_the_same_history(name):
    parsed = parse_email(load(name))
    from channels_adapters.email import strip_quotes_html

    # the client's structural marker survives sanitizing, so the UI can fold the history too
    new, found = strip_quotes_html(parsed.html)
    assert found
    assert REPLIES[name][1] not in new
    assert new.splitlines()[0] == REPLIES[name][0].splitlines()[0]


def test_gmail_headers_and_threading():
    parsed = parse_email(load("gmail_reply__en.eml"))
    assert parsed.message_id == "<CAF9a8b7c6d5e4f3-reply@mail.gmail.test>"
    assert parsed.in_reply_to == "<reply-41.5f1e2d3c4b5a6978@shop.test>"
    assert parsed.references == ["<CAF1xyz-original@mail.gmail.test>", "<reply-41.5f1e2d3c4b5a6978@shop.test>"]
    assert (parsed.from_name, parsed.from_address) == ("Maria Jones", "maria.jones@gmail.test")
    assert parsed.to == ["support+c9f2a1@shop.test"]
    assert parsed.delivered_to == ["support+c9f2a1@shop.test"]
    assert parsed.date.isoformat() == "2024-03-04T10:42:17+00:00"
    assert parsed.defects == []


def test_encoded_headers_and_charsets():
    pt = parse_email(load("gmail_reply__pt.eml"))
    assert pt.subject == "Re: Reembolso do pedido nº 88 – não recebido"
    assert pt.from_name == "João Conceição"
    es = parse_email(load("outlook_reply__es_windows1252.eml"))
    assert es.subject == "RE: Su pedido nº 55"
    assert es.from_name == "Begoña Peña"
    tb = parse_email(load("thunderbird_reply__es_latin1.eml"))
    assert tb.subject == "Re: Código de descuento"
    assert tb.from_name == "Juan Pérez"


def test_latin1_label_with_windows1252_bytes_reads_smart_quotes_and_euro():
    parsed = parse_email(load("outlook_original_message__en_latin1_mislabelled.eml"))
    assert "“deluxe”" in parsed.text and "39€" in parsed.text and "–" in parsed.text
    assert "\x93" not in parsed.text and "\x80" not in parsed.text


def test_attachments_and_inline_images():
    parsed = parse_email(load("attachments__pdf_and_inline_image.eml"))
    image, pdf = parsed.attachments
    assert (image.filename, image.content_type, image.content_id, image.inline) == (
        "photo.png", "image/png", "photo123@example.test", True)
    assert image.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert (pdf.filename, pdf.content_type, pdf.inline) == ("fatura_março.pdf", "application/pdf", False)
    assert pdf.data.startswith(b"%PDF-1.4") and pdf.data.endswith(bytes(range(256)))
    assert 'src="cid:photo123@example.test"' in parsed.html
    assert parsed.new_text.startswith("The box arrived crushed")


def test_oversized_attachment_is_replaced_by_a_note_not_dropped():
    parsed = parse_email(load("attachments__pdf_and_inline_image.eml"), max_attachment_bytes=200)
    image, pdf = parsed.attachments
    assert image.data is not None and not image.too_large
    assert pdf.too_large and pdf.data is None and pdf.size == len(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n") + 256
    assert "fatura_março.pdf" in parsed.new_text and "not imported" in parsed.new_text
    inbound = to_inbound(parsed)
    assert [a.filename for a in inbound.attachments] == ["photo.png"]
    assert inbound.metadata["oversized_attachments"][0]["filename"] == "fatura_março.pdf"
    assert "not imported" in inbound.text


def test_html_only_mail_is_sanitized_and_turned_into_text():
    parsed = parse_email(load("html_only__script.eml"))
    for bad in ("<script", "alert(", "onload", "onclick", "onerror", "javascript:", "document.cookie"):
        assert bad not in parsed.html
    assert "<b>mallory42</b>" in parsed.html
    assert parsed.text == parsed.new_text
    assert parsed.text.splitlines()[0] == "Account problem"
    assert "I cannot log in to my account." in parsed.text
    assert "help page (https://shop.test/help)" in parsed.text
    assert "- Tried resetting the password\n- Cleared cookies" in parsed.text
    assert "color:red" not in parsed.text and "evil.test" not in parsed.text


def test_malformed_mime_returns_what_it_could_and_lists_defects():
    parsed = parse_email(load("malformed__broken_multipart.eml"))
    assert parsed.new_text == "I need help with my order — it is late."
    assert parsed.from_address == "broken@example.test"
    assert parsed.date is None
    assert any("Date" in d for d in parsed.defects)
    assert any("x-unknown-charset" in d for d in parsed.defects)
    assert "CloseBoundaryNotFoundDefect" in parsed.defects
    assert any("Base64" in d for d in parsed.defects)
    assert [a.filename for a in parsed.attachments] == ["data.bin"]


@pytest.mark.parametrize("raw", [b"", b"\x00\xff\xfe garbage \r\n\r\n\xff", b"Subject: only\r\n",
                                 b"Content-Type: multipart/mixed\r\n\r\nno boundary at all"])
def test_garbage_never_raises(raw):
    parsed = parse_email(raw)
    assert parsed.raw_sha256
    inbound = to_inbound(parsed)
    assert inbound.provider_message_id.startswith("<sha256.")


def test_missing_message_id_gets_a_stable_hash():
    raw = load("no_message_id.eml")
    first = to_inbound(parse_email(raw))
    second = to_inbound(parse_email(raw))
    other = to_inbound(parse_email(raw + b"P.S. one more line\r\n"))
    assert first.provider_message_id == second.provider_message_id
    assert first.provider_message_id != other.provider_message_id
    assert first.metadata["message_id"] == ""


def test_to_inbound_carries_threading_and_token():
    parsed = parse_email(load("gmail_reply__en.eml"))
    inbound = to_inbound(parsed, base_address="support@shop.test")
    assert inbound.provider_message_id == "<CAF9a8b7c6d5e4f3-reply@mail.gmail.test>"
    assert inbound.sender_address == "maria.jones@gmail.test"
    assert inbound.sender_name == "Maria Jones"
    assert inbound.contact_email == "maria.jones@gmail.test"
    assert inbound.text == parsed.new_text
    assert inbound.reply_to_provider_id == "<reply-41.5f1e2d3c4b5a6978@shop.test>"
    assert inbound.automated is False
    meta = inbound.metadata
    assert meta["plus_token"] == "c9f2a1"
    assert meta["subject"] == "Re: Order #1042 has not arrived"
    assert meta["references"][-1] == "<reply-41.5f1e2d3c4b5a6978@shop.test>"
    assert "Your order ships today" in meta["full_text"]
    assert "gmail_quote" in meta["full_html"]
    assert "support+c9f2a1@shop.test" in meta["recipients"]


def test_plus_address_helpers():
    assert reply_address("support@shop.com", "abc123") == "support+abc123@shop.com"
    assert reply_address("support+old@shop.com", "new") == "support+new@shop.com"
    with pytest.raises(ValueError):
        reply_address("support@shop.com", "bad token")
    with pytest.raises(ValueError):
        reply_address("not-an-address", "abc")
    assert token_from_addresses(["ana@x.com", "Support <support+t0k@SHOP.com>"], "support@shop.com") == "t0k"
    assert token_from_addresses(["support@shop.com", "other+t@shop.com"], "support@shop.com") == ""
    assert token_from_addresses(["support+t@evil.com"], "support@shop.com") == ""


def test_text_rules_directly():
    assert strip_quotes_text("Fine.\n\n> old\n> older\n") == "Fine."
    assert strip_quotes_text("Ok!\n\nEnviado desde mi iPhone\n\nEl lun, 4 mar 2024 a las 9:15, Tienda (<s@shop.test>) escribió:\n> hola") == "Ok!"
    # a customer writing below the quote is kept, not lost
    bottom = "On Mon, 4 Mar 2024, Shop wrote:\n> Which size?\n\nSize M please."
    assert strip_quotes_text(bottom) == "Size M please."
    # a mail that is only a quote keeps its text rather than coming out empty
    assert strip_quotes_text("> just a quote") == "> just a quote"
    # "From:" in prose is not an Outlook header block
    prose = "From: my office I cannot see the order.\nThanks"
    assert strip_quotes_text(prose) == prose


def test_html_to_text_is_readable():
    text = html_to_text("<p>One<br>Two</p><div>Three &amp; <a href='https://x.test/a'>link</a></div><style>p{}</style>")
    assert text == "One\nTwo\n\nThree & link (https://x.test/a)"
