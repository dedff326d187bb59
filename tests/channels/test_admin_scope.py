"""The admin for staff who are not superusers: only their inboxes' rows, changing actions need
the change permission, channel secrets are write-only. Real admin pages through the client."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission

from inbox.admin_forms import MASK
from inbox.models import Conversation, Inbox, Message
from tests.factories import make_agent, make_inbox, receive

pytestmark = pytest.mark.django_db

CONFIG = {"phone_number_id": "1234567890", "access_token": "EAAG-real-token", "app_secret": "app-s3cret",
          "display_phone": "+55 11 99999-0000"}


def staff(username, inboxes, *perms):
    user = make_agent(username, staff=True, inboxes=inboxes)
    for codename in perms:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


@pytest.fixture
def two_inboxes():
    mine = make_inbox("whatsapp", name="Mine", channel_config=dict(CONFIG))
    other = make_inbox("whatsapp", name="Other", channel_config=dict(CONFIG))
    return mine, other, receive(mine, "hello mine", auto_reply=False).conversation, \
        receive(other, "hello other", sender="c2", auto_reply=False).conversation


VIEW_ALL = ["view_inbox", "view_conversation", "view_message", "view_contact", "view_webhookevent"]


def test_querysets_are_scoped_to_the_staff_users_inboxes(client, two_inboxes):
    mine, other, my_conversation, other_conversation = two_inboxes
    client.force_login(staff("ana", [mine], *VIEW_ALL))
    for model, visible, hidden in [
        ("inbox", "Mine", "Other"),
        ("conversation", f"/conversation/{my_conversation.pk}/change/", f"/conversation/{other_conversation.pk}/change/"),
        ("message", "hello mine", "hello other"),
    ]:
        page = client.get(f"/admin/inbox/{model}/").content.decode()
        assert visible in page and hidden not in page, model
    assert client.get(f"/admin/inbox/conversation/{other_conversation.pk}/change/").status_code == 302  # not found
    assert client.get(f"/admin/inbox/inbox/{other.pk}/change/").status_code == 302
    contacts = client.get("/admin/inbox/contact/").content.decode()
    assert str(my_conversation.contact) in contacts and str(other_conversation.contact) not in contacts
    # the inbox filter offers only the user's inboxes
    assert f"inbox__id__exact={other.pk}" not in client.get("/admin/inbox/conversation/").content.decode()


def test_resolve_reopen_and_retry_need_the_change_permission(client, two_inboxes):
    mine, _, conversation, _ = two_inboxes
    viewer = staff("viewer", [mine], *VIEW_ALL)
    client.force_login(viewer)
    page = client.get("/admin/inbox/conversation/").content.decode()
    assert "resolve_selected" not in page
    client.post("/admin/inbox/conversation/", {"action": "resolve_selected", "_selected_action": [conversation.pk]})
    assert Conversation.objects.get(pk=conversation.pk).status != "resolved"

    editor = staff("editor", [mine], *VIEW_ALL, "change_conversation")
    client.force_login(editor)
    assert "resolve_selected" in client.get("/admin/inbox/conversation/").content.decode()
    client.post("/admin/inbox/conversation/", {"action": "resolve_selected", "_selected_action": [conversation.pk]})
    assert Conversation.objects.get(pk=conversation.pk).status == "resolved"

    message = Message.objects.filter(conversation=conversation).first()
    client.force_login(viewer)
    assert "retry_failed" not in client.get("/admin/inbox/message/").content.decode()
    client.force_login(staff("sender", [mine], *VIEW_ALL, "change_message"))
    assert "retry_failed" in client.get(f"/admin/inbox/message/?id={message.pk}").content.decode()


def test_an_editor_cannot_act_on_another_inboxs_conversation(client, two_inboxes):
    mine, _, _, other_conversation = two_inboxes
    client.force_login(staff("editor", [mine], *VIEW_ALL, "change_conversation"))
    client.post("/admin/inbox/conversation/", {"action": "resolve_selected", "_selected_action": [other_conversation.pk]})
    assert Conversation.objects.get(pk=other_conversation.pk).status != "resolved"


def test_channel_secrets_are_write_only(client, two_inboxes):
    mine, *_ = two_inboxes
    admin = make_agent("root", staff=True, is_superuser=True)
    client.force_login(admin)
    page = client.get(f"/admin/inbox/inbox/{mine.pk}/change/").content.decode()
    assert "EAAG-real-token" not in page and "app-s3cret" not in page and mine.widget_secret not in page
    assert MASK in page and "1234567890" in page  # what is not secret stays readable

    form = {
        "name": "Mine", "channel_kind": "whatsapp", "enabled": "on", "members": [], "auto_assign": "on",
        "reopen_window_hours": "72", "webhook_verify_token": mine.webhook_verify_token, "greeting": "",
        "timezone": "UTC", "business_hours": json.dumps(mine.business_hours), "out_of_hours_message": "",
        "allowed_origins": "", "widget_settings": "{}", "widget_secret": "",
        "channel_config": json.dumps({**CONFIG, "access_token": MASK, "app_secret": "new-app-secret"}),
    }
    response = client.post(f"/admin/inbox/inbox/{mine.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    saved = Inbox.objects.get(pk=mine.pk)
    assert saved.channel_config["access_token"] == "EAAG-real-token"  # the mask kept it
    assert saved.channel_config["app_secret"] == "new-app-secret"
    assert saved.widget_secret == mine.widget_secret  # left empty: unchanged
