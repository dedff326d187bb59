"""Instagram adapter: the shared contract, every fixture, and exact request bodies against the
fake Graph API (Instagram API with Instagram Login)."""

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
from channels_adapters.instagram import InstagramAdapter
from tests.adapters.contract import FIXTURES, AdapterContractTests, GraphSendContractTests
from tests.fakes.graph_api import fake_graph, graph_error  # noqa: F401  (fixture)

ACCOUNT = "17841400000000001"
IGSID = "1234567890123456"
T0 = dt.datetime(2024, 5, 31, 16, 8, 37, tzinfo=dt.timezone.utc)  # 1717171717000 ms
CDN = "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id="


def config(**overrides):
    base = {"instagram_account_id": ACCOUNT, "access_token": "IGAA-user-token", "app_secret": "ig-app-secret",
            "verify_token": "ig-verify", "human_agent_tag": True}
    return {**base, **overrides}


def one(parsed):
    (message,) = parsed.messages
    assert message.sender_address == IGSID and message.sent_at == T0
    return message


def check_text(parsed):
    m = one(parsed)
    assert m.text == "Oi! Vocês têm esse tênis no 38?" and not m.is_echo and not m.unsupported
    assert m.provider_message_id.startswith("aWdfZAG1") and m.metadata["type"] == "message"


def media_check(kind, asset):
    def check(parsed):
        m = one(parsed)
        (att,) = m.attachments
        assert (att.kind, att.url, att.data) == (kind, f"{CDN}{asset}&signature=AbCd", None)
        assert m.text == "" and not m.unsupported
    return check


def check_like_heart(parsed):
    m = one(parsed)
    assert m.text == "\u2764\ufe0f" and m.metadata["sticker"] == "like_heart" and not m.attachments


def check_story_reply(parsed):
    m = one(parsed)
    url = f"{CDN}17900000000000006&signature=Story"
    assert m.text == "Quanto custa esse vestido?" and m.reply_to_provider_id == ""
    assert m.metadata["story"] == {"type": "reply", "url": url, "id": "18000000000000001"}
    (att,) = m.attachments  # downloaded while the story lasts
    assert (att.kind, att.url) == ("image", url)


def check_story_mention(parsed):
    m = one(parsed)
    url = f"{CDN}17900000000000007&signature=Mention"
    assert m.text == "Mentioned you in their story"
    assert m.metadata["story"] == {"type": "mention", "url": url, "id": ""}
    assert [a.url for a in m.attachments] == [url]


def check_share_post(parsed):
    m = one(parsed)
    url = f"{CDN}18139494541428835&signature=Post"
    # The same post as "share" and "ig_post" (Meta's 2025 format) shows once.
    assert m.text == f"Shared a post: Coleção de verão {url}"
    assert m.metadata["shared"] == [{"kind": "post", "url": url, "title": "Coleção de verão",
                                     "media_id": "18139494541428835"}]
    assert not m.attachments and not m.unsupported


def check_share_reel(parsed):
    m = one(parsed)
    assert m.text == f"Shared a reel: Como usar o produto {CDN}17900000000000008&signature=Reel"
    assert m.metadata["shared"][0]["kind"] == "reel"


def check_reply_to(parsed):
    m = one(parsed)
    assert (m.reply_to_provider_id, m.text) == ("aWdfOUTBOUND0001", "Esse mesmo")


def check_quick_reply(parsed):
    m = one(parsed)
    assert (m.quick_reply_payload, m.text) == ("faq:shipping", "Prazo de entrega")


def check_echo(parsed):
    m = one(parsed)
    assert m.is_echo and m.text == "Respondido pelo app do Instagram"


def check_unsend(parsed):
    m = one(parsed)
    assert m.unsend_of_provider_id == "aWdfTEXTIMAGE0001" and m.provider_message_id == "unsend:aWdfTEXTIMAGE0001"
    assert m.text == "" and not m.attachments


def check_unsupported(parsed):
    m = one(parsed)
    assert m.unsupported and m.text.startswith("[unsupported message type")


def check_edit(parsed):
    m = one(parsed)
    assert (m.edit_of_provider_id, m.text) == ("aWdfORIGINAL0001", "Na verdade, no 39")
    assert m.provider_message_id == "edit:aWdfORIGINAL0001:1" and not m.is_echo


def check_reaction(parsed):
    m = one(parsed)
    assert (m.reaction_to_provider_id, m.text) == ("aWdfOUTBOUND0001", "\u2764\ufe0f")
    assert m.metadata["reaction_removed"] is False


def check_unreact(parsed):
    m = one(parsed)
    assert (m.reaction_to_provider_id, m.text, m.metadata["reaction_removed"]) == ("aWdfOUTBOUND0001", "", True)


def check_read(parsed):
    assert parsed.messages == []
    by_id, watermark = parsed.statuses
    seen_at = T0 + dt.timedelta(seconds=4)
    assert (by_id.status, by_id.provider_message_id, by_id.recipient_address) == ("read", "aWdfOUTBOUND0002", IGSID)
    assert (watermark.status, watermark.watermark, watermark.recipient_address) == ("read", seen_at, IGSID)


def check_postback(parsed):
    m = one(parsed)
    assert (m.provider_message_id, m.text, m.quick_reply_payload) == ("aWdfPOSTBACK0001", "Falar com atendente",
                                                                      "TALK_TO_AGENT")
    assert m.metadata["type"] == "postback"


def check_ice_breaker(parsed):
    m = one(parsed)
    assert (m.text, m.quick_reply_payload) == ("Qual o prazo de entrega?", "ICE_BREAKER_SHIPPING")


def check_batch(parsed):
    assert [m.provider_message_id for m in parsed.messages] == ["aWdfMIX0001", "aWdfMIX0002", "aWdfMIX0003"]
    first, template, standby = parsed.messages
    assert first.text == "primeira" and not first.unsupported
    assert template.unsupported and template.text == "[unsupported message type: template]"
    assert standby.text == "em standby" and standby.metadata["standby"] is True
    assert parsed.skipped == [
        "entry[0].messaging[2]: event optin is not handled",
        "entry[1].changes[0]: field 'comments' skipped: comments on posts are public; answer them on Instagram",
        "entry[3]: for account '17841499999999999', not this inbox's '17841400000000001'",
    ]


class TestInstagramContract(AdapterContractTests):
    adapter_class = InstagramAdapter
    fixture_dir = FIXTURES / "instagram"
    webhook_object = "instagram"

    def make_config(self, **overrides):
        return config(**overrides)

    def signed_headers(self, body, config):
        return {"X-Hub-Signature-256": meta.signature_for(body, config["app_secret"])}

    def other_account_overrides(self):
        return {"instagram_account_id": "5555"}

    def unknown_type_fixture(self):
        return "batch__mixed"

    def payload_with_timestamp(self, when):
        document = json.loads((self.fixture_dir / "message__text.json").read_text())
        document["entry"][0]["messaging"][0]["timestamp"] = int(when.timestamp() * 1000)
        return json.dumps(document).encode()

    def garbage_bodies(self):
        # The shared list uses {"object": "instagram"} as the example of a foreign object;
        # here it is ours, so swap it for another channel's.
        bodies = [b for b in super().garbage_bodies() if b != json.dumps({"object": "instagram", "entry": []}).encode()]
        return bodies + [json.dumps({"object": "page", "entry": []}).encode()]

    def expectations(self):
        return {
            "message__text": check_text,
            "message__image": media_check("image", "17900000000000001"),
            "message__video": media_check("video", "17900000000000002"),
            "message__audio": media_check("audio", "17900000000000003"),
            "message__file": media_check("file", "17900000000000004"),
            "message__sticker": media_check("sticker", "17900000000000005"),
            "message__like_heart": check_like_heart,
            "message__story_reply": check_story_reply,
            "message__story_mention": check_story_mention,
            "message__share_post": check_share_post,
            "message__share_reel": check_share_reel,
            "message__reply_to": check_reply_to,
            "message__quick_reply": check_quick_reply,
            "message__echo": check_echo,
            "message__unsend": check_unsend,
            "message__unsupported": check_unsupported,
            "message_edit": check_edit,
            "reaction": check_reaction,
            "reaction__unreact": check_unreact,
            "read": check_read,
            "postback": check_postback,
            "postback__ice_breaker": check_ice_breaker,
            "batch__mixed": check_batch,
        }

    def test_the_business_editing_its_own_message_is_an_echo(self):
        document = json.loads((self.fixture_dir / "message_edit.json").read_text())
        event = document["entry"][0]["messaging"][0]
        event["sender"], event["recipient"] = {"id": ACCOUNT}, {"id": IGSID}
        (m,) = self.make_adapter().parse(json.dumps(document).encode(), {}).messages
        assert m.is_echo and m.sender_address == IGSID and m.edit_of_provider_id == "aWdfORIGINAL0001"

    def test_the_business_own_reaction_is_skipped(self):
        document = json.loads((self.fixture_dir / "reaction.json").read_text())
        document["entry"][0]["messaging"][0]["sender"] = {"id": ACCOUNT}
        parsed = self.make_adapter().parse(json.dumps(document).encode(), {})
        assert parsed.messages == [] and parsed.skipped == ["entry[0].messaging[0]: the business's own reaction"]

    @pytest.mark.parametrize("field", ["mentions", "live_comments", "story_insights", "something_new"])
    def test_changes_that_are_not_direct_messages_are_skipped_with_a_reason(self, field):
        body = json.dumps({"object": "instagram", "entry": [{"id": ACCOUNT, "time": 1, "changes": [
            {"field": field, "value": {"media_id": "1"}}]}]}).encode()
        parsed = self.make_adapter().parse(body, {})
        (reason,) = parsed.skipped
        assert parsed.messages == [] and reason.startswith(f"entry[0].changes[0]: field '{field}' skipped: ")

    def test_account_ids_are_compared_as_text(self):
        document = json.loads((self.fixture_dir / "message__text.json").read_text())
        document["entry"][0]["id"] = int(ACCOUNT)
        assert len(self.make_adapter().parse(json.dumps(document).encode(), {}).messages) == 1


class TestInstagramSendContract(GraphSendContractTests):
    adapter_class = InstagramAdapter
    error_cases = [
        (400, 10, 2534022, True),  # outside the allowed window
        (400, 551, None, True),
        (400, 100, None, True),
        (400, 190, None, True),
        (400, 200, None, True),
        (400, 4, None, False),
        (400, 613, None, False),
        (500, 2, None, False),
        (500, 1, None, False),
    ]

    def make_config(self, **overrides):
        return config(**overrides)

    def sample_message(self):
        return OutboundMessage(recipient_address=IGSID, text="Seu pedido sai hoje.")


def adapter(graph, **overrides):
    return InstagramAdapter(config(graph_api_base=graph.base_url, **overrides), inbox_id=1)


def test_send_text_with_quick_replies_exact_body(fake_graph):
    replies = [QuickReply("Prazo de entrega", "faq:shipping"), QuickReply("Um título longo demais para caber", "long")]
    result = adapter(fake_graph).send(OutboundMessage(IGSID, text="Como posso ajudar?", quick_replies=replies))
    (req,) = fake_graph.requests
    assert (req.method, req.path, req.query) == ("POST", "/me/messages", {})
    assert req.headers["authorization"] == "Bearer IGAA-user-token"
    assert req.json == {
        "recipient": {"id": IGSID},
        "messaging_type": "RESPONSE",
        "message": {"text": "Como posso ajudar?", "quick_replies": [
            {"content_type": "text", "title": "Prazo de entrega", "payload": "faq:shipping"},
            {"content_type": "text", "title": "Um título longo dem…", "payload": "long"},
        ]},
    }
    assert result.provider_message_id == "m_1"


def test_human_agent_tag(fake_graph):
    adapter(fake_graph).send(OutboundMessage(IGSID, text="Retomando", messaging_tag="HUMAN_AGENT"))
    assert fake_graph.requests[0].json == {"recipient": {"id": IGSID}, "messaging_type": "MESSAGE_TAG",
                                           "tag": "HUMAN_AGENT", "message": {"text": "Retomando"}}


def test_human_agent_tag_refused_when_not_enabled(fake_graph):
    with pytest.raises(PermanentSendError, match="HUMAN_AGENT tag is not enabled"):
        adapter(fake_graph, human_agent_tag=False).send(OutboundMessage(IGSID, text="x", messaging_tag="HUMAN_AGENT"))
    assert fake_graph.requests == []


def test_text_limit_is_1000_bytes_not_characters(fake_graph):
    adapter(fake_graph).send(OutboundMessage(IGSID, text="x" * 1000))
    with pytest.raises(PermanentSendError) as caught:
        adapter(fake_graph).send(OutboundMessage(IGSID, text="ã" * 501))  # 1,002 bytes
    assert caught.value.code == "text_too_long" and "1,002 bytes" in str(caught.value)
    assert len(fake_graph.requests) == 1


def test_refusals_before_any_request(fake_graph):
    a = adapter(fake_graph)
    with pytest.raises(PermanentSendError, match="at most 13"):
        a.send(OutboundMessage(IGSID, text="Escolha", quick_replies=[QuickReply(str(i), str(i)) for i in range(14)]))
    with pytest.raises(PermanentSendError, match="no message templates"):
        a.send(OutboundMessage(IGSID, template=TemplateRef("x", "pt_BR")))
    with pytest.raises(PermanentSendError, match="need text"):
        a.send(OutboundMessage(IGSID, quick_replies=[QuickReply("a", "a")]))
    with pytest.raises(PermanentSendError, match="no public URL"):
        a.send(OutboundMessage(IGSID, attachments=[OutboundAttachment("a.png", "image/png", data=b"png")]))
    with pytest.raises(PermanentSendError, match="empty"):
        a.send(OutboundMessage(IGSID, text="  "))
    assert fake_graph.requests == []


def test_attachments_by_url_then_text(fake_graph):
    photo = OutboundAttachment("foto.jpg", "image/jpeg", url="https://shop.example.com/f/foto.jpg", data=b"jpg")
    manual = OutboundAttachment("manual.pdf", "application/pdf", url="https://shop.example.com/f/manual.pdf")
    result = adapter(fake_graph).send(OutboundMessage(IGSID, text="Aqui está", attachments=[photo, manual]))
    envelope = {"recipient": {"id": IGSID}, "messaging_type": "RESPONSE"}
    assert [r.json for r in fake_graph.requests] == [
        {**envelope, "message": {"attachment": {"type": "image", "payload": {"url": "https://shop.example.com/f/foto.jpg"}}}},
        {**envelope, "message": {"attachment": {"type": "file", "payload": {"url": "https://shop.example.com/f/manual.pdf"}}}},
        {**envelope, "message": {"text": "Aqui está"}},
    ]
    assert result.metadata["provider_message_ids"] == ["m_1", "m_2", "m_3"]


def test_a_failure_halfway_names_the_parts_that_went_out(fake_graph):
    photo = OutboundAttachment("foto.jpg", "image/jpeg", url="https://shop.example.com/f/foto.jpg")
    fake_graph.fail_next(500, graph_error(2, "Service temporarily unavailable"), after=1)
    with pytest.raises(meta.TemporarySendError) as caught:
        adapter(fake_graph).send(OutboundMessage(IGSID, text="Aqui está", attachments=[photo]))
    assert caught.value.sent_provider_ids == ["m_1"]


def test_sender_actions(fake_graph):
    a = adapter(fake_graph)
    for action in ("typing_on", "typing_off", "mark_seen"):
        a.send_action(IGSID, action)
    assert [r.json for r in fake_graph.requests] == [
        {"recipient": {"id": IGSID}, "sender_action": action} for action in ("typing_on", "typing_off", "mark_seen")]
    with pytest.raises(ValueError):
        a.send_action(IGSID, "dance")


def test_fetch_profile(fake_graph):
    fake_graph.add_instagram_profile(IGSID, "Júlia Prado", "ju.prado", "https://cdn.example.com/ju.jpg")
    assert adapter(fake_graph).fetch_profile(IGSID) == {
        "name": "Júlia Prado", "username": "ju.prado", "profile_pic": "https://cdn.example.com/ju.jpg"}
    (req,) = fake_graph.requests
    assert (req.path, req.query) == (f"/{IGSID}", {"fields": "name,username,profile_pic"})


def test_fetch_profile_without_a_name_uses_the_username(fake_graph):
    fake_graph.add_instagram_profile(IGSID, "", "ju.prado")
    assert adapter(fake_graph).fetch_profile(IGSID)["name"] == "@ju.prado"


def test_fetch_profile_not_allowed(fake_graph):
    with pytest.raises(PermanentSendError) as caught:
        adapter(fake_graph).fetch_profile("000")
    assert caught.value.code == "100/33"


def test_fetch_media_downloads_the_story_without_the_token(fake_graph):
    url = fake_graph.add_cdn_file("story.mp4", b"story-bytes", "video/mp4")
    fetched = adapter(fake_graph).fetch_media(InboundAttachment(kind="image", url=url))
    assert (fetched.data, fetched.size, fetched.content_type) == (b"story-bytes", 11, "video/mp4")
    (req,) = fake_graph.requests
    assert "authorization" not in req.headers


def test_fetch_media_of_an_expired_story_is_a_permanent_error(fake_graph):
    with pytest.raises(PermanentSendError) as caught:
        adapter(fake_graph).fetch_media(InboundAttachment(kind="image", url=fake_graph.origin + "/cdn/expired"))
    assert caught.value.code == "http_404"


def test_fetch_media_over_the_limit(fake_graph):
    url = fake_graph.add_cdn_file("big.mp4", b"v" * 5000, "video/mp4")
    with pytest.raises(meta.MediaTooLarge):
        adapter(fake_graph, max_media_bytes=4999).fetch_media(InboundAttachment(kind="video", url=url))


def test_test_connection(fake_graph):
    assert adapter(fake_graph).test_connection() == "@acme.store (17841400000000001)"
    (req,) = fake_graph.requests
    assert (req.path, req.query) == ("/me", {"fields": "user_id,username,name"})
    with pytest.raises(PermanentSendError, match="belongs to Instagram account 17841400000000001"):
        adapter(fake_graph, instagram_account_id="42").test_connection()


def test_windows_and_defaults():
    assert InstagramAdapter.window_hours == 24 and InstagramAdapter.human_agent_window_hours == 168
    assert InstagramAdapter({})._client().base_url == "https://graph.instagram.com/v21.0"
    assert InstagramAdapter.describe_error("551") == "This person isn't available right now"
