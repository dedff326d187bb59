"""The webhook URL only serves channels whose provider posts to it.

The web chat's visitors write through the widget endpoints, which check the visitor token, the
page's origin and rate limits; its inbox id is public (it is in the widget snippet), so an
unauthenticated post to ``/webhooks/webchat/<id>/`` must not store a message.
"""

import json

import pytest

from inbox.models import Message, WebhookEvent
from tests.factories import make_inbox

pytestmark = pytest.mark.django_db


def test_webchat_webhook_post_is_refused_and_stores_nothing(client, django_capture_on_commit_callbacks):
    inbox = make_inbox("webchat")
    body = json.dumps({"visitor_id": "someone-else", "client_id": "c1", "text": "forged"}).encode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/webhooks/webchat/{inbox.public_id}/", data=body, content_type="application/json")

    assert response.status_code == 404
    assert not Message.objects.filter(inbox=inbox).exists()
    event = WebhookEvent.objects.get(inbox=inbox)
    assert event.status == WebhookEvent.Status.REJECTED
