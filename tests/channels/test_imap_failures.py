"""IMAP mail that fails to store is never skipped for good when the last-UID pointer moves on:
it is kept as a failed raw event an admin can process again, or, when even that cannot be
written, the next poll fetches it again. Real Dovecot on loopback."""

from __future__ import annotations

import pytest

from inbox import mail_polling
from inbox.mail_polling import poll_inbox
from inbox.models import Message, WebhookEvent
from tests.factories import make_agent, make_inbox
from tests.mailservers import dovecot  # noqa: F401  (fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def mail(n: int, subject: str) -> bytes:
    return (f"From: Customer {n} <c{n}@customer.test>\r\nTo: support@shop.test\r\nSubject: {subject}\r\n"
            f"Message-ID: <m{n}@customer.test>\r\n\r\nQuestion {n}\r\n").encode()


@pytest.fixture
def inbox(dovecot, monkeypatch):  # noqa: F811
    monkeypatch.setattr("bot.engine.bot_enabled_for", lambda inbox: False)
    return make_inbox("email", channel_config={**dovecot.config(), "address": "support@shop.test"})


def poll(inbox):
    inbox.refresh_from_db()
    return poll_inbox(inbox)


def failing_for(subject: str, real):
    def apply(*, inbox, parsed):
        if parsed.messages and parsed.messages[0].metadata.get("subject") == subject:
            raise RuntimeError("the database refused it")
        return real(inbox=inbox, parsed=parsed)
    return apply


def test_a_mail_that_fails_is_kept_as_a_failed_event_and_can_be_processed_again(inbox, dovecot, monkeypatch,
                                                                                  client):  # noqa: F811
    dovecot.append(mail(1, "ok before"))
    dovecot.append(mail(2, "bad"))
    dovecot.append(mail(3, "ok after"))
    real = mail_polling.apply_parsed
    monkeypatch.setattr(mail_polling, "apply_parsed", failing_for("bad", real))
    assert poll(inbox) == 2
    event = WebhookEvent.objects.get(inbox=inbox)
    assert event.status == WebhookEvent.Status.FAILED and "IMAP uid 2" in event.error
    assert bytes(event.body) == mail(2, "bad")
    assert event.attempts == 1 and event.next_attempt_at is not None  # the failed-event retry will try again
    assert "Seen" in dovecot.flags()[2]  # safely kept, so the mailbox moves on
    monkeypatch.setattr(mail_polling, "apply_parsed", real)
    assert poll(inbox) == 0  # the pointer moved on: not fetched again

    admin = make_agent("root", staff=True, is_superuser=True)
    client.force_login(admin)
    response = client.post("/admin/inbox/webhookevent/", {"action": "reprocess", "_selected_action": [event.pk]})
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.PROCESSED, event.error
    assert sorted(Message.objects.values_list("provider_message_id", flat=True)) == [
        "<m1@customer.test>", "<m2@customer.test>", "<m3@customer.test>"]


def test_when_not_even_the_failed_event_can_be_written_the_next_poll_tries_again(inbox, dovecot, monkeypatch):  # noqa: F811
    dovecot.append(mail(1, "ok before"))
    dovecot.append(mail(2, "bad"))
    dovecot.append(mail(3, "ok after"))
    real = mail_polling.apply_parsed
    monkeypatch.setattr(mail_polling, "apply_parsed", failing_for("bad", real))

    def no_database(**kwargs):
        raise RuntimeError("database down")

    monkeypatch.setattr(mail_polling, "record_webhook_event", no_database)
    assert poll(inbox) == 2
    assert "Seen" not in dovecot.flags()[2]
    monkeypatch.setattr(mail_polling, "apply_parsed", real)
    assert poll(inbox) == 1  # uid 2 again; uid 3 is a duplicate by Message-ID
    assert Message.objects.filter(provider_message_id="<m2@customer.test>").exists()
    assert Message.objects.count() == 3
