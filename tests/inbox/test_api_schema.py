"""The published OpenAPI schema says what the API answers: paginated list bodies, the error
codes, and 401 with WWW-Authenticate for calls without credentials."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from tests.factories import make_agent, make_inbox, receive

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def response_of(schema, path, method, code):
    return schema["paths"][path][method]["responses"].get(str(code))


def component(schema, ref):
    return schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]


@pytest.mark.parametrize("path", ["/api/contacts/", "/api/conversations/", "/api/conversations/{id}/messages/"])
def test_list_endpoints_are_documented_as_paginated_and_answer_so(schema, client, path):
    body = response_of(schema, path, "get", 200)["content"]["application/json"]["schema"]
    documented = component(schema, body["$ref"])
    assert set(documented["properties"]) == {"count", "next", "previous", "results"}
    assert documented["properties"]["results"]["type"] == "array"
    agent = make_agent("ana")
    inbox = make_inbox("webchat", members=[agent])
    conversation = receive(inbox, "hi", auto_reply=False).conversation
    client.force_login(agent)
    real = client.get(path.replace("{id}", str(conversation.pk))).json()
    assert set(real) == set(documented["properties"]) and len(real["results"]) == 1


def test_error_answers_are_documented(schema):
    assert {"400", "401", "404", "409"} <= set(schema["paths"]["/api/conversations/{id}/"]["patch"]["responses"])
    assert {"400", "401", "404"} <= set(schema["paths"]["/api/conversations/{id}/messages/"]["post"]["responses"])
    assert {"401", "404"} <= set(schema["paths"]["/api/contacts/{id}/"]["get"]["responses"])
    assert {"400", "401", "403"} <= set(schema["paths"]["/retention/api/orders/"]["post"]["responses"])


@pytest.mark.parametrize("path", ["/api/conversations/", "/api/inboxes/", "/retention/api/customers/1/"])
def test_calls_without_credentials_answer_401_with_www_authenticate(client, path):
    response = client.get(path)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_wrong_token_is_401_too(client):
    response = client.get("/api/conversations/", HTTP_AUTHORIZATION="Token not-a-token")
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"


def test_the_schema_builds_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
