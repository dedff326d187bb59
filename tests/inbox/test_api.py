"""The REST API: filters, retrieve, changes through services, messages, permissions, tokens."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from channels_adapters import locmem
from inbox.models import Conversation, Message

from .conftest import inbound, make_agent

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(agent):
    client = APIClient()
    client.force_authenticate(agent)
    return client


def test_requires_authentication():
    assert APIClient().get("/api/conversations/").status_code in (401, 403)


def test_token_auth(agent, inbox_a):
    inbound(inbox_a, "hello")
    token = Token.objects.create(user=agent)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = client.get("/api/conversations/")
    assert response.status_code == 200 and response.json()["count"] == 1
    client.credentials(HTTP_AUTHORIZATION="Token wrong")
    # 403 rather than 401: session authentication comes first and sends no challenge header.
    assert client.get("/api/conversations/").status_code in (401, 403)


def test_inboxes_lists_only_membership(api, inbox_a, inbox_b):
    assert [i["name"] for i in api.get("/api/inboxes/").json()] == ["Shop chat"]


def test_conversation_list_and_filters(api, agent, inbox_a, inbox_b):
    first = inbound(inbox_a, "where is my parcel", sender="v1", name="Maria").conversation
    second = inbound(inbox_a, "refund please", sender="v2", name="John").conversation
    inbound(inbox_b, "not yours", sender="z@example.com")
    api.patch(f"/api/conversations/{first.pk}/", {"assignee": agent.pk}, format="json")
    ids = lambda response: [c["id"] for c in response.json()["results"]]  # noqa: E731
    assert set(ids(api.get("/api/conversations/"))) == {first.pk, second.pk}
    assert ids(api.get("/api/conversations/?view=mine")) == [first.pk]
    assert ids(api.get("/api/conversations/?view=unassigned")) == [second.pk]
    assert ids(api.get("/api/conversations/?q=refund")) == [second.pk]
    assert ids(api.get("/api/conversations/?channel=email")) == []
    assert api.get("/api/conversations/?status=nonsense").status_code == 400
    row = next(c for c in api.get("/api/conversations/").json()["results"] if c["id"] == second.pk)
    assert row["contact"]["display_name"] == "John" and row["unread_count"] == 1 and row["inbox"]["channel_kind"] == "webchat"


def test_retrieve_and_404_across_inboxes(api, inbox_a, inbox_b):
    mine = inbound(inbox_a, "hello").conversation
    theirs = inbound(inbox_b, "secret", sender="s@example.com").conversation
    assert api.get(f"/api/conversations/{mine.pk}/").json()["id"] == mine.pk
    assert api.get(f"/api/conversations/{theirs.pk}/").status_code == 404
    assert api.get(f"/api/conversations/{theirs.pk}/messages/").status_code == 404
    assert api.post(f"/api/conversations/{theirs.pk}/messages/", {"text": "x"}, format="json").status_code == 404
    assert api.patch(f"/api/conversations/{theirs.pk}/", {"status": "resolved"}, format="json").status_code == 404
    assert api.get(f"/api/contacts/{theirs.contact_id}/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status != "resolved"


def test_patch_goes_through_services(api, agent, inbox_a):
    conversation = inbound(inbox_a, "hello").conversation
    url = f"/api/conversations/{conversation.pk}/"
    response = api.patch(url, {"status": "resolved", "labels": ["vip", "billing"], "priority": 4}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "resolved" and body["labels"] == ["billing", "vip"] and body["priority"] == 4
    # The service wrote a system event for the change of status.
    assert Message.objects.filter(conversation=conversation, sender_kind="system", text__contains="resolved").exists()
    assert api.patch(url, {"status": "snoozed"}, format="json").status_code == 400
    response = api.patch(url, {"status": "snoozed", "snoozed_until": "2000-01-01T00:00:00Z"}, format="json")
    assert response.status_code == 400 and "future" in response.json()["detail"]


def test_patch_assignee_with_conflict(api, agent, inbox_a, other_agent):
    colleague = make_agent("dora", inbox_a)
    conversation = inbound(inbox_a, "hello").conversation
    url = f"/api/conversations/{conversation.pk}/"
    assert api.patch(url, {"assignee": colleague.pk, "expected_assignee": None}, format="json").json()["assignee"]["id"] == colleague.pk
    conflict = api.patch(url, {"assignee": agent.pk, "expected_assignee": None}, format="json")
    assert conflict.status_code == 409 and "dora" in conflict.json()["detail"]
    assert api.patch(url, {"assignee": other_agent.pk}, format="json").status_code == 400  # not a member
    assert api.patch(url, {"assignee": None}, format="json").json()["assignee"] is None
    assert Conversation.objects.get(pk=conversation.pk).assignee is None


def test_send_reply_and_note(api, agent, inbox_a, django_capture_on_commit_callbacks):
    conversation = inbound(inbox_a, "hello").conversation
    url = f"/api/conversations/{conversation.pk}/messages/"
    with django_capture_on_commit_callbacks(execute=True):
        reply = api.post(url, {"text": "Hi! <b>How</b> can I help?"}, format="json")
    assert reply.status_code == 201 and reply.json()["is_private_note"] is False
    assert [m.text for m in locmem.outbox] == ["Hi! <b>How</b> can I help?"]
    note = api.post(url, {"text": "Customer is VIP", "private": True}, format="json")
    assert note.status_code == 201 and note.json()["is_private_note"] is True
    assert len(locmem.outbox) == 1
    assert api.post(url, {"text": ""}, format="json").status_code == 400
    texts = [m["text"] for m in api.get(url).json()["results"]]
    assert texts[0] == "hello" and "Customer is VIP" in texts and texts[-1] == "Customer is VIP"


def test_contacts_search_retrieve_update(api, inbox_a, inbox_b):
    maria = inbound(inbox_a, "hi", sender="v1", name="Maria Souza").conversation.contact
    inbound(inbox_a, "hi", sender="v2", name="John Smith")
    inbound(inbox_b, "hi", sender="hidden@example.com", name="Hidden Person")
    names = [c["name"] for c in api.get("/api/contacts/").json()["results"]]
    assert sorted(names) == ["John Smith", "Maria Souza"]
    assert [c["name"] for c in api.get("/api/contacts/?q=souza").json()["results"]] == ["Maria Souza"]
    detail = api.get(f"/api/contacts/{maria.pk}/").json()
    assert detail["identities"] == [{"channel_kind": "webchat", "address": "v1"}]
    updated = api.patch(f"/api/contacts/{maria.pk}/", {"email": "MARIA@Example.com", "phone": "+55 11 99999-0000"},
                        format="json")
    assert updated.status_code == 200
    assert updated.json()["email"] == "maria@example.com" and updated.json()["phone"] == "+5511999990000"
    assert updated.json()["phone_valid"] is True
    # Without a country code the number is read in PHONE_DEFAULT_REGION (BR); unreadable text is kept, flagged.
    national = api.patch(f"/api/contacts/{maria.pk}/", {"phone": "(21) 98888-7777"}, format="json").json()
    assert (national["phone"], national["phone_valid"]) == ("+5521988887777", True)
    typed = api.patch(f"/api/contacts/{maria.pk}/", {"phone": "só de manhã"}, format="json").json()
    assert (typed["phone"], typed["phone_valid"]) == ("só de manhã", False)
    assert api.patch(f"/api/contacts/{maria.pk}/", {"email": "not-an-email"}, format="json").status_code == 400


def test_schema_and_docs(api, client, agent):
    schema = api.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/conversations/{id}/messages/" in schema.content
    client.force_login(agent)
    assert client.get("/api/docs/").status_code == 200


def test_docs_load_no_cdn(client, agent, settings):
    if "drf_spectacular_sidecar" not in settings.INSTALLED_APPS:
        pytest.skip("needs drf_spectacular_sidecar in INSTALLED_APPS and SWAGGER_UI_DIST='SIDECAR' (integrator)")
    client.force_login(agent)
    page = client.get("/api/docs/").content.decode()
    assert "cdn.jsdelivr.net" not in page and "unpkg.com" not in page


@pytest.mark.parametrize("language, expected", [
    ("pt-BR", "A verificação de segurança desta página (CSRF) falhou"),
    ("es", "Falló la verificación de seguridad de esta página (CSRF)"),
])
def test_session_api_call_without_csrf_token_is_refused_in_the_agents_language(agent, inbox_a, language, expected):
    """A page script's API call with the session cookie but no CSRF token: 403, and the detail
    the script shows is in the agent's language (DRF's own is English "CSRF Failed: ...")."""
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(agent)
    conversation = inbound(inbox_a, "oi").conversation
    response = client.patch(f"/api/conversations/{conversation.pk}/", {"status": "resolved"}, format="json",
                            HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 403
    assert response.json()["detail"].startswith(expected)
    conversation.refresh_from_db()
    assert conversation.status != "resolved"
