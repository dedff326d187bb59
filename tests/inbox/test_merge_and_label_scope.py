"""Who may merge whom, and which labels an agent sees (issue #11 items 16, 17, 21), through the
real pages and the API."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from inbox import services
from inbox.models import Contact, Conversation

from .conftest import inbound, make_agent, make_inbox

pytestmark = pytest.mark.django_db


def panel(client, conversation) -> str:
    return client.get(f"/conversations/{conversation.pk}/").content.decode()


def test_unverified_web_visitor_is_never_offered_or_merged_into_a_verified_customer(client):
    """A visitor types a verified WhatsApp customer's e-mail in the widget: merging would hand
    that browser the customer's whole history (docs/widget.md's identity promise)."""
    chat, whatsapp = make_inbox("Chat"), make_inbox("WhatsApp", "whatsapp")
    agent = make_agent("ana", chat, whatsapp)
    customer = inbound(whatsapp, "where is my order?", sender="5511988887777", name="Maria",
                       contact_email="maria@example.com").conversation
    visitor = inbound(chat, "hi", sender="visitor:abc123", name="Maria?",
                      contact_email="maria@example.com").conversation
    client.force_login(agent)

    for conversation in (visitor, customer):
        html = panel(client, conversation)
        assert "Possible duplicates" not in html, conversation

    response = client.post(f"/contacts/{customer.contact_id}/merge/", {"duplicate": visitor.contact_id},
                           HTTP_ACCEPT="application/json")
    assert response.status_code == 403 and "typed in the chat" in response.json()["error"]
    response = client.post(f"/contacts/{visitor.contact_id}/merge/", {"duplicate": customer.contact_id},
                           HTTP_ACCEPT="application/json")
    assert response.status_code == 403
    assert Contact.objects.count() == 2
    assert Conversation.objects.get(pk=visitor.pk).contact_id != Conversation.objects.get(pk=customer.pk).contact_id


def test_verified_widget_customer_is_offered_with_the_reason(client):
    chat, whatsapp = make_inbox("Chat"), make_inbox("WhatsApp", "whatsapp")
    agent = make_agent("ana", chat, whatsapp)
    inbound(whatsapp, "hello", sender="5511988887777", contact_phone="+55 11 98888-7777")
    verified = inbound(chat, "hi", sender="user:41", contact_phone="5511988887777").conversation
    client.force_login(agent)
    html = panel(client, verified)
    assert "Possible duplicates" in html and "Same phone number (+5511988887777)" in html


def test_agent_cannot_pull_a_contact_of_another_inbox_by_copying_its_email(client):
    """An agent of inbox X only sets their contact's e-mail to a contact of inbox Y: no
    suggestion, no merge; an admin may still merge."""
    x, y = make_inbox("Brand X", "email"), make_inbox("Brand Y", "email")
    agent = make_agent("ana", x)
    mine = inbound(x, "hello", sender="maria@x.example", contact_email="maria@x.example").conversation
    theirs = inbound(y, "secret order", sender="maria@y.example", contact_email="maria@y.example").conversation
    client.force_login(agent)
    patched = client.patch(f"/api/contacts/{mine.contact_id}/", {"email": "maria@y.example"},
                           content_type="application/json")
    assert patched.status_code == 200

    assert "Possible duplicates" not in panel(client, mine)
    response = client.post(f"/contacts/{mine.contact_id}/merge/", {"duplicate": theirs.contact_id},
                           HTTP_ACCEPT="application/json")
    assert response.status_code in (403, 404)
    assert Conversation.objects.get(pk=theirs.pk).contact_id == theirs.contact_id

    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin)
    assert "Same e-mail address (maria@y.example)" in panel(client, mine)
    response = client.post(f"/contacts/{mine.contact_id}/merge/", {"duplicate": theirs.contact_id})
    assert response.status_code == 302
    assert Conversation.objects.get(pk=theirs.pk).contact_id == mine.contact_id


def test_contact_with_a_conversation_elsewhere_is_not_merged_by_an_agent_of_one_inbox(client):
    x, y = make_inbox("Brand X", "email"), make_inbox("Brand Y", "email")
    agent = make_agent("ana", x)
    mine = inbound(x, "hello", sender="maria@x.example", contact_email="maria@x.example").conversation
    # The same person also wrote to Y from another address, now the duplicate has a foot in Y.
    other = inbound(x, "second address", sender="m2@x.example", contact_email="maria@x.example").conversation
    inbound(y, "to brand y", sender="m2@x.example")
    client.force_login(agent)
    assert "Possible duplicates" not in panel(client, mine)
    response = client.post(f"/contacts/{mine.contact_id}/merge/", {"duplicate": other.contact_id},
                           HTTP_ACCEPT="application/json")
    assert response.status_code == 403 and "administrator" in response.json()["error"]


def test_label_filter_lists_only_labels_of_the_agents_inboxes(client):
    x, y = make_inbox("Brand X"), make_inbox("Brand Y")
    agent = make_agent("ana", x)
    services.set_labels(conversation=inbound(x, "a", sender="v1").conversation, labels=["vip"])
    services.set_labels(conversation=inbound(y, "b", sender="v2").conversation, labels=["y-legal-dispute"])
    client.force_login(agent)
    html = client.get("/").content.decode()
    assert '<option value="vip"' in html
    assert "y-legal-dispute" not in html
    conversation = Conversation.objects.get(inbox=x)
    assert "y-legal-dispute" not in panel(client, conversation)
