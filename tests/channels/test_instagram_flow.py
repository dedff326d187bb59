"""Instagram Direct end to end through the real URL (/webhooks/instagram/<public_id>/), the
write path, the task pipeline and a real HTTP server standing in for Meta's Graph API."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from inbox import services, tasks
from inbox.models import Attachment, Contact, Conversation, Message, WebhookEvent
from tests.factories import make_agent, make_inbox

from .conftest import FIXTURES, load_fixture

pytestmark = pytest.mark.django_db

ACCOUNT = "17841400000000001"
IGSID = "1234567890123456"


@pytest.fixture
def inbox(fake_graph, monkeypatch):
    monkeypatch.setattr("bot.engine.bot_enabled_for", lambda inbox: False)
    return make_inbox("instagram", channel_config={
        "instagram_account_id": ACCOUNT, "access_token": "ig-token", "app_secret": "app-secret"})


def fixture(name: str) -> dict:
    return json.loads(load_fixture(f"instagram/{name}.json"))


def now_ms(offset_seconds: float = 0) -> int:
    return int((timezone.now() + dt.timedelta(seconds=offset_seconds)).timestamp() * 1000)


def test_verification_handshake(client, inbox):
    url = f"/webhooks/instagram/{inbox.public_id}/"
    ok = client.get(url, {"hub.mode": "subscribe", "hub.verify_token": inbox.webhook_verify_token, "hub.challenge": "987"})
    assert ok.status_code == 200 and ok.content == b"987"
    assert client.get(url, {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"}).status_code == 403
    # Another channel's URL with this inbox's id finds no inbox.
    assert client.get(f"/webhooks/messenger/{inbox.public_id}/", {"hub.mode": "subscribe",
                      "hub.verify_token": inbox.webhook_verify_token, "hub.challenge": "1"}).status_code == 403


@pytest.mark.parametrize("name", sorted(p.stem for p in (FIXTURES / "instagram").glob("*.json")))
def test_every_fixture_is_accepted_and_processed(post_webhook, inbox, name):
    response = post_webhook(inbox, load_fixture(f"instagram/{name}.json"))
    assert response.status_code == 200, response.content
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.PROCESSED, event.error


def test_text_message_lands_in_the_inbox(post_webhook, inbox):
    post_webhook(inbox, load_fixture("instagram/message__text.json"))
    message = Message.objects.get()
    assert (message.direction, message.text) == ("in", "Oi! Vocês têm esse tênis no 38?")
    identity = message.conversation.contact.identities.get()
    assert (identity.channel_kind, identity.address) == ("instagram", IGSID)


def test_redelivered_webhook_creates_no_duplicates(post_webhook, inbox):
    body = load_fixture("instagram/batch__mixed.json")
    post_webhook(inbox, body)
    assert Message.objects.count() == 3
    post_webhook(inbox, body)
    assert Message.objects.count() == 3 and Conversation.objects.count() == 1
    assert WebhookEvent.objects.count() == 2
    summary = WebhookEvent.objects.order_by("pk").first().summary
    assert "comments on posts are public" in summary  # the skipped comment says why


@pytest.mark.parametrize("signature,status", [(None, 401), ("sha256=" + "0" * 64, 403), ("sha1=abc", 403)])
def test_bad_signatures_are_rejected_and_nothing_is_processed(post_webhook, inbox, signature, status):
    body = load_fixture("instagram/message__text.json")
    response = post_webhook(inbox, body, secret=None, signature=signature)
    assert response.status_code == status
    assert Message.objects.count() == 0
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.REJECTED and event.error.startswith(str(status))


def test_signed_with_another_apps_secret_is_403(post_webhook, inbox):
    assert post_webhook(inbox, load_fixture("instagram/message__text.json"), secret="messenger-secret").status_code == 403


@pytest.mark.parametrize("body", [b"not json", b'{"object": "instagram", "entry": [', b'{"object": "page", "entry": []}'])
def test_malformed_payloads_get_400_and_the_raw_event_is_kept(post_webhook, inbox, body):
    response = post_webhook(inbox, body)
    assert response.status_code == 400
    event = WebhookEvent.objects.get()
    assert bytes(event.body) == body and event.status == WebhookEvent.Status.REJECTED
    assert Message.objects.count() == 0


def test_story_mention_media_is_downloaded_while_it_lasts(post_webhook, inbox, fake_graph, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    url = fake_graph.add_cdn_file("story-1", b"story-jpeg", "image/jpeg")
    document = fixture("message__story_mention")
    document["entry"][0]["messaging"][0]["message"]["attachments"][0]["payload"]["url"] = url
    post_webhook(inbox, document)
    message = Message.objects.get()
    assert message.text == "Mentioned you in their story"
    assert message.metadata["story"] == {"type": "mention", "url": url, "id": ""}
    attachment = Attachment.objects.get()
    assert attachment.status == Attachment.Status.STORED, attachment.error
    assert attachment.file.read() == b"story-jpeg" and attachment.content_type == "image/jpeg"
    (download,) = [r for r in fake_graph.requests if r.path.startswith("/cdn/")]
    assert "authorization" not in download.headers  # the token never goes to the CDN


def test_expired_story_keeps_the_message_and_says_why(post_webhook, inbox, fake_graph):
    document = fixture("message__story_reply")
    document["entry"][0]["messaging"][0]["message"]["reply_to"]["story"]["url"] = fake_graph.origin + "/cdn/gone"
    post_webhook(inbox, document)
    assert Message.objects.get().text == "Quanto custa esse vestido?"
    attachment = Attachment.objects.get()
    assert attachment.status == Attachment.Status.FAILED and "404" in attachment.error


def test_reply_goes_out_through_the_send_api_and_reads_move_the_ticks(post_webhook, inbox, fake_graph,
                                                                       django_capture_on_commit_callbacks):
    post_webhook(inbox, load_fixture("instagram/message__text.json"))
    conversation = Conversation.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.send_reply(conversation=conversation, author=make_agent(inboxes=[inbox]), text="Temos sim!")
    reply.refresh_from_db()
    assert reply.delivery_state == "sent" and reply.provider_message_id.startswith("m_")
    (send,) = [r for r in fake_graph.requests if r.path == "/me/messages" and "message" in (r.json or {})]
    assert send.json == {"recipient": {"id": IGSID}, "messaging_type": "RESPONSE", "message": {"text": "Temos sim!"}}
    assert send.headers["authorization"] == "Bearer ig-token"

    read = fixture("read")
    event = read["entry"][0]["messaging"][0]
    event["read"]["mid"], event["timestamp"] = reply.provider_message_id, now_ms(5)
    post_webhook(inbox, read)
    reply.refresh_from_db()
    assert reply.delivery_state == "read"


def test_echo_of_our_own_send_creates_no_duplicate(post_webhook, inbox, django_capture_on_commit_callbacks):
    post_webhook(inbox, load_fixture("instagram/message__text.json"))
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.send_reply(conversation=Conversation.objects.get(), text="Olá")
    reply.refresh_from_db()
    echo = fixture("message__echo")
    echo["entry"][0]["messaging"][0]["message"]["mid"] = reply.provider_message_id
    post_webhook(inbox, echo)
    assert Message.objects.filter(direction="out").count() == 1


def test_message_sent_from_the_instagram_app_shows_up(post_webhook, inbox):
    post_webhook(inbox, load_fixture("instagram/message__text.json"))
    post_webhook(inbox, load_fixture("instagram/message__echo.json"))
    echo = Message.objects.get(direction="out")
    assert echo.text == "Respondido pelo app do Instagram" and echo.metadata.get("sent_from_provider_app")
    assert Contact.objects.count() == 1


def test_reaction_lands_on_our_message(post_webhook, inbox, django_capture_on_commit_callbacks):
    post_webhook(inbox, load_fixture("instagram/message__text.json"))
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.send_reply(conversation=Conversation.objects.get(), text="Temos!")
    reply.refresh_from_db()
    for name in ("reaction", "reaction__unreact"):
        document = fixture(name)
        document["entry"][0]["messaging"][0]["reaction"]["mid"] = reply.provider_message_id
        post_webhook(inbox, document)
        reply.refresh_from_db()
        expected = {IGSID: "\u2764\ufe0f"} if name == "reaction" else {}
        assert reply.metadata.get("reactions") == expected


def test_crash_between_receiving_and_processing_loses_nothing(client, inbox):
    from tests.channels.conftest import sign

    body = load_fixture("instagram/message__text.json")
    response = client.post(f"/webhooks/instagram/{inbox.public_id}/", data=body, content_type="application/json",
                           HTTP_X_HUB_SIGNATURE_256=sign(body, "app-secret"))
    assert response.status_code == 200 and Message.objects.count() == 0
    assert tasks.sweep(now=timezone.now() + dt.timedelta(minutes=2))["reprocessed_events"] == 1
    assert Message.objects.count() == 1



def test_a_video_story_becomes_a_video_attachment(post_webhook, inbox, fake_graph, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    url = fake_graph.add_cdn_file("story-2", b"mp4-bytes", "video/mp4")
    document = fixture("message__story_reply")
    document["entry"][0]["messaging"][0]["message"]["reply_to"]["story"]["url"] = url
    post_webhook(inbox, document)
    attachment = Attachment.objects.get()
    assert (attachment.kind, attachment.content_type, attachment.status) == ("video", "video/mp4", "stored")


def test_name_and_username_come_from_the_profile_api_once(post_webhook, inbox, fake_graph):
    fake_graph.add_instagram_profile(IGSID, "Júlia Prado", "ju.prado", "https://cdn.example.com/ju.jpg")
    post_webhook(inbox, load_fixture("instagram/message__text.json"))
    contact = Contact.objects.get()
    assert contact.name == "Júlia Prado" and contact.attributes["instagram_username"] == "ju.prado"
    assert contact.avatar_url == "https://cdn.example.com/ju.jpg"
    post_webhook(inbox, load_fixture("instagram/message__quick_reply.json"))
    profile_calls = [r for r in fake_graph.requests if r.path == f"/{IGSID}"]
    assert len(profile_calls) == 1 and profile_calls[0].query == {"fields": "name,username,profile_pic"}


def test_profile_lookup_failure_keeps_the_message(post_webhook, inbox, fake_graph):
    fake_graph.fail_next(500, path_contains=IGSID)
    post_webhook(inbox, load_fixture("instagram/message__text.json"))
    assert Message.objects.count() == 1 and Contact.objects.get().name == ""


def test_agent_typing_and_reading_send_sender_actions(post_webhook, inbox, fake_graph,
                                                      django_capture_on_commit_callbacks):
    post_webhook(inbox, load_fixture("instagram/message__text.json"))
    conversation = Conversation.objects.get()
    agent = make_agent(inboxes=[inbox])
    services.typing(conversation=conversation, who="agent", is_typing=True, name="Ana")
    with django_capture_on_commit_callbacks(execute=True):
        services.mark_read(conversation=conversation, user=agent)
    actions = [r.json for r in fake_graph.requests if r.json and "sender_action" in r.json]
    assert actions == [{"recipient": {"id": IGSID}, "sender_action": "typing_on"},
                       {"recipient": {"id": IGSID}, "sender_action": "mark_seen"}]


def test_past_24_hours_refused_unless_human_agent_tag_then_7_days(post_webhook, inbox, fake_graph,
                                                                  django_capture_on_commit_callbacks):
    post_webhook(inbox, load_fixture("instagram/message__text.json"))
    conversation = Conversation.objects.get()
    Conversation.objects.filter(pk=conversation.pk).update(last_incoming_at=timezone.now() - dt.timedelta(days=2))
    conversation.refresh_from_db()
    with pytest.raises(services.WindowClosed):
        services.send_reply(conversation=conversation, text="late answer")
    inbox.channel_config["human_agent_tag"] = True
    inbox.save()
    conversation.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.send_reply(conversation=conversation, author=make_agent(inboxes=[inbox]), text="late answer")
    reply.refresh_from_db()
    assert reply.delivery_state == "sent", reply.delivery_error
    body = [r for r in fake_graph.requests if r.json and "message" in r.json][-1].json
    assert (body["messaging_type"], body["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")
    Conversation.objects.filter(pk=conversation.pk).update(last_incoming_at=timezone.now() - dt.timedelta(days=8))
    conversation.refresh_from_db()
    with pytest.raises(services.WindowClosed):
        services.send_reply(conversation=conversation, text="too late")


def test_within_24_hours_no_tag_is_used(post_webhook, inbox, fake_graph, django_capture_on_commit_callbacks):
    inbox.channel_config["human_agent_tag"] = True
    inbox.save()
    post_webhook(inbox, load_fixture("instagram/message__text.json"))
    with django_capture_on_commit_callbacks(execute=True):
        services.send_reply(conversation=Conversation.objects.get(), text="já já")
    body = [r for r in fake_graph.requests if r.json and "message" in r.json][-1].json
    assert body["messaging_type"] == "RESPONSE" and "tag" not in body


def test_agent_attachment_goes_out_as_a_signed_link_instagram_can_fetch(post_webhook, inbox, fake_graph, client,
                                                                        settings, tmp_path,
                                                                        django_capture_on_commit_callbacks):
    settings.MEDIA_ROOT = tmp_path
    settings.PUBLIC_BASE_URL = "https://support.example.com"
    post_webhook(inbox, load_fixture("instagram/message__text.json"))
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.send_reply(conversation=Conversation.objects.get(), author=make_agent(inboxes=[inbox]),
                                    text="Olha a foto", attachments=[("tenis.png", "image/png", b"\x89PNG-bytes")])
    reply.refresh_from_db()
    assert reply.delivery_state == "sent", reply.delivery_error
    image, text = [r.json for r in fake_graph.requests if r.path == "/me/messages" and "message" in (r.json or {})]
    url = image["message"]["attachment"]["payload"]["url"]
    assert image["message"]["attachment"]["type"] == "image" and url.startswith("https://support.example.com/")
    assert text["message"] == {"text": "Olha a foto"}
    client.logout()
    fetched = client.get(url.removeprefix("https://support.example.com"))  # as Instagram would, without a login
    assert fetched.status_code == 200 and b"".join(fetched.streaming_content) == b"\x89PNG-bytes"
