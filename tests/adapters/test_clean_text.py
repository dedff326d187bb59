"""The normalized dataclasses clean what no database column can store (issue #11 item 2):
lone surrogates, NUL characters, NaN numbers, over-long values. Pure tests, no database; the
write path's tests store the same values on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses

import pytest

from channels_adapters.base import (
    MAX_JSON_DEPTH,
    InboundAttachment,
    InboundMessage,
    StatusUpdate,
    clean_id,
    clean_text,
)

DIRTY = "a\ud83db\x00c\udcff"
STR_FIELDS = [f.name for f in dataclasses.fields(InboundMessage) if f.type in ("str", str)]


def storable(value: str) -> bool:
    value.encode("utf-8")  # raises on a lone surrogate
    return "\x00" not in value


def test_clean_text_replaces_surrogates_and_drops_nul():
    assert clean_text(DIRTY) == "a\ufffdbc\ufffd"
    assert clean_text("plain") == "plain" and clean_text("ação 😀") == "ação 😀"
    assert clean_text("x" * 10, 5) == "xxxx…"


def test_every_text_field_of_inbound_message_is_cleaned():
    assert set(STR_FIELDS) >= {"provider_message_id", "sender_address", "text", "sender_name", "html",
                               "reply_to_provider_id", "reaction_to_provider_id", "edit_of_provider_id",
                               "unsend_of_provider_id", "quick_reply_payload", "contact_email",
                               "contact_phone", "new_sender_address"}
    for name in STR_FIELDS:
        message = InboundMessage(**{"provider_message_id": "m1", "sender_address": "s1", name: DIRTY})
        assert storable(getattr(message, name)), name
        # Later assignments (adapters fill fields after construction) are cleaned too.
        message = InboundMessage(provider_message_id="m1", sender_address="s1")
        setattr(message, name, DIRTY)
        assert storable(getattr(message, name)), name


def test_metadata_and_location_are_cleaned_deeply_also_when_filled_key_by_key():
    message = InboundMessage(provider_message_id="m", sender_address="s",
                             metadata={"k\x00": [DIRTY, {"n": float("nan")}]}, location={"name": DIRTY})
    message.metadata["later"] = {"deep": DIRTY}
    message.metadata.update(more=DIRTY)
    assert message.metadata == {"k": ["a\ufffdbc\ufffd", {"n": None}], "later": {"deep": "a\ufffdbc\ufffd"},
                                "more": "a\ufffdbc\ufffd"}
    assert message.location == {"name": "a\ufffdbc\ufffd"}


def test_deep_nesting_is_cut():
    nested: list = []
    for _ in range(MAX_JSON_DEPTH * 3):
        nested = [nested]
    message = InboundMessage(provider_message_id="m", sender_address="s", metadata={"referral": nested})
    depth, value = 0, message.metadata["referral"]
    while isinstance(value, list):
        depth, value = depth + 1, value[0]
    assert depth < MAX_JSON_DEPTH and value == "[nested too deeply]"


def test_long_values_fit_their_columns():
    message = InboundMessage(provider_message_id="x" * 400, sender_address="y" * 400, sender_name="n" * 201,
                             contact_email="e" * 250 + "@x.com", contact_phone="1" * 60)
    assert len(message.provider_message_id) == 255 and len(message.sender_address) == 255
    assert len(message.sender_name) == 200 and message.sender_name.endswith("…")
    assert message.contact_email == "" and len(message.contact_phone) == 40
    # Two long ids that share their first 255 characters stay different.
    assert clean_id("x" * 300 + "a") != clean_id("x" * 300 + "b")


def test_attachment_and_status_fields_are_cleaned():
    attachment = InboundAttachment(kind="file", filename="n" * 300 + ".pdf", content_type="t" * 150,
                                   url="http://x/" + "u" * 3000, provider_media_id=DIRTY)
    assert len(attachment.filename) == 255 and attachment.filename.endswith(".pdf")
    assert len(attachment.content_type) == 100 and len(attachment.url) == 2000
    assert storable(attachment.provider_media_id)
    status = StatusUpdate(status="failed", provider_message_id=DIRTY, error_code="c" * 50, error_title=DIRTY)
    assert storable(status.provider_message_id) and storable(status.error_title) and len(status.error_code) == 40


@pytest.mark.django_db
def test_limits_agree_with_the_columns_they_fill():
    from inbox.models import Attachment, Contact, ContactIdentity, Message

    def length(model, field):
        return model._meta.get_field(field).max_length

    assert InboundMessage._limits["sender_name"] == length(Contact, "name")
    assert InboundMessage._limits["contact_phone"] == length(Contact, "phone")
    assert length(Contact, "email") == 254
    assert length(Message, "provider_message_id") == 255 == length(ContactIdentity, "address")
    assert InboundAttachment._limits["content_type"] == length(Attachment, "content_type")
    assert InboundAttachment._limits["url"] == length(Attachment, "source_url")
    assert length(Attachment, "filename") == 255 == length(Attachment, "provider_media_id")
    assert StatusUpdate._limits["error_code"] == length(Message, "delivery_error_code")
