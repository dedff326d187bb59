"""The merge form's ``next`` only ever leads back into this site."""

from __future__ import annotations

import pytest

from .conftest import inbound, make_agent, make_inbox

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("next_url", [
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example/",  # browsers read a backslash as a slash: //evil.example/
    "/\t/evil.example/",  # tabs are stripped by browsers: //evil.example/
])
def test_merge_next_to_another_site_goes_home(client, inbox_a, next_url):
    mail = make_inbox("Mail", "email")
    agent = make_agent("fabio", inbox_a, mail)
    client.force_login(agent)
    chat = inbound(inbox_a, "hi", sender="v1", name="Maria", contact_email="maria@example.com").conversation
    email = inbound(mail, "hello by mail", sender="maria@example.com", contact_email="maria@example.com").conversation
    response = client.post(f"/contacts/{chat.contact_id}/merge/",
                           {"duplicate": email.contact_id, "next": next_url})
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_merge_next_inside_the_site_is_kept(client, inbox_a):
    mail = make_inbox("Mail", "email")
    agent = make_agent("fabio", inbox_a, mail)
    client.force_login(agent)
    chat = inbound(inbox_a, "hi", sender="v1", name="Maria", contact_email="maria@example.com").conversation
    email = inbound(mail, "hello by mail", sender="maria@example.com", contact_email="maria@example.com").conversation
    response = client.post(f"/contacts/{chat.contact_id}/merge/",
                           {"duplicate": email.contact_id, "next": f"/conversations/{chat.pk}/?view=mine"})
    assert response["Location"] == f"/conversations/{chat.pk}/?view=mine"
