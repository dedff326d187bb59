"""WhatsApp Cloud API adapter: the shared contract, every fixture, and exact request bodies
against the fake Graph API."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from channels_adapters import meta
from channels_adapters.base import (
    InboundAttachment,
    OutboundAttachment,
    OutboundMessage,
    PermanentSendError,
    QuickReply,
    TemplateRef,
    TemporarySendError,
)
from channels_adapters.whatsapp import WhatsAppAdapter
from tests.adapters.contract import FIXTURES, AdapterContractTests, GraphSendContractTests
from tests.fakes.graph_api import FakeGraphAPI, fake_graph, graph_error  # noqa: F401  (fixture)

PNID = "1234567890"
CUSTOMER = "16505551234"
T0 = dt.datetime(2024, 5, 31, 16, 8, 37, tzinfo=dt.timezone.utc)  # "1717171717"


def config(**overrides):
    base = {
        "phone_number_id": PNID,
        "business_account_id": "102290129340398",
        "access_token": "EAAG-test-token",
        "app_secret": "wa-app-secret",
        "verify_token": "wa-verify",
    }
    return {**base, **overrides}


def one(parsed):
    (message,) = parsed.messages
    assert message.sender_address == CUSTOMER and message.sender_name == "Kerry Fisher"
    assert message.sent_at == T0
    return message


def check_text(parsed):
    m = one(parsed)
    assert m.text == "Hello, is my order on its way?" and not m.unsupported
    assert m.provider_message_id.startswith("wamid.")


def media_check(kind, media_id, content_type, caption, filename=None, **metadata):
    def check(parsed):
        m = one(parsed)
        (att,) = m.attachments
        assert (att.kind, att.provider_media_id, att.content_type) == (kind, media_id, content_type)
        assert att.data is None and att.filename
        if filename:
            assert att.filename == filename
        assert m.text == caption
        for key, value in metadata.items():
            assert m.metadata[key] == value
    return check


def check_location(parsed):
    m = one(parsed)
    assert m.location == {"latitude": 37.483307, "longitude": 122.148981, "name": "Philz Coffee",
                          "address": "101 Forest Ave, Palo Alto, CA 94301", "url": "https://www.philzcoffee.com"}
    assert m.text == "Location: Philz Coffee, 101 Forest Ave, Palo Alto, CA 94301 (37.483307, 122.148981)"


def check_contacts(parsed):
    m = one(parsed)
    assert m.text == "Contact: Barbara Johnson — +1 (940) 555-1234, bjohnson@example.com"
    assert m.metadata["contacts"][0]["phones"][0]["wa_id"] == "19405551234"


def reply_check(payload, title, reply_to):
    def check(parsed):
        m = one(parsed)
        assert (m.quick_reply_payload, m.text, m.reply_to_provider_id) == (payload, title, reply_to)
    return check


def check_reaction(parsed):
    m = one(parsed)
    assert m.reaction_to_provider_id == "wamid.OUTBOUND0003" and m.text == "\U0001F44D"
    assert "reaction_removed" not in m.metadata


def check_context_reply(parsed):
    m = one(parsed)
    assert m.reply_to_provider_id == "wamid.OUTBOUND0004" and m.text == "Yes, that one"


def check_unsupported(parsed):
    m = one(parsed)
    assert m.unsupported and m.text == "[unsupported message type: unknown]"
    assert m.metadata["unsupported_reason"] == "Message type is currently not supported."
    assert m.metadata["errors"][0]["code"] == 131051


def check_unknown_type(parsed):
    first, second = parsed.messages
    assert first.unsupported and first.text == "[unsupported message type: hologram]"
    assert first.provider_message_id == "wamid.UNKNOWN0001"
    assert not second.unsupported and second.text == "and a normal message after it"


ORIGINAL = "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTdBQzE0NjQ3RjNGNEQ1QjVEMgA="


def check_edit(parsed):
    (m,) = parsed.messages
    assert (m.edit_of_provider_id, m.text) == (ORIGINAL, "Hello, is my order #1234 on its way?")
    assert not m.unsupported and m.provider_message_id == "wamid.EDIT1"


def check_business_app_echo(parsed):
    (m,) = parsed.messages
    assert m.is_echo and m.sender_address == CUSTOMER and m.text == "Oi! Aqui é a Ana, da loja."


def check_revoke(parsed):
    (m,) = parsed.messages
    assert m.unsend_of_provider_id == ORIGINAL and not m.unsupported and not m.edit_of_provider_id


def check_order(parsed):
    (m,) = parsed.messages
    assert not m.unsupported
    assert m.text == "Order:\n• 2 × SKU-RED-42 — 89.90 BRL\n• 1 × SKU-SOCKS — 19.50 BRL\nCan you gift-wrap it?"
    assert m.metadata["order"]["catalog_id"] == "CAT-1"
    assert [i["product_retailer_id"] for i in m.metadata["order"]["product_items"]] == ["SKU-RED-42", "SKU-SOCKS"]


def check_flow_reply(parsed):
    (m,) = parsed.messages
    assert not m.unsupported
    assert m.text == "Sent\norder_number: 1234\nreason: Wrong size\nrefund: True"
    assert m.metadata["flow_reply"]["response"]["reason"] == "Wrong size"
    assert "tok-123" not in m.text


def check_number_change(parsed):
    (m,) = parsed.messages
    assert (m.sender_address, m.new_sender_address) == (CUSTOMER, "16505559999")
    assert m.text == "Kerry Fisher changed from 16505551234 to 16505559999"
    assert m.metadata["system_event"] == "user_changed_number" and not m.unsupported


def status_check(state, seconds, error=None):
    def check(parsed):
        assert parsed.messages == []
        (s,) = parsed.statuses
        assert (s.status, s.provider_message_id, s.recipient_address) == (state, "wamid.OUTBOUND0005", CUSTOMER)
        assert s.timestamp == dt.datetime.fromtimestamp(seconds, dt.timezone.utc)
        assert (s.error_code, s.error_title, s.error_detail) == (error or ("", "", ""))
    return check


def check_batch(parsed):
    ids = [m.provider_message_id for m in parsed.messages]
    assert ids == ["wamid.BATCH0001", "wamid.BATCH0002", "wamid.BATCH0003"]
    assert [m.sender_name for m in parsed.messages] == ["Kerry Fisher", "Kerry Fisher", "Amara Okafor"]
    assert parsed.messages[1].attachments[0].provider_media_id == "6003383421387256"
    assert parsed.messages[1].attachments[0].filename == "image-6003383421387256.png"
    assert parsed.messages[2].sender_address == "447700900123"
    assert [s.status for s in parsed.statuses] == ["delivered"]
    assert parsed.skipped == ["entry[0].changes[1]: field 'message_template_status_update' is not handled"]


class TestWhatsAppContract(AdapterContractTests):
    adapter_class = WhatsAppAdapter
    fixture_dir = FIXTURES / "whatsapp"
    webhook_object = "whatsapp_business_account"

    def make_config(self, **overrides):
        return config(**overrides)

    def signed_headers(self, body, config):
        return {"X-Hub-Signature-256": meta.signature_for(body, config["app_secret"])}

    def other_account_overrides(self):
        return {"phone_number_id": "999999999"}

    def unknown_type_fixture(self):
        return "message__unknown_type"

    def payload_with_timestamp(self, when):
        document = json.loads((self.fixture_dir / "message__text.json").read_text())
        document["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] = str(int(when.timestamp()))
        return json.dumps(document).encode()

    def expectations(self):
        return {
            "message__text": check_text,
            "message__image": media_check("image", "1003383421387256", "image/jpeg", "Broken on arrival"),
            "message__audio": media_check("audio", "2003383421387256", "audio/ogg", "", voice=True),
            "message__video": media_check("video", "5003383421387256", "video/mp4", "See the noise"),
            "message__document": media_check("file", "3003383421387256", "application/pdf", "My invoice",
                                             filename="invoice-2024-117.pdf"),
            "message__sticker": media_check("sticker", "4003383421387256", "image/webp", ""),
            "message__location": check_location,
            "message__contacts": check_contacts,
            "message__interactive_button_reply": reply_check("faq:shipping", "Shipping times", "wamid.OUTBOUND0001"),
            "message__interactive_list_reply": reply_check("faq:returns", "Returns", "wamid.OUTBOUND0002"),
            "message__template_button": reply_check("TALK_TO_AGENT", "Talk to an agent", "wamid.TEMPLATE0001"),
            "message__reaction": check_reaction,
            "message__context_reply": check_context_reply,
            "message__unsupported": check_unsupported,
            "message__unknown_type": check_unknown_type,
            "message__edit": check_edit,
            "echo__business_app": check_business_app_echo,
            "message__revoke": check_revoke,
            "message__order": check_order,
            "message__interactive_nfm_reply": check_flow_reply,
            "message__system_number_change": check_number_change,
            "status__sent": status_check("sent", 1717171720),
            "status__delivered": status_check("delivered", 1717171725),
            "status__read": status_check("read", 1717171730),
            "status__failed_131047": status_check("failed", 1717171735, (
                "131047", "Re-engagement message",
                "Message failed to send because more than 24 hours have passed since the customer last "
                "replied to this number.")),
            "batch__two_entries_three_messages": check_batch,
        }

    def test_removed_reaction_has_empty_text(self):
        document = json.loads((self.fixture_dir / "message__reaction.json").read_text())
        del document["entry"][0]["changes"][0]["value"]["messages"][0]["reaction"]["emoji"]
        (m,) = self.make_adapter().parse(json.dumps(document).encode(), {}).messages
        assert m.text == "" and m.metadata["reaction_removed"] is True
        assert m.reaction_to_provider_id == "wamid.OUTBOUND0003"

    def test_message_without_id_is_skipped_not_fatal(self):
        document = json.loads((self.fixture_dir / "batch__two_entries_three_messages.json").read_text())
        del document["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
        parsed = self.make_adapter().parse(json.dumps(document).encode(), {})
        assert [m.provider_message_id for m in parsed.messages] == ["wamid.BATCH0002", "wamid.BATCH0003"]
        assert "entry[0].changes[0].messages[0]: message without 'id' or 'from'" in parsed.skipped


class TestWhatsAppSendContract(GraphSendContractTests):
    adapter_class = WhatsAppAdapter
    error_cases = [
        (400, 131047, None, True),  # outside the 24-hour window
        (400, 131026, None, True),  # undeliverable
        (401, 190, None, True),  # expired token
        (401, 190, 463, True),
        (400, 100, None, True),  # invalid parameter
        (400, 132001, None, True),  # template does not exist
        (400, 130429, None, False),  # throughput
        (400, 131056, None, False),  # pair rate limit
        (400, 80007, None, False),  # WABA rate limit
        (500, 131000, None, False),
        (503, 131016, None, False),
    ]

    def make_config(self, **overrides):
        return config(**overrides)

    def sample_message(self):
        return OutboundMessage(recipient_address=CUSTOMER, text="Your order ships today.")


def adapter(graph, **overrides):
    return WhatsAppAdapter(config(graph_api_base=graph.base_url, **overrides), inbox_id=1)


def envelope(**rest):
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": CUSTOMER, **rest}


def test_send_text_exact_body(fake_graph):
    result = adapter(fake_graph).send(OutboundMessage(CUSTOMER, text="Hello there", reply_to_provider_id="wamid.IN1"))
    (req,) = fake_graph.requests
    assert (req.method, req.path) == ("POST", f"/{PNID}/messages")
    assert req.headers["authorization"] == "Bearer EAAG-test-token"
    assert req.json == envelope(context={"message_id": "wamid.IN1"}, type="text",
                                text={"preview_url": False, "body": "Hello there"})
    assert result.provider_message_id == "wamid.1"
    assert result.metadata == {"provider_message_ids": ["wamid.1"], "wa_id": CUSTOMER}


def test_send_three_quick_replies_as_buttons(fake_graph):
    replies = [QuickReply("Shipping times", "faq:shipping"), QuickReply("Returns", "faq:returns"),
               QuickReply("Talk to a human being please", "handoff")]
    adapter(fake_graph).send(OutboundMessage(CUSTOMER, text="How can I help?", quick_replies=replies))
    assert fake_graph.requests[0].json == envelope(type="interactive", interactive={
        "type": "button",
        "body": {"text": "How can I help?"},
        "action": {"buttons": [
            {"type": "reply", "reply": {"id": "faq:shipping", "title": "Shipping times"}},
            {"type": "reply", "reply": {"id": "faq:returns", "title": "Returns"}},
            {"type": "reply", "reply": {"id": "handoff", "title": "Talk to a human bei…"}},
        ]},
    })
    assert len(fake_graph.requests[0].json["interactive"]["action"]["buttons"][2]["reply"]["title"]) == 20


def test_send_more_than_three_quick_replies_as_a_list(fake_graph):
    replies = [QuickReply(f"Option {i}", f"p{i}") for i in range(4)]
    adapter(fake_graph, list_button_label="Topics").send(OutboundMessage(CUSTOMER, text="Pick one", quick_replies=replies))
    assert fake_graph.requests[0].json == envelope(type="interactive", interactive={
        "type": "list",
        "body": {"text": "Pick one"},
        "action": {"button": "Topics", "sections": [
            {"title": "Topics", "rows": [{"id": f"p{i}", "title": f"Option {i}"} for i in range(4)]}]},
    })


def test_more_than_ten_quick_replies_is_refused_before_any_request(fake_graph):
    replies = [QuickReply(f"Option {i}", f"p{i}") for i in range(11)]
    with pytest.raises(PermanentSendError, match="at most 10"):
        adapter(fake_graph).send(OutboundMessage(CUSTOMER, text="Pick one", quick_replies=replies))
    assert fake_graph.requests == []


def test_send_template(fake_graph):
    template = TemplateRef(name="order_update", language="en_US", parameters=["Kerry", "#1042"])
    result = adapter(fake_graph).send(OutboundMessage(CUSTOMER, template=template))
    assert fake_graph.requests[0].json == envelope(type="template", template={
        "name": "order_update", "language": {"code": "en_US"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "Kerry"},
                                                        {"type": "text", "text": "#1042"}]}],
    })
    assert result.provider_message_id.startswith("wamid.")


def test_send_attachment_by_link_with_caption(fake_graph):
    attachment = OutboundAttachment("photo.jpg", "image/jpeg", url="https://cdn.example.com/photo.jpg")
    adapter(fake_graph).send(OutboundMessage(CUSTOMER, text="Here it is", attachments=[attachment]))
    (req,) = fake_graph.requests
    assert req.json == envelope(type="image", image={"link": "https://cdn.example.com/photo.jpg", "caption": "Here it is"})


def test_send_attachment_by_upload(fake_graph):
    data = b"%PDF-1.4 fake invoice\n" * 10
    attachment = OutboundAttachment("invoice.pdf", "application/pdf", data=data)
    result = adapter(fake_graph).send(OutboundMessage(CUSTOMER, text="Your invoice", attachments=[attachment]))
    upload, send = fake_graph.requests
    assert (upload.method, upload.path) == ("POST", f"/{PNID}/media")
    assert upload.form == {"messaging_product": "whatsapp", "type": "application/pdf"}
    assert upload.files["file"] == ("invoice.pdf", data, "application/pdf")
    media_id = next(iter(fake_graph.media))
    assert send.json == envelope(type="document", document={"id": media_id, "caption": "Your invoice",
                                                             "filename": "invoice.pdf"})
    assert fake_graph.media[media_id][0] == data
    assert result.provider_message_id == "wamid.2"


def test_audio_cannot_carry_a_caption_so_text_goes_first(fake_graph):
    attachment = OutboundAttachment("note.ogg", "audio/ogg", url="https://cdn.example.com/note.ogg")
    result = adapter(fake_graph).send(OutboundMessage(CUSTOMER, text="Listen:", attachments=[attachment]))
    text, audio = (r.json for r in fake_graph.requests)
    assert text == envelope(type="text", text={"preview_url": False, "body": "Listen:"})
    assert audio == envelope(type="audio", audio={"link": "https://cdn.example.com/note.ogg"})
    assert result.metadata["provider_message_ids"] == ["wamid.1", "wamid.2"]


def test_partial_failure_reports_what_was_sent(fake_graph):
    attachments = [OutboundAttachment(f"{i}.png", "image/png", url=f"https://cdn.example.com/{i}.png") for i in range(2)]
    fake_graph.fail_next(400, graph_error(131053, "Media upload error"), path_contains="/messages", after=1)
    with pytest.raises(PermanentSendError) as caught:
        adapter(fake_graph).send(OutboundMessage(CUSTOMER, text="Two photos", attachments=attachments))
    assert caught.value.code == "131053"
    assert caught.value.sent_provider_ids == ["wamid.1"]
    first, second = (r.json for r in fake_graph.requests)
    assert first["image"] == {"link": "https://cdn.example.com/0.png", "caption": "Two photos"}
    assert second["image"] == {"link": "https://cdn.example.com/1.png"}


def test_attachment_without_data_or_url_is_refused_before_any_request(fake_graph):
    empty = OutboundAttachment("nothing.png", "image/png")
    with pytest.raises(PermanentSendError, match="neither data nor a URL"):
        adapter(fake_graph).send(OutboundMessage(CUSTOMER, text="x" * 2000, attachments=[empty]))
    assert fake_graph.requests == []


def test_too_long_text_is_refused_before_any_request(fake_graph):
    with pytest.raises(PermanentSendError) as caught:
        adapter(fake_graph).send(OutboundMessage(CUSTOMER, text="x" * 4097))
    assert caught.value.code == "text_too_long" and "4,096" in str(caught.value)
    assert fake_graph.requests == []


def test_mark_read(fake_graph):
    adapter(fake_graph).mark_read("wamid.IN9")
    assert fake_graph.requests[0].json == {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.IN9"}
    assert fake_graph.requests[0].path == f"/{PNID}/messages"


def test_test_connection(fake_graph):
    assert adapter(fake_graph).test_connection() == "+1 555-010-0000 / Acme Support"
    assert fake_graph.requests[0].path == f"/{PNID}" and fake_graph.requests[0].method == "GET"


def test_test_connection_with_a_wrong_number_id(fake_graph):
    with pytest.raises(PermanentSendError) as caught:
        adapter(fake_graph, phone_number_id="42").test_connection()
    assert caught.value.code == "100/33" and "does not exist" in str(caught.value)


def test_expired_token_message_is_readable(fake_graph):
    fake_graph.access_tokens = {"the-good-token"}
    with pytest.raises(PermanentSendError) as caught:
        adapter(fake_graph).send(OutboundMessage(CUSTOMER, text="hi"))
    assert caught.value.code == "190/463"
    assert str(caught.value).startswith("The access token is invalid or has expired; reconnect the channel (190/463)")


def test_outside_window_message_is_readable(fake_graph):
    fake_graph.fail_next(400, graph_error(131047, "Re-engagement message", details="More than 24 hours have passed."))
    with pytest.raises(PermanentSendError) as caught:
        adapter(fake_graph).send(OutboundMessage(CUSTOMER, text="hi"))
    assert str(caught.value).startswith("Outside the 24-hour customer service window (131047): Re-engagement message")
    assert "More than 24 hours" in str(caught.value)


def test_fetch_media(fake_graph):
    image = bytes(range(256)) * 40
    fake_graph.add_media("1003383421387256", image, "image/jpeg")
    att = InboundAttachment(kind="image", content_type="image/jpeg", provider_media_id="1003383421387256")
    fetched = adapter(fake_graph).fetch_media(att)
    assert fetched.data == image and fetched.size == len(image) and fetched.content_type == "image/jpeg"
    info, download = fake_graph.requests
    assert info.path == "/1003383421387256"
    assert download.path == "/media-download/1003383421387256"
    assert download.headers["authorization"] == "Bearer EAAG-test-token"


def test_fetch_media_over_the_declared_limit_is_refused_without_download(fake_graph):
    fake_graph.add_media("77", b"x" * 2000, "video/mp4")
    with pytest.raises(meta.MediaTooLarge) as caught:
        adapter(fake_graph, max_media_bytes=1000).fetch_media(InboundAttachment(kind="video", provider_media_id="77"))
    assert caught.value.permanent and caught.value.code == "too_large"
    assert [r.path for r in fake_graph.requests] == ["/77"]


def test_fetch_media_that_lies_about_its_size_is_cut_off(fake_graph):
    fake_graph.add_media("78", b"x" * 2000, "video/mp4", declared_size=10)
    with pytest.raises(meta.MediaTooLarge):
        adapter(fake_graph, max_media_bytes=1000).fetch_media(InboundAttachment(kind="video", provider_media_id="78"))


def test_fetch_media_of_unknown_id(fake_graph):
    with pytest.raises(PermanentSendError) as caught:
        adapter(fake_graph).fetch_media(InboundAttachment(kind="image", provider_media_id="404404"))
    assert caught.value.code == "100/33"


def test_fetch_media_temporary_failure(fake_graph):
    fake_graph.add_media("79", b"abc", "image/png")
    fake_graph.fail_next(500, raw_body=b"oops", path_contains="/media-download/")
    with pytest.raises(TemporarySendError):
        adapter(fake_graph).fetch_media(InboundAttachment(kind="image", provider_media_id="79"))
    assert adapter(fake_graph).fetch_media(InboundAttachment(kind="image", provider_media_id="79")).data == b"abc"


def test_window_and_describe_error():
    assert WhatsAppAdapter.window_hours == 24
    assert WhatsAppAdapter.describe_error("131047") == "Outside the 24-hour customer service window"
    assert WhatsAppAdapter.describe_error("timeout").startswith("Meta did not answer")
    assert WhatsAppAdapter.describe_error("999999") == "Meta error 999999"


def test_fake_is_usable_from_another_process(fake_graph):
    """The integrator's browser test runs the app in a subprocess pointed at ``base_url``; the
    subprocess can also steer the fake over its control endpoints."""
    import subprocess
    import sys

    from tests.adapters.contract import REPO

    code = f"""
import json, urllib.request
from channels_adapters.base import OutboundMessage, TemporarySendError
from channels_adapters.whatsapp import WhatsAppAdapter
base = {fake_graph.base_url!r}
control = urllib.request.Request(base + "/__fake__/fail_next", method="POST",
    data=json.dumps({{"status": 503, "error": {{"code": 131016, "message": "down", "type": "x"}}}}).encode())
urllib.request.urlopen(control).read()
wa = WhatsAppAdapter({{"phone_number_id": "{PNID}", "access_token": "t", "graph_api_base": base}})
try:
    wa.send(OutboundMessage("{CUSTOMER}", text="one"))
except TemporarySendError as exc:
    print("temporary", exc.code)
print(wa.send(OutboundMessage("{CUSTOMER}", text="two")).provider_message_id)
print(len(json.load(urllib.request.urlopen(base + "/__fake__/requests"))["requests"]))
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, capture_output=True, text=True,
                         timeout=60).stdout.split()
    assert out == ["temporary", "131016", "wamid.1", "2"]
    assert [r.json["text"]["body"] for r in fake_graph.requests] == ["one", "two"]
