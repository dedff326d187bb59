"""The e-mail channel against real servers: Dovecot (IMAP) and aiosmtpd (SMTP) on loopback.

The full round trip: a customer's mail comes in by IMAP, the agent's reply goes out by SMTP in
the same thread, the customer's answer comes back into the same conversation showing only
what is new.
"""

from __future__ import annotations

import datetime as dt
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest
from django.utils import timezone

from inbox import services
from inbox.mail_polling import poll_inbox
from inbox.models import Conversation, Inbox, Message
from tests.factories import make_agent, make_inbox
from tests.mailservers import dovecot, smtp_server  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def customer_mail(text: str, *, subject="Pedido 10234 não chegou", in_reply_to: str = "", references: str = "",
                  to="support@shop.test", extra_headers: dict | None = None) -> tuple[bytes, str]:
    msg = EmailMessage()
    msg["From"] = "Maria Souza <maria@customer.test>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(timezone.now())
    msg_id = make_msgid(domain="customer.test")
    msg["Message-ID"] = msg_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = references or in_reply_to
    for key, value in (extra_headers or {}).items():
        msg[key] = value
    msg.set_content(text)
    return msg.as_bytes(), msg_id


@pytest.fixture
def inbox(dovecot, smtp_server, monkeypatch) -> Inbox:  # noqa: F811
    monkeypatch.setattr("bot.engine.bot_enabled_for", lambda inbox: False)
    config = {**dovecot.config(), **smtp_server.config(), "display_name": "Shop Support"}
    return make_inbox("email", channel_config=config)


def poll(inbox: Inbox) -> int:
    inbox.refresh_from_db()
    return poll_inbox(inbox)


def test_full_round_trip(inbox, dovecot, smtp_server, django_capture_on_commit_callbacks):  # noqa: F811
    raw, first_id = customer_mail("Olá, comprei um tênis há 10 dias e o pedido 10234 ainda não chegou.")
    dovecot.append(raw)
    assert poll(inbox) == 1
    conversation = Conversation.objects.get()
    first = conversation.messages.get()
    assert first.provider_message_id == first_id and "10234" in first.text
    assert conversation.contact.email == "maria@customer.test" and conversation.subject.startswith("Pedido")
    assert "Seen" in " ".join(dovecot.flags().values())

    agent = make_agent("ana", first_name="Ana", inboxes=[inbox])
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.send_reply(conversation=conversation, author=agent, text="Oi Maria! Já verifiquei: chega amanhã.")
    reply.refresh_from_db()
    assert reply.delivery_state == "sent", reply.delivery_error
    sent = message_from_bytes(smtp_server.handler.messages[-1]["data"], policy=policy.default)
    assert sent["In-Reply-To"] == first_id and first_id in sent["References"]
    assert sent["Message-ID"] == reply.provider_message_id
    assert sent["Subject"] == "Re: Pedido 10234 não chegou"
    assert conversation.thread_token in sent["Reply-To"]
    assert "Ana" in sent["From"]
    assert smtp_server.handler.messages[-1]["rcpt_tos"] == ["maria@customer.test"]

    quoted = "\n".join(f"> {line}" for line in sent.get_body(("plain",)).get_content().splitlines())
    answer, _ = customer_mail(
        f"Obrigada! Vou aguardar.\n\nEm qui., 26 de nov. de 2026 às 10:00, Shop Support <support@shop.test> escreveu:\n{quoted}\n",
        subject="Re: Pedido 10234 não chegou", in_reply_to=sent["Message-ID"],
        references=f"{first_id} {sent['Message-ID']}")
    dovecot.append(answer)
    assert poll(inbox) == 1
    latest = Message.objects.filter(direction="in").latest("created_at")
    assert latest.conversation_id == conversation.pk
    assert latest.text.strip() == "Obrigada! Vou aguardar."
    assert "chega amanhã" in latest.metadata["full_text"]  # the original stays available


def test_restart_neither_loses_nor_reimports(inbox, dovecot):  # noqa: F811
    dovecot.append(customer_mail("first")[0])
    assert poll(inbox) == 1
    assert poll(inbox) == 0  # same state: nothing again
    dovecot.append(customer_mail("second", subject="Another question")[0])
    assert poll(inbox) == 1
    assert Message.objects.count() == 2


def test_plus_address_threads_when_headers_are_missing(inbox, dovecot):  # noqa: F811
    dovecot.append(customer_mail("first")[0])
    poll(inbox)
    conversation = Conversation.objects.get()
    raw, _ = customer_mail("answer without headers", subject="something else",
                           to=f"support+{conversation.thread_token}@shop.test")
    dovecot.append(raw)
    poll(inbox)
    assert Conversation.objects.count() == 1 and conversation.messages.count() == 2


def test_server_down_leaves_a_visible_error_and_backs_off(inbox):
    inbox.channel_config["imap_port"] = 1  # nothing listens there
    inbox.save()
    now = timezone.now()
    assert poll_inbox(inbox, now=now) == 0
    inbox.refresh_from_db()
    assert "Mailbox check failed" in inbox.last_error
    first_retry = dt.datetime.fromisoformat(inbox.channel_state["next_poll_at"])
    poll_inbox(inbox, now=now)
    inbox.refresh_from_db()
    second_retry = dt.datetime.fromisoformat(inbox.channel_state["next_poll_at"])
    assert second_retry - now > first_retry - now  # exponential backoff


def test_wrong_password_is_reported(inbox):
    inbox.channel_config["imap_password"] = "wrong"
    inbox.save()
    poll_inbox(inbox)
    inbox.refresh_from_db()
    assert inbox.last_error and inbox.last_error_at


def test_bounce_marks_the_outbound_message_failed(inbox, dovecot, smtp_server, django_capture_on_commit_callbacks):  # noqa: F811
    dovecot.append(customer_mail("hello")[0])
    poll(inbox)
    conversation = Conversation.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.send_reply(conversation=conversation, text="answer")
    reply.refresh_from_db()
    bounce = (
        "From: MAILER-DAEMON@shop.test\r\nTo: support@shop.test\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: {make_msgid(domain='shop.test')}\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.shop.test\r\n\r\n"
        "Final-Recipient: rfc822; maria@customer.test\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n"
        f"--B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {reply.provider_message_id}\r\nSubject: Re: x\r\n--B--\r\n"
    ).encode()
    dovecot.append(bounce)
    poll(inbox)
    reply.refresh_from_db()
    assert reply.delivery_state == "failed" and "User unknown" in reply.delivery_error
    assert conversation.messages.filter(direction="in").count() == 1  # the bounce is not a customer message


def test_inbound_webhook_with_secret(client, django_capture_on_commit_callbacks, monkeypatch):
    monkeypatch.setattr("bot.engine.bot_enabled_for", lambda inbox: False)
    inbox = make_inbox("email", channel_config={"address": "support@shop.test", "webhook_secret": "s3cret"})
    raw, msg_id = customer_mail("Hi by webhook")
    url = f"/webhooks/email/{inbox.public_id}/"
    assert client.post(url, data=raw, content_type="message/rfc822").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        ok = client.post(url, data=raw, content_type="message/rfc822", HTTP_X_INBOX_SECRET="s3cret")
    assert ok.status_code == 200
    assert Message.objects.get().provider_message_id == msg_id
    from inbox.models import WebhookEvent

    stored = WebhookEvent.objects.get(status="processed")
    assert "x-inbox-secret" not in stored.headers and "s3cret" not in str(stored.headers)  # no credentials kept
