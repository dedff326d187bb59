"""Every text field of ``InboundMessage`` with values no column stores as they are (issue #11
item 2): lone surrogates, NUL characters, over-long values. Stored through the write path on
SQLite and, under tests.servers --postgres, on PostgreSQL."""

from __future__ import annotations

import dataclasses

import pytest

from channels_adapters.base import InboundAttachment, InboundMessage
from inbox import services
from inbox.models import Attachment, Contact, Message

from .conftest import make_inbox

pytestmark = pytest.mark.django_db

BAD_VALUES = {
    "surrogate": "x\ud83dy",
    "surrogateescape": "caf\udce9",
    "nul": "a\x00b",
    "long": "L" * 3000,
    "long_dirty": ("\ud83d\x00" * 400) + "M" * 500,
}
TEXT_FIELDS = [f.name for f in dataclasses.fields(InboundMessage) if f.type in ("str", str)]


@pytest.mark.parametrize("value", BAD_VALUES.values(), ids=BAD_VALUES.keys())
@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_each_text_field_is_stored(field, value):
    inbox = make_inbox("Mail", "email")
    fields = {"provider_message_id": "m-1", "sender_address": "maria@example.com", "text": "hello", field: value}
    inbound = InboundMessage(**fields, metadata={"subject": value, "headers": {value: [value]}},
                             location={"name": value, "latitude": 1.0, "longitude": float("nan")},
                             # Not downloaded yet: the file's storage name is another matter (item 3).
                             attachments=[InboundAttachment(kind="file", filename=value, content_type=value,
                                                            provider_media_id=value, url="https://x.example/" + value)])
    result = services.receive_inbound(inbox=inbox, inbound=inbound, auto_reply=False)
    if field in ("reaction_to_provider_id", "edit_of_provider_id", "unsend_of_provider_id", "new_sender_address"):
        # Aimed at a message or customer that does not exist: nothing stored, nothing broken.
        assert result.message is None and result.outcome.endswith("unknown")
        return
    message = Message.objects.get(pk=result.message.pk)
    storable(message.text)
    storable(message.metadata["subject"])
    contact = Contact.objects.get()
    storable(contact.name)
    assert len(contact.name) <= 200
    attachment = Attachment.objects.get()
    storable(attachment.filename)
    assert len(attachment.filename) <= 255


def storable(value: str) -> None:
    value.encode("utf-8")  # raises on a lone surrogate
    assert "\x00" not in value
