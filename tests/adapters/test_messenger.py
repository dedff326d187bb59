"""Messenger adapter: the shared contract, every fixture, and exact request bodies against the
fake Graph API."""

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
)
from channels_adapters.messenger import MessengerAdapter
from tests.adapters.contract import FIXTURES, AdapterContractTests, GraphSendContractTests
from tests.fakes.graph_api import fake_graph, graph_error  # noqa: F401  (fixture)

PAGE = "111222333"
PSID = "7654321098765432"
T0 = dt.datetime(2024, 5, 31, 16, 8, 37, tzinfo=dt.timezone.utc)  # 1717171717000 ms


def ms(value):
    return dt.datetime.fromtimestamp(value / 1000, dt.timezone.utc)


def config(**overrides):
    base = {"page_id": PAGE, "page_access_token": "EAAP-page-token", "app_secret": "fb-app-secret",
            "verify_token": "fb-verify", "human_agent_tag": True}
    return {**base, **overrides}


def one(parsed):
    (message,) = parsed.messages
    assert message.sender_address == PSID and message.sent_at == T0
    return message


def check_text(parsed):
    m = one(parsed)
    assert m.text == "Hi! Where is my parcel?" and not m.is_echo and not m.unsupported
    assert m.provider_message_id.startswith("m_AG5Hz2Uq7")


def check_image(parsed):
    m = one(parsed)
    (att,) = m.attachments
    assert att.kind == "image" and att.url.startswith("https://scontent.xx.fbcdn.net/") and att.data is None
    assert m.text == ""


def check_quick_reply(parsed):
    m = one(parsed)
    assert (m.quick_reply_payload, m.text) == ("faq:shipping", "Shipping times")


def check_reply_to(parsed):
    m = one(parsed)
    assert (m.reply_to_provider_id, m.text) == ("m_OUTBOUND0001", "That's the one")


def check_echo(parsed):
    m = one(parsed)
    assert m.is_echo and m.text == "Hello from the Page inbox"
    assert m.metadata["app_id"] == "1517776481860111"
    assert m.metadata["echo_metadata"] == "sent-from-page-inbox"


def check_delivery(parsed):
    assert parsed.messages == []
    per_mid = [s for s in parsed.statuses if s.provider_message_id]
    (watermark,) = [s for s in parsed.statuses if s.watermark]
    assert [s.provider_message_id for s in per_mid] == ["m_OUTBOUND0002", "m_OUTBOUND0003"]
    assert all(s.status == "delivered" and s.recipient_address == PSID for s in parsed.statuses)
    assert watermark.watermark == ms(1717171718000) and watermark.timestamp == ms(1717171719000)


def check_read(parsed):
    assert parsed.messages == []
    (s,) = parsed.statuses
    assert (s.status, s.recipient_address, s.provider_message_id) == ("read", PSID, "")
    assert s.watermark == ms(1717171721000)


def check_postback(parsed):
    m = one(parsed)
    assert (m.provider_message_id, m.text, m.quick_reply_payload) == ("m_POSTBACK0001", "Talk to an agent", "TALK_TO_AGENT")
    assert m.metadata["type"] == "postback"


def check_batch(parsed):
    ids = [m.provider_message_id for m in parsed.messages]
    assert ids == ["m_MIX0001", "m_MIX0002", "m_MIX0003", "m_MIX0004"]
    first, location, fallback, second_entry = parsed.messages
    assert first.text == "first" and first.sent_at == ms(1717171701000)
    assert location.location == {"latitude": 52.52, "longitude": 13.405, "name": "Pinned Location", "address": ""}
    assert location.text == "Location: Pinned Location (52.52, 13.405)"
    assert location.metadata["unsupported_attachments"] == ["template"] and not location.unsupported
    assert fallback.text == "An article https://example.com/article"
    assert second_entry.sender_address == "1111222233334444"
    (read,) = parsed.statuses
    assert read.status == "read" and read.watermark == ms(1717171700000)
    assert parsed.skipped == [
        "entry[0].messaging[3]: event optin is not handled",
        "entry[2]: no 'messaging' list (has standby)",
        "entry[3]: for page '999888777', not this inbox's '111222333'",
    ]


def check_edit(parsed):
    (m,) = parsed.messages
    assert m.edit_of_provider_id == "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplwlqLP_5cgXIbu7I3rBN0P"
    assert m.text == "Hi! Where is my parcel #55?" and m.provider_message_id == "edit:m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplwlqLP_5cgXIbu7I3rBN0P:1"


class TestMessengerContract(AdapterContractTests):
    adapter_class = MessengerAdapter
    fixture_dir = FIXTURES / "messenger"
    webhook_object = "page"

    def make_config(self, **overrides):
        return config(**overrides)

    def signed_headers(self, body, config):
        return {"X-Hub-Signature-256": meta.signature_for(body, config["app_secret"])}

    def other_account_overrides(self):
        return {"page_id": "5555"}

    def unknown_type_fixture(self):
        return "batch__mixed"

    def payload_with_timestamp(self, when):
        document = json.loads((self.fixture_dir / "message__text.json").read_text())
        document["entry"][0]["messaging"][0]["timestamp"] = int(when.timestamp() * 1000)
        return json.dumps(document).encode()

    def expectations(self):
        return {
            "message__text": check_text,
            "message__image": check_image,
            "message__quick_reply": check_quick_reply,
            "message__reply_to": check_reply_to,
            "message__echo": check_echo,
            "delivery": check_delivery,
            "read": check_read,
            "message_edit": check_edit,
            "postback": check_postback,
            "batch__mixed": check_batch,
        }

    def test_unknown_attachment_alone_is_an_unsupported_placeholder(self):
        document = json.loads((self.fixture_dir / "message__image.json").read_text())
        document["entry"][0]["messaging"][0]["message"]["attachments"] = [{"type": "ig_reel", "payload": {"reel_video_id": "1"}}]
        (m,) = self.make_adapter().parse(json.dumps(document).encode(), {}).messages
        assert m.unsupported and m.text == "[unsupported message type: ig_reel]"

    def test_reaction_event(self):
        document = json.loads((self.fixture_dir / "message__text.json").read_text())
        event = document["entry"][0]["messaging"][0]
        del event["message"]
        event["reaction"] = {"mid": "m_OUTBOUND0009", "action": "react", "emoji": "\u2764", "reaction": "love"}
        (m,) = self.make_adapter().parse(json.dumps(document).encode(), {}).messages
        assert (m.reaction_to_provider_id, m.text, m.sender_address) == ("m_OUTBOUND0009", "\u2764", PSID)
        event["reaction"]["action"] = "unreact"
        (m,) = self.make_adapter().parse(json.dumps(document).encode(), {}).messages
        assert m.text == "" and m.metadata["reaction_removed"] is True

    def test_page_ids_are_compared_as_text(self):
        document = json.loads((self.fixture_dir / "message__text.json").read_text())
        document["entry"][0]["id"] = int(PAGE)
        assert len(self.make_adapter().parse(json.dumps(document).encode(), {}).messages) == 1


class TestMessengerSendContract(GraphSendContractTests):
    adapter_class = MessengerAdapter
    error_cases = [
        (400, 10, 2018278, True),  # outside the window
        (400, 551, None, True),  # person unavailable
        (400, 100, None, True),
        (400, 190, None, True),
        (400, 200, None, True),
        (400, 4, None, False),
        (400, 613, None, False),
        (400, 80007, None, False),
        (500, 2, None, False),
        (500, 1, None, False),
    ]

    def make_config(self, **overrides):
        return config(**overrides)

    def sample_message(self):
        return OutboundMessage(recipient_address=PSID, text="Your order ships today.")


def adapter(graph, **overrides):
    return MessengerAdapter(config(graph_api_base=graph.base_url, **overrides), inbox_id=1)


def test_send_text_with_quick_replies_exact_body(fake_graph):
    replies = [QuickReply("Shipping times", "faq:shipping"), QuickReply("A much longer title than allowed", "long")]
    result = adapter(fake_graph).send(OutboundMessage(PSID, text="How can I help?", quick_replies=replies))
    (req,) = fake_graph.requests
    assert (req.method, req.path, req.query) == ("POST", "/me/messages", {})
    assert req.headers["authorization"] == "Bearer EAAP-page-token"
    assert req.json == {
        "recipient": {"id": PSID},
        "messaging_type": "RESPONSE",
        "message": {"text": "How can I help?", "quick_replies": [
            {"content_type": "text", "title": "Shipping times", "payload": "faq:shipping"},
            {"content_type": "text", "title": "A much longer title…", "payload": "long"},
        ]},
    }
    assert result.provider_message_id == "m_1"


def test_human_agent_tag(fake_graph):
    adapter(fake_graph).send(OutboundMessage(PSID, text="Following up", messaging_tag="HUMAN_AGENT"))
    assert fake_graph.requests[0].json == {"recipient": {"id": PSID}, "messaging_type": "MESSAGE_TAG",
                                           "tag": "HUMAN_AGENT", "message": {"text": "Following up"}}


def test_human_agent_tag_refused_when_not_enabled(fake_graph):
    with pytest.raises(PermanentSendError, match="HUMAN_AGENT tag is not enabled"):
        adapter(fake_graph, human_agent_tag=False).send(OutboundMessage(PSID, text="x", messaging_tag="HUMAN_AGENT"))
    assert fake_graph.requests == []


def test_text_over_2000_characters_is_refused_not_split(fake_graph):
    adapter(fake_graph).send(OutboundMessage(PSID, text="x" * 2000))
    with pytest.raises(PermanentSendError) as caught:
        adapter(fake_graph).send(OutboundMessage(PSID, text="x" * 2001))
    assert caught.value.code == "text_too_long" and "2,001" in str(caught.value)
    assert len(fake_graph.requests) == 1


def test_more_than_13_quick_replies_is_refused(fake_graph):
    with pytest.raises(PermanentSendError, match="at most 13"):
        adapter(fake_graph).send(OutboundMessage(PSID, text="Pick", quick_replies=[QuickReply(str(i), str(i)) for i in range(14)]))


def test_templates_are_refused(fake_graph):
    with pytest.raises(PermanentSendError, match="no message templates"):
        adapter(fake_graph).send(OutboundMessage(PSID, template=TemplateRef("x", "en")))


def test_attachment_by_url_then_text(fake_graph):
    attachment = OutboundAttachment("manual.pdf", "application/pdf", url="https://cdn.example.com/manual.pdf")
    photo = OutboundAttachment("photo.jpg", "image/jpeg", url="https://cdn.example.com/photo.jpg")
    result = adapter(fake_graph).send(OutboundMessage(PSID, text="Here you go", attachments=[attachment, photo]))
    bodies = [r.json for r in fake_graph.requests]
    envelope = {"recipient": {"id": PSID}, "messaging_type": "RESPONSE"}
    assert bodies == [
        {**envelope, "message": {"attachment": {"type": "file", "payload": {"url": "https://cdn.example.com/manual.pdf", "is_reusable": True}}}},
        {**envelope, "message": {"attachment": {"type": "image", "payload": {"url": "https://cdn.example.com/photo.jpg", "is_reusable": True}}}},
        {**envelope, "message": {"text": "Here you go"}},
    ]
    assert result.provider_message_id == "m_1"
    assert result.metadata["provider_message_ids"] == ["m_1", "m_2", "m_3"]


def test_attachment_upload_as_filedata(fake_graph):
    data = b"\x89PNG fake image bytes"
    adapter(fake_graph).send(OutboundMessage(PSID, attachments=[OutboundAttachment("shot.png", "image/png", data=data)]))
    (req,) = fake_graph.requests
    assert json.loads(req.form["recipient"]) == {"id": PSID}
    assert json.loads(req.form["message"]) == {"attachment": {"type": "image", "payload": {}}}
    assert req.form["messaging_type"] == "RESPONSE"
    assert req.files["filedata"] == ("shot.png", data, "image/png")


def test_send_action(fake_graph):
    a = adapter(fake_graph)
    for action in ("typing_on", "typing_off", "mark_seen"):
        a.send_action(PSID, action)
    assert [r.json for r in fake_graph.requests] == [
        {"recipient": {"id": PSID}, "sender_action": action} for action in ("typing_on", "typing_off", "mark_seen")]
    with pytest.raises(ValueError):
        a.send_action(PSID, "dance")


def test_fetch_profile(fake_graph):
    fake_graph.add_profile(PSID, "Peter", "Chang", "https://cdn.example.com/pic.jpg")
    assert adapter(fake_graph).fetch_profile(PSID) == {
        "name": "Peter Chang", "first_name": "Peter", "last_name": "Chang", "profile_pic": "https://cdn.example.com/pic.jpg"}
    (req,) = fake_graph.requests
    assert (req.path, req.query) == (f"/{PSID}", {"fields": "first_name,last_name,profile_pic"})


def test_fetch_profile_not_allowed(fake_graph):
    with pytest.raises(PermanentSendError) as caught:
        adapter(fake_graph).fetch_profile("000")
    assert caught.value.code == "100/33"


def test_fetch_media_downloads_the_url_without_the_token(fake_graph):
    url = fake_graph.add_cdn_file("photo.jpg", b"image-bytes", "image/jpeg")
    fetched = adapter(fake_graph).fetch_media(InboundAttachment(kind="image", url=url))
    assert (fetched.data, fetched.size, fetched.content_type) == (b"image-bytes", 11, "image/jpeg")
    (req,) = fake_graph.requests
    assert "authorization" not in req.headers  # the page token must not leak to a CDN


def test_fetch_media_over_the_limit(fake_graph):
    url = fake_graph.add_cdn_file("big.mp4", b"v" * 5000, "video/mp4")
    with pytest.raises(meta.MediaTooLarge):
        adapter(fake_graph, max_media_bytes=4999).fetch_media(InboundAttachment(kind="video", url=url))


def test_fetch_media_missing(fake_graph):
    with pytest.raises(PermanentSendError) as caught:
        adapter(fake_graph).fetch_media(InboundAttachment(kind="video", url=fake_graph.origin + "/cdn/gone"))
    assert caught.value.code == "http_404"


def test_test_connection(fake_graph):
    assert adapter(fake_graph).test_connection() == "Acme Page (111222333)"
    with pytest.raises(PermanentSendError, match="belongs to page 111222333"):
        adapter(fake_graph, page_id="42").test_connection()


def test_windows():
    assert MessengerAdapter.window_hours == 24
    assert MessengerAdapter.human_agent_window_hours == 168
    assert MessengerAdapter.describe_error("10/2018278") == "Outside the 24-hour messaging window (Messenger)"
    assert MessengerAdapter.describe_error("551") == "This person isn't available right now"
