"""WebchatAdapter and the normalization of visitor messages (no database)."""

from __future__ import annotations

import json

import pytest

from channels_adapters.base import OutboundMessage, WebhookRejected
from channels_adapters.registry import adapter_class_for
from channels_adapters.webchat import MAX_TEXT_LENGTH, WebchatAdapter, inbound_from_widget


def test_registered_for_webchat():
    assert adapter_class_for("webchat") is WebchatAdapter


def test_send_confirms_without_network():
    result = WebchatAdapter({}).send(OutboundMessage(recipient_address="visitor:abc", text="hi", local_id="17"))
    assert result.provider_message_id == "web-out-17"


def test_normalizes_a_visitor_message():
    message = inbound_from_widget(visitor_id="v1", client_id="c-1", text="  <b>hi</b>  ",
                                  quick_reply_payload="bot:human")
    assert (message.provider_message_id, message.sender_address) == ("web-v1-c-1", "visitor:v1")
    assert message.text == "<b>hi</b>"  # kept as text: the widget and the inbox show it with textContent
    assert message.quick_reply_payload == "bot:human"


@pytest.mark.parametrize("kwargs, error", [
    ({"client_id": "", "text": "hi"}, "client_id"),
    ({"client_id": "a b", "text": "hi"}, "client_id"),
    ({"client_id": "c", "text": ""}, "empty"),
    ({"client_id": "c", "text": "x" * (MAX_TEXT_LENGTH + 1)}, "5000"),
    ({"client_id": "c", "text": 5}, "string"),
])
def test_refuses_bad_messages(kwargs, error):
    with pytest.raises(ValueError, match=error):
        inbound_from_widget(visitor_id="v1", **kwargs)


def test_parse_http_fallback():
    parsed = WebchatAdapter({}).parse(json.dumps({"visitor_id": "v1", "client_id": "c1", "text": "hello"}).encode(), {})
    assert [m.provider_message_id for m in parsed.messages] == ["web-v1-c1"]
    with pytest.raises(WebhookRejected) as caught:
        WebchatAdapter({}).parse(b"{not json", {})
    assert caught.value.status_code == 400
