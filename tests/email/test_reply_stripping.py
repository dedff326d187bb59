"""Reply stripping through the real parsing entry point (``EmailAdapter.parse_raw``): what the
agent sees as the customer's message."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from channels_adapters.email import EmailAdapter

ADAPTER = EmailAdapter({"address": "support@shop.test"})


def shown(text: str | None = None, html: str | None = None) -> str:
    msg = EmailMessage()
    msg["From"] = "Bob <bob@customer.test>"
    msg["To"] = "support@shop.test"
    msg["Subject"] = "Re: order"
    msg["Message-ID"] = "<r1@customer.test>"
    if text is not None:
        msg.set_content(text)
        if html is not None:
            msg.add_alternative(html, subtype="html")
    else:
        msg.set_content(html, subtype="html")
    return ADAPTER.parse_raw(msg.as_bytes()).messages[0].text


HISTORY = "> Your order ships today.\n> Ana, Shop"


@pytest.mark.parametrize("attribution", [
    "On Mon, 1 Jan 2024 at 10:00, Ana <ana@shop.test> wrote:",
    "Ana <ana@shop.test> wrote:",
    "Em seg., 1 de jan. de 2024 às 10:00, Ana <ana@shop.test> escreveu:",
    "El lun, 1 ene 2024 a las 10:00, Ana (<ana@shop.test>) escribió:",
    "Am Mo., 1. Jan. 2024 um 10:00 Uhr schrieb Ana <ana@shop.test>:",
    "Op ma 1 jan. 2024 om 10:00 schreef Ana <ana@shop.test>:",
    "Den mån 1 jan. 2024 kl 10:00 skrev Ana <ana@shop.test>:",
    "Den man. 1. jan. 2024 kl. 10.00 skrev Ana <ana@shop.test>:",
    "W dniu pon., 1.01.2024 o 10:00 Ana <ana@shop.test> napisał(a):",
    "Il giorno lun 1 gen 2024 alle ore 10:00 Ana <ana@shop.test> ha scritto:",
    "пн, 1 янв. 2024 г. в 10:00, Ana <ana@shop.test>:",  # no verb: must not swallow anything odd
    "пн, 1 янв. 2024 г. в 10:00, Ana <ana@shop.test> написал:",
])
def test_attribution_directly_under_the_reply_in_plain_text(attribution):
    text = shown(f"Thanks, that works for me\n{attribution}\n{HISTORY}\n")
    assert text.startswith("Thanks, that works for me")
    assert "ships today" not in text
    if "написал" in attribution or "<ana@shop.test>:" not in attribution:
        assert attribution not in text


def test_attribution_directly_under_the_reply_in_html_without_blockquote():
    html = ("<div>Reply from Bob</div><div>On Mon, 1 Jan 2024 at 10:00, Ana &lt;ana@shop.test&gt; wrote:</div>"
            "<div>&gt; Your order ships today.</div><div>&gt; Ana, Shop</div>")
    assert shown(html=html) == "Reply from Bob"
    html_br = "Reply from Bob<br>Ana &lt;ana@shop.test&gt; wrote:<br>&gt; Your order ships today.<br>"
    assert shown(html=html_br) == "Reply from Bob"


@pytest.mark.parametrize("separator", [
    "-----Reply Message-----", "-----Original Message-----", "-----Ursprüngliche Nachricht-----",
    "-----Oorspronkelijk bericht-----", "-----Messaggio originale-----",
])
def test_separator_lines(separator):
    text = shown(f"Please cancel it.\n\n{separator}\nFrom: Ana\nSent: Monday\nYour order ships today.\n")
    assert text == "Please cancel it."


@pytest.mark.parametrize("block", [
    "Date: Mon, 1 Jan 2024 10:00\nFrom: Ana <ana@shop.test>\nTo: Bob\nSubject: order",
    "Fra: Ana <ana@shop.test>\nSendt: 1. januar 2024 10:00\nTil: Bob\nEmne: ordre",
    "Från: Ana <ana@shop.test>\nSkickat: den 1 januari 2024 10:00\nTill: Bob\nÄmne: order",
    "Van: Ana <ana@shop.test>\nVerzonden: maandag 1 januari 2024 10:00\nAan: Bob\nOnderwerp: bestelling",
    "Od: Ana <ana@shop.test>\nWysłano: poniedziałek, 1 stycznia 2024 10:00\nDo: Bob\nTemat: zamówienie",
    "Da: Ana <ana@shop.test>\nInviato: lunedì 1 gennaio 2024 10:00\nA: Bob\nOggetto: ordine",
    "От: Ana <ana@shop.test>\nОтправлено: 1 января 2024 г. 10:00\nКому: Bob\nТема: заказ",
])
def test_header_blocks_in_more_languages(block):
    assert shown(f"Please cancel it.\n\n{block}\n\nYour order ships today.\n") == "Please cancel it."


def test_forwarded_plain_text_keeps_the_forwarded_content():
    text = shown("FYI, see below\n\n---------- Forwarded message ---------\nFrom: Carrier <no@carrier.test>\n"
                 "Date: Mon, 1 Jan 2024\nSubject: Delivery problem\nTo: Bob\n\nYour parcel BR123 is held at customs.\n")
    assert text.startswith("FYI, see below")
    assert "Your parcel BR123 is held at customs." in text


@pytest.mark.parametrize("marker", ["Begin forwarded message:", "Início da mensagem encaminhada:",
                                    "---------- Mensaje reenviado ---------"])
def test_forward_without_a_comment_is_not_empty(marker):
    text = shown(f"{marker}\n\nFrom: Carrier <no@carrier.test>\nSubject: held\nDate: Mon\nTo: Bob\n\n"
                 "Your parcel BR123 is held at customs.\n")
    assert "Your parcel BR123 is held at customs." in text


def test_forwarded_gmail_html_keeps_the_forwarded_content():
    plain = ("see this\n\n---------- Forwarded message ---------\nFrom: Carrier <no@carrier.test>\n"
             "Date: Mon, 1 Jan 2024\nSubject: held\nTo: Bob\n\nYour parcel BR123 is held at customs.\n")
    html = ('<div dir="ltr">see this<br><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">'
            "---------- Forwarded message ---------<br>From: <strong>Carrier</strong> &lt;no@carrier.test&gt;<br>"
            "Date: Mon, 1 Jan 2024<br>Subject: held<br>To: Bob<br></div><br><br>"
            "<div>Your parcel BR123 is held at customs.</div></div></div>")
    assert "held at customs" in shown(plain, html)
    assert "held at customs" in shown(html=html)


def test_a_normal_reply_is_still_stripped():
    text = shown("Yes please.\n\nOn Mon, 1 Jan 2024 at 10:00, Ana <ana@shop.test> wrote:\n" + HISTORY)
    assert text == "Yes please."
