"""Hostile e-mail through the real inbound webhook URL: attachment names that are paths, and
mails built to make parsing slow (they are cut, and the original is kept as an attachment)."""

from __future__ import annotations

import pytest

from bench import hostile_mail
from inbox.models import Attachment, Message, WebhookEvent
from tests.factories import make_agent, make_inbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def inbox(monkeypatch, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setattr("bot.engine.bot_enabled_for", lambda inbox: False)
    return make_inbox("email", channel_config={"address": "support@shop.test", "webhook_secret": "s3cret"})


@pytest.fixture
def post_mail(client, django_capture_on_commit_callbacks):
    def post(inbox, raw: bytes):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(f"/webhooks/email/{inbox.public_id}/", data=raw,
                                   content_type="message/rfc822", HTTP_X_INBOX_SECRET="s3cret")
        assert response.status_code == 200, response.content
        return WebhookEvent.objects.get(pk=response.json()["received"])

    return post


def mail_with_attachment(disposition: str, message_id: str) -> bytes:
    return (
        "From: Maria <maria@customer.test>\r\nTo: support@shop.test\r\nSubject: invoice\r\n"
        f"Message-ID: <{message_id}@customer.test>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nHere is the invoice.\r\n"
        f"--B\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; {disposition}\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--B--\r\n"
    ).encode()


@pytest.mark.parametrize("disposition, shown", [
    ('filename="../../invoice.pdf"', "invoice.pdf"),
    ('filename="..\\\\..\\\\windows\\\\invoice.pdf"', "invoice.pdf"),
    ("filename*=utf-8''inv%00oice.pdf", "invoice.pdf"),  # NUL: PostgreSQL refuses it in text
    ('filename="/etc/passwd"', "passwd"),
    ('filename="' + "a" * 300 + '.pdf"', "a" * 196 + ".pdf"),
    ('filename="..."', "attachment-1.pdf"),
])
def test_attachment_names_from_the_sender_are_never_paths(inbox, post_mail, client, disposition, shown):
    event = post_mail(inbox, mail_with_attachment(disposition, "att"))
    assert event.status == "processed", event.error
    message = Message.objects.get(direction="in")
    attachment = message.attachments.get()
    assert attachment.status == Attachment.Status.STORED
    assert attachment.filename == shown
    stored = attachment.file.name
    assert stored.startswith("attachments/") and ".." not in stored and "invoice" not in stored
    assert stored.endswith(".pdf") or "passwd" in shown
    client.force_login(make_agent("ana", inboxes=[inbox]))
    response = client.get(f"/files/{attachment.pk}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.4\n"
    assert shown[:20] in response["Content-Disposition"]


@pytest.mark.parametrize("name", sorted(hostile_mail.HOSTILE))
def test_hostile_mail_is_cut_and_its_original_kept(inbox, post_mail, name):
    raw = hostile_mail.HOSTILE[name]()
    if len(raw) > 5 * 1024 * 1024:
        pytest.skip("over the webhook's body limit; covered by the parser test")
    event = post_mail(inbox, raw)
    assert event.status == "processed", event.error
    message = Message.objects.get(direction="in")
    limits = message.metadata["limits"]
    if name == "2 MB header":
        assert limits == []  # linear already: nothing to cut
        return
    assert limits, "a hostile mail must hit a limit"
    original = message.attachments.get(filename="original-message.eml")
    assert original.file.read() == raw
    assert "only partly read" in message.text


def test_the_webhook_request_does_not_parse_the_mail(inbox, client, django_capture_on_commit_callbacks,
                                                     monkeypatch):
    from channels_adapters.email import EmailAdapter

    calls = []
    real = EmailAdapter.parse_raw
    monkeypatch.setattr(EmailAdapter, "parse_raw", lambda self, raw: calls.append(len(raw)) or real(self, raw))
    raw = hostile_mail.many_parts()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(f"/webhooks/email/{inbox.public_id}/", data=raw, content_type="message/rfc822",
                               HTTP_X_INBOX_SECRET="s3cret")
    assert response.status_code == 200 and calls == []  # answered without parsing
    assert WebhookEvent.objects.get().status == "received"
    for callback in callbacks:
        callback()
    assert calls == [len(raw)] and WebhookEvent.objects.get().status == "processed"


def test_a_form_post_without_a_raw_message_is_still_refused_at_once(inbox, client):
    body = b'--F\r\nContent-Disposition: form-data; name="subject"\r\n\r\nhi\r\n--F--\r\n'
    response = client.post(f"/webhooks/email/{inbox.public_id}/", data=body,
                           content_type="multipart/form-data; boundary=F", HTTP_X_INBOX_SECRET="s3cret")
    assert response.status_code == 400 and "body-mime" in response.json()["error"]


def test_a_form_post_with_thousands_of_fields_is_cut(inbox, post_mail):
    raw = mail_with_attachment('filename="a.pdf"', "form")
    fields = b"".join(b'--F\r\nContent-Disposition: form-data; name="x%d"\r\n\r\nv\r\n' % i for i in range(20_000))
    body = (b'--F\r\nContent-Disposition: form-data; name="body-mime"\r\n\r\n' + raw + b"\r\n" + fields + b"--F--\r\n")

    def post(inbox, _raw):
        from django.test import Client

        return Client().post(f"/webhooks/email/{inbox.public_id}/", data=body,
                             content_type="multipart/form-data; boundary=F", HTTP_X_INBOX_SECRET="s3cret")

    from django.db import transaction  # noqa: F401

    response = post(inbox, body)
    assert response.status_code == 200
    from inbox.inbound import process_webhook_event

    event = process_webhook_event(response.json()["received"])
    assert event.status == "processed", event.error
    assert Message.objects.get(direction="in").attachments.get().filename == "a.pdf"
