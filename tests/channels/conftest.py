import hashlib
import hmac
import json
from pathlib import Path

import pytest

from tests.fakes.graph_api import FakeGraphAPI

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture
def fake_graph(settings):
    with FakeGraphAPI() as graph:
        settings.META_GRAPH_API_BASE = graph.base_url
        settings.INSTAGRAM_GRAPH_API_BASE = graph.base_url
        yield graph


def load_fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@pytest.fixture
def post_webhook(client, django_capture_on_commit_callbacks):
    """Post a signed (or deliberately unsigned) body to an inbox's webhook URL, running the
    processing task (Huey is immediate in tests) after the request's transaction commits."""

    def post(inbox, body: bytes | dict, *, secret: str | None = "app-secret", signature: str | None = None):
        if isinstance(body, dict):
            body = json.dumps(body).encode()
        headers = {}
        if signature is not None:
            headers["HTTP_X_HUB_SIGNATURE_256"] = signature
        elif secret is not None:
            headers["HTTP_X_HUB_SIGNATURE_256"] = sign(body, secret)
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(f"/webhooks/{inbox.channel_kind}/{inbox.public_id}/", data=body,
                               content_type="application/json", **headers)

    return post
