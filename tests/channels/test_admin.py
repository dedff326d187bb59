"""The admin pages a non-developer uses: they load, show setup details, and test a connection."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from inbox.models import Inbox, WebhookEvent
from tests.factories import make_inbox, receive

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    return client


def test_every_changelist_loads(admin_client):
    inbox = make_inbox("whatsapp")
    receive(inbox, "hello <b>there</b>", auto_reply=False)
    for model in ("inbox", "contact", "conversation", "message", "webhookevent", "team", "label", "agentprofile"):
        response = admin_client.get(f"/admin/inbox/{model}/")
        assert response.status_code == 200, model


def test_inbox_page_shows_webhook_url_and_verify_token(admin_client):
    inbox = make_inbox("whatsapp")
    page = admin_client.get(f"/admin/inbox/inbox/{inbox.pk}/change/").content.decode()
    assert f"/webhooks/whatsapp/{inbox.public_id}/" in page and inbox.webhook_verify_token in page


def test_test_connection_action(admin_client, fake_graph):
    good = make_inbox("whatsapp", name="Good", channel_config={"phone_number_id": "1234567890", "access_token": "t"})
    bad = make_inbox("whatsapp", name="Bad", channel_config={"phone_number_id": "nope", "access_token": "t"})
    response = admin_client.post("/admin/inbox/inbox/", {"action": "test_connection", "_selected_action": [good.pk, bad.pk]},
                                 follow=True)
    text = response.content.decode()
    assert "Good: OK — +1 555-010-0000 / Acme Support" in text and "Bad:" in text
    assert Inbox.objects.get(pk=bad.pk).last_error.startswith("Connection test failed")
    assert Inbox.objects.get(pk=good.pk).last_error == ""


def test_raw_webhook_event_is_readable(admin_client):
    event = WebhookEvent.objects.create(channel_kind="whatsapp", body=b'{"object": "x"}', status="rejected",
                                        error="400: wrong object")
    page = admin_client.get(f"/admin/inbox/webhookevent/{event.pk}/change/").content.decode()
    assert "wrong object" in page and "&quot;object&quot;" in page


def test_conversations_and_messages_change_only_through_the_write_path(admin_client, django_capture_on_commit_callbacks):
    from inbox.models import Conversation, Message

    inbox = make_inbox("webchat")
    conversation = receive(inbox, "hello", auto_reply=False).conversation
    # The change form is read-only: a POST does not save.
    admin_client.post(f"/admin/inbox/conversation/{conversation.pk}/change/", {"status": "resolved"})
    assert Conversation.objects.get(pk=conversation.pk).status != "resolved"
    # The action resolves through services (and leaves the system message services write).
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post("/admin/inbox/conversation/", {"action": "resolve_selected", "_selected_action": [conversation.pk]})
    assert Conversation.objects.get(pk=conversation.pk).status == "resolved"
    assert Message.objects.filter(conversation=conversation, sender_kind="system", metadata__event="status").exists()
    assert admin_client.get("/admin/inbox/message/add/").status_code == 403


def test_contact_edit_goes_through_services(admin_client):
    from inbox.models import Contact

    contact = receive(make_inbox("webchat"), "hi", auto_reply=False).conversation.contact
    response = admin_client.post(f"/admin/inbox/contact/{contact.pk}/change/", {
        "name": "Maria", "email": "MARIA@Example.com", "phone": "", "locale": "", "avatar_url": "",
        "attributes": "{}", "opted_out": "", "identities-TOTAL_FORMS": "1", "identities-INITIAL_FORMS": "1",
        "identities-MIN_NUM_FORMS": "0", "identities-MAX_NUM_FORMS": "1000",
        "identities-0-id": str(contact.identities.get().pk), "identities-0-contact": str(contact.pk)})
    assert response.status_code == 302, response.content.decode()[:2000]
    contact = Contact.objects.get(pk=contact.pk)
    assert (contact.name, contact.email) == ("Maria", "maria@example.com")  # normalized by the service


def test_instagram_inbox_setup_and_test_connection(admin_client, fake_graph, settings):
    settings.INSTAGRAM_GRAPH_API_BASE = fake_graph.base_url
    good = make_inbox("instagram", name="IG good", channel_config={
        "instagram_account_id": "17841400000000001", "access_token": "t", "app_secret": "s"})
    wrong = make_inbox("instagram", name="IG wrong", channel_config={
        "instagram_account_id": "42", "access_token": "t", "app_secret": "s"})
    page = admin_client.get(f"/admin/inbox/inbox/{good.pk}/change/").content.decode()
    assert f"/webhooks/instagram/{good.public_id}/" in page and good.webhook_verify_token in page
    assert "instagram_account_id" in page and "messaging_seen" in page and 'name="phone_region"' in page
    response = admin_client.post("/admin/inbox/inbox/", {"action": "test_connection",
                                                         "_selected_action": [good.pk, wrong.pk]}, follow=True)
    text = response.content.decode()
    assert "IG good: OK — @acme.store (17841400000000001)" in text
    assert "belongs to Instagram account 17841400000000001" in Inbox.objects.get(pk=wrong.pk).last_error
    assert [r.path for r in fake_graph.requests] == ["/me", "/me"]


def test_inbox_phone_region_must_be_a_country_code():
    from django.core.exceptions import ValidationError

    inbox = make_inbox("webchat", phone_region="ar")
    inbox.full_clean()
    assert inbox.phone_region == "AR" and inbox.default_phone_region == "AR"
    inbox.phone_region = "XX"
    with pytest.raises(ValidationError, match="not a country code"):
        inbox.full_clean()
