"""A customer's valid user-id hash does not let them claim someone else's e-mail address: an
address only joins other contacts when the shop signed it too, and a browser never joins a
person's contact through an address it merely typed."""

from __future__ import annotations

from widget import auth as widget_auth
from inbox.models import ContactIdentity

from .test_views import ORIGIN, post_json, say, session


def history(client, inbox, token) -> list[str]:
    response = client.get(f"/widget/api/messages?inbox={inbox.public_id}", HTTP_X_WIDGET_TOKEN=token,
                          HTTP_ORIGIN=ORIGIN)
    assert response.status_code == 200
    return [m["text"] for m in response.json()["messages"]]


def victim_chats(client, inbox):
    """Maria, signed in at the shop with her verified address, asks about her order."""
    data = session(client, inbox, user_id="42", user_hash=widget_auth.identity_hash(inbox=inbox, user_id="42"),
                   email="maria@example.com",
                   email_hash=widget_auth.email_hash(inbox=inbox, email="maria@example.com"))
    say(inbox, widget_auth.read_token(data["token"], inbox=inbox), "my card ends in 4242", "v1")
    return ContactIdentity.objects.get(channel_kind="webchat", address="user:42").contact


def test_another_customer_claiming_her_address_reads_nothing_of_hers(client, inbox):
    maria = victim_chats(client, inbox)
    # Mallory is a real shop customer (a valid hash for her own id) who edits the page's e-mail.
    mallory = session(client, inbox, user_id="666", user_hash=widget_auth.identity_hash(inbox=inbox, user_id="666"),
                      email="maria@example.com")
    assert mallory["identified"] is True
    assert history(client, inbox, mallory["token"]) == []
    mallory_contact = ContactIdentity.objects.get(channel_kind="webchat", address="user:666").contact
    assert mallory_contact.pk != maria.pk
    assert not maria.identities.filter(address="user:666").exists()


def test_a_typed_address_is_not_joined_when_its_owner_signs_in_later(client, inbox):
    # Mallory, anonymous, leaves Maria's address in the offline form first...
    mallory = session(client, inbox)
    response = post_json(client, f"/widget/api/contact?inbox={inbox.public_id}", {"email": "maria@example.com"},
                         HTTP_X_WIDGET_TOKEN=mallory["token"])
    assert response.status_code == 200
    # ...then Maria signs in with her verified address and chats.
    victim_chats(client, inbox)
    assert history(client, inbox, mallory["token"]) == []


def test_a_wrong_email_hash_joins_nothing(client, inbox):
    maria = victim_chats(client, inbox)
    mallory = session(client, inbox, user_id="666", user_hash=widget_auth.identity_hash(inbox=inbox, user_id="666"),
                      email="maria@example.com", email_hash=widget_auth.identity_hash(inbox=inbox, user_id="666"))
    assert history(client, inbox, mallory["token"]) == []
    assert not maria.identities.filter(address="user:666").exists()
