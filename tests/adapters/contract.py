"""Shared tests every channel adapter must pass, in the manner of Django's
``SharedEmailBackendTests``: a mixin with hooks, subclassed once per channel.

``AdapterContractTests`` covers the inbound side (handshake, signature, parsing every fixture,
rejecting garbage, never failing a batch on odd content). ``GraphSendContractTests`` covers
the outbound side of the Graph API channels against ``tests.fakes.graph_api.FakeGraphAPI``
(error mapping, timeouts, dropped connections).

A subclass sets ``adapter_class`` and ``fixture_dir`` and implements ``make_config()`` and
``expectations()`` (a check per fixture file; a fixture without a check fails the suite, so
nothing sits untested in the folder).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels_adapters.base import (
    BaseAdapter,
    InboundMessage,
    OutboundMessage,
    ParsedWebhook,
    PermanentSendError,
    SendError,
    StatusUpdate,
    TemporarySendError,
    WebhookRejected,
)
from tests.fakes.graph_api import FakeGraphAPI, graph_error

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
REPO = Path(__file__).resolve().parents[2]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)


def json_paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path into a JSON document, for mutating one spot at a time."""
    paths = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            paths += json_paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            paths += json_paths(value, prefix + (index,))
    return paths


def replaced(document: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    document = copy.deepcopy(document)
    node = document
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return document


class AdapterContractTests:
    adapter_class: type[BaseAdapter]
    fixture_dir: Path
    #: The ``object`` a webhook body must name (Meta channels); None when not applicable.
    webhook_object: str | None = None

    # --- hooks ---------------------------------------------------------------------------------

    def make_config(self, **overrides: Any) -> dict[str, Any]:
        raise NotImplementedError

    def expectations(self) -> dict[str, Callable[[ParsedWebhook], None]]:
        """Fixture file stem -> a function asserting what parsing it must give."""
        raise NotImplementedError

    def signed_headers(self, body: bytes, config: dict[str, Any]) -> dict[str, str]:
        """Headers that make ``body`` authentic for ``config`` (webhook channels)."""
        return {}

    def other_account_overrides(self) -> dict[str, Any]:
        """Config overrides naming another account, so every fixture entry is foreign."""
        return {}

    def payload_with_timestamp(self, when: dt.datetime) -> bytes:
        """One inbound message sent at ``when``."""
        raise NotImplementedError

    def unknown_type_fixture(self) -> str:
        """A fixture holding an unknown message type next to a normal one."""
        raise NotImplementedError

    # --- helpers -------------------------------------------------------------------------------

    def make_adapter(self, **overrides: Any) -> BaseAdapter:
        return self.adapter_class(self.make_config(**overrides), inbox_id=1)

    def fixture_bytes(self, name: str) -> bytes:
        return (self.fixture_dir / f"{name}.json").read_bytes()

    def parse_fixture(self, name: str, adapter: BaseAdapter | None = None) -> ParsedWebhook:
        body = self.fixture_bytes(name)
        adapter = adapter or self.make_adapter()
        adapter.verify_request(body, self.signed_headers(body, adapter.config))
        return adapter.parse(body, {})

    def pytest_generate_tests(self, metafunc):
        if "fixture_name" in metafunc.fixturenames:
            names = sorted(p.stem for p in Path(metafunc.cls.fixture_dir).glob("*.json"))
            metafunc.parametrize("fixture_name", names)

    # --- handshake -----------------------------------------------------------------------------

    def test_handshake_returns_challenge_for_the_configured_token(self):
        adapter = self.make_adapter(verify_token="s3cret-token")
        params = {"hub.mode": "subscribe", "hub.verify_token": "s3cret-token", "hub.challenge": "1158201444"}
        assert adapter.handshake(params) == "1158201444"

    @pytest.mark.parametrize(
        "params",
        [
            {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
            {"hub.mode": "subscribe", "hub.verify_token": "s3cret-tokeN", "hub.challenge": "1"},
            {"hub.mode": "unsubscribe", "hub.verify_token": "s3cret-token", "hub.challenge": "1"},
            {"hub.verify_token": "s3cret-token", "hub.challenge": "1"},
            {"hub.mode": "subscribe", "hub.challenge": "1"},
            {"hub.mode": "subscribe", "hub.verify_token": "s3cret-token"},
            {},
        ],
    )
    def test_handshake_refuses(self, params):
        assert self.make_adapter(verify_token="s3cret-token").handshake(params) is None

    def test_handshake_refuses_everything_without_a_configured_token(self):
        adapter = self.make_adapter(verify_token="")
        assert adapter.handshake({"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}) is None

    # --- signature -----------------------------------------------------------------------------

    def test_signature_missing_is_401(self):
        adapter = self.make_adapter()
        with pytest.raises(WebhookRejected) as caught:
            adapter.verify_request(self.fixture_bytes("message__text"), {})
        assert caught.value.status_code == 401

    def test_signature_wrong_is_403(self):
        adapter = self.make_adapter()
        body = self.fixture_bytes("message__text")
        headers = self.signed_headers(body + b" ", adapter.config)  # signature of another body
        with pytest.raises(WebhookRejected) as caught:
            adapter.verify_request(body, headers)
        assert caught.value.status_code == 403

    def test_signature_with_another_secret_is_403(self):
        body = self.fixture_bytes("message__text")
        headers = self.signed_headers(body, self.make_config(app_secret="another-secret"))
        with pytest.raises(WebhookRejected) as caught:
            self.make_adapter().verify_request(body, headers)
        assert caught.value.status_code == 403

    def test_signature_ok_passes_whatever_the_header_case(self):
        adapter = self.make_adapter()
        body = self.fixture_bytes("message__text")
        for name, value in self.signed_headers(body, adapter.config).items():
            for spelling in (name, name.lower(), name.upper(), "HTTP_" + name.upper().replace("-", "_")):
                adapter.verify_request(body, {spelling: value, "Content-Type": "application/json"})

    def test_signature_refused_when_no_secret_is_configured(self):
        adapter = self.make_adapter(app_secret="")
        body = self.fixture_bytes("message__text")
        with pytest.raises(WebhookRejected) as caught:
            adapter.verify_request(body, self.signed_headers(body, self.make_config(app_secret="")))
        assert caught.value.status_code == 403

    # --- parsing -------------------------------------------------------------------------------

    def test_every_fixture_file_has_an_expectation(self):
        files = {p.stem for p in self.fixture_dir.glob("*.json")}
        assert files == set(self.expectations())

    def test_fixture_parses(self, fixture_name):
        parsed = self.parse_fixture(fixture_name)
        assert isinstance(parsed, ParsedWebhook)
        assert parsed.messages or parsed.statuses, parsed.skipped
        for message in parsed.messages:
            self.assert_well_formed_message(message)
        for status in parsed.statuses:
            self.assert_well_formed_status(status)
        self.expectations()[fixture_name](parsed)

    def test_parsing_is_repeatable(self, fixture_name):
        adapter = self.make_adapter()
        assert self.parse_fixture(fixture_name, adapter) == self.parse_fixture(fixture_name, adapter)

    def assert_well_formed_message(self, message: InboundMessage) -> None:
        assert isinstance(message, InboundMessage)
        assert message.provider_message_id and message.sender_address
        assert message.sent_at is not None and message.sent_at.tzinfo is not None
        has_content = (message.text or message.attachments or message.location or message.reaction_to_provider_id
                       or message.unsend_of_provider_id)
        assert has_content or message.unsupported or message.metadata.get("reaction_removed"), message
        for attachment in message.attachments:
            assert attachment.kind in {"image", "audio", "video", "file", "sticker"}
            assert attachment.provider_media_id or attachment.url or attachment.data is not None

    def assert_well_formed_status(self, status: StatusUpdate) -> None:
        assert status.status in {"sent", "delivered", "read", "failed"}
        assert status.provider_message_id or status.watermark
        assert status.timestamp is None or status.timestamp.tzinfo is not None

    def garbage_bodies(self) -> list[bytes]:
        text = self.fixture_bytes("message__text")
        bodies = [b"", b"not json at all", b"\xff\xfe\x00garbage", b"[]", b"null", b'"a string"', b"42",
                  text[: len(text) // 2], text.rstrip()[:-1]]
        if self.webhook_object:
            bodies += [
                json.dumps({"object": "instagram", "entry": []}).encode(),
                json.dumps({"entry": []}).encode(),
                json.dumps({"object": self.webhook_object}).encode(),
                json.dumps({"object": self.webhook_object, "entry": {"id": "1"}}).encode(),
                json.dumps({"object": self.webhook_object, "entry": "x"}).encode(),
            ]
        return bodies

    def test_garbage_is_rejected_with_400_and_a_reason(self):
        adapter = self.make_adapter()
        for body in self.garbage_bodies():
            with pytest.raises(WebhookRejected) as caught:
                adapter.parse(body, {})
            assert caught.value.status_code == 400, body
            assert str(caught.value), body

    def test_unknown_types_do_not_fail_the_batch(self):
        parsed = self.parse_fixture(self.unknown_type_fixture())
        unsupported = [m for m in parsed.messages if m.unsupported]
        normal = [m for m in parsed.messages if not m.unsupported]
        assert normal, "the ordinary message next to the unknown one was lost"
        assert unsupported or parsed.skipped
        for message in unsupported:
            assert message.text.startswith("[unsupported message type")

    def test_entries_for_another_account_are_skipped(self, fixture_name):
        parsed = self.parse_fixture(fixture_name, self.make_adapter(**self.other_account_overrides()))
        assert parsed.messages == [] and parsed.statuses == []
        assert parsed.skipped

    def test_future_timestamps_are_clamped_to_now(self):
        before = dt.datetime.now(dt.timezone.utc)
        future = before + dt.timedelta(days=3)
        parsed = self.make_adapter().parse(self.payload_with_timestamp(future), {})
        (message,) = parsed.messages
        after = dt.datetime.now(dt.timezone.utc)
        assert before <= message.sent_at <= after
        assert message.metadata["timestamp_clamped_from"].startswith(future.isoformat()[:19])

    def test_past_timestamps_are_kept(self):
        past = dt.datetime(2024, 5, 31, 16, 8, 37, tzinfo=dt.timezone.utc)
        (message,) = self.make_adapter().parse(self.payload_with_timestamp(past), {}).messages
        assert message.sent_at == past
        assert "timestamp_clamped_from" not in message.metadata

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.differing_executors])
    @given(data=st.data())
    def test_mutated_fixtures_parse_or_are_rejected_cleanly(self, data):
        """Any one field of any fixture replaced by any JSON value: parse returns a result or
        raises WebhookRejected(400); no other exception escapes. (The same method runs for each
        channel's subclass, hence the differing-executors health check is off.)"""
        names = sorted(p.stem for p in self.fixture_dir.glob("*.json"))
        document = json.loads(self.fixture_bytes(data.draw(st.sampled_from(names))))
        path = data.draw(st.sampled_from(json_paths(document)))
        body = json.dumps(replaced(document, path, data.draw(json_values))).encode()
        try:
            parsed = self.make_adapter().parse(body, {})
        except WebhookRejected as exc:
            assert exc.status_code == 400
        else:
            assert isinstance(parsed, ParsedWebhook)
            for message in parsed.messages:
                assert isinstance(message.text, str) and message.provider_message_id

    ODD_VALUES = [None, 0, -1, 10**20, 1.5, True, "", "x", [], [None], {}, {"": None}]

    def test_every_field_of_every_fixture_replaced_by_odd_values(self):
        """Exhaustive over fixtures, paths and a set of wrong-typed values: the same promise as
        the Hypothesis test above, without relying on it drawing the one breaking spot."""
        adapter = self.make_adapter()
        for fixture in sorted(self.fixture_dir.glob("*.json")):
            document = json.loads(fixture.read_bytes())
            for path in json_paths(document):
                for value in self.ODD_VALUES:
                    body = json.dumps(replaced(document, path, value)).encode()
                    try:
                        parsed = adapter.parse(body, {})
                    except WebhookRejected as exc:
                        assert exc.status_code == 400
                        continue
                    except Exception as exc:  # report which spot broke it
                        raise AssertionError(f"{fixture.name} {path} = {value!r}: {exc!r}") from exc
                    for message in parsed.messages:
                        assert isinstance(message.text, str) and message.provider_message_id

    def test_adapter_module_does_not_load_the_database_layer(self):
        module = self.adapter_class.__module__
        code = (
            f"import sys, {module}\n"
            "loaded = sorted(m for m in sys.modules if m.startswith(('django.db', 'inbox')))\n"
            "assert not loaded, loaded\n"
        )
        subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, timeout=60)


class GraphSendContractTests:
    """Outbound contract for Graph API adapters, against a live ``FakeGraphAPI``.

    Subclasses set ``adapter_class``, implement ``make_config`` and ``sample_message()``, and
    list ``error_cases``: ``(http_status, graph_code, subcode, permanent)``.
    """

    adapter_class: type[BaseAdapter]
    error_cases: list[tuple[int, int, int | None, bool]] = []

    def make_config(self, **overrides: Any) -> dict[str, Any]:
        raise NotImplementedError

    def sample_message(self) -> OutboundMessage:
        raise NotImplementedError

    @pytest.fixture
    def graph(self):
        with FakeGraphAPI() as fake:
            yield fake

    def adapter_for(self, graph: FakeGraphAPI, **overrides: Any) -> BaseAdapter:
        return self.adapter_class(self.make_config(graph_api_base=graph.base_url, **overrides), inbox_id=1)

    def test_send_returns_the_provider_id(self, graph):
        result = self.adapter_for(graph).send(self.sample_message())
        assert result.provider_message_id
        assert len(graph.requests) == 1 and graph.requests[0].method == "POST"
        assert graph.requests[0].headers["authorization"].startswith("Bearer ")

    def test_error_mapping(self, graph):
        assert self.error_cases, "list the error cases for this channel"
        adapter = self.adapter_for(graph)
        for status, code, subcode, permanent in self.error_cases:
            graph.fail_next(status, graph_error(code, f"error {code}", subcode=subcode))
            with pytest.raises(SendError) as caught:
                adapter.send(self.sample_message())
            error = caught.value
            assert error.permanent is permanent, (status, code, subcode, str(error))
            assert isinstance(error, PermanentSendError if permanent else TemporarySendError)
            assert error.code == (f"{code}/{subcode}" if subcode else str(code))
            assert f"({error.code})" in str(error) and f"error {code}" in str(error)

    @pytest.mark.parametrize("status", [500, 502, 503, 429])
    def test_server_trouble_without_graph_error_is_temporary(self, graph, status):
        graph.fail_next(status, raw_body=b"<html><body>Bad gateway</body></html>")
        with pytest.raises(TemporarySendError) as caught:
            self.adapter_for(graph).send(self.sample_message())
        assert caught.value.code == f"http_{status}"

    def test_client_error_without_graph_error_is_permanent(self, graph):
        graph.fail_next(404, raw_body=b"not found")
        with pytest.raises(PermanentSendError) as caught:
            self.adapter_for(graph).send(self.sample_message())
        assert caught.value.code == "http_404"

    def test_retry_after_header_is_kept(self, graph):
        graph.fail_next(503, headers={"Retry-After": "7"})
        with pytest.raises(TemporarySendError) as caught:
            self.adapter_for(graph).send(self.sample_message())
        assert caught.value.retry_after == 7.0 and caught.value.code == "2"

    def test_success_answer_that_is_not_json_is_not_retried(self, graph):
        # The message may have gone out; retrying could send it twice.
        graph.fail_next(200, raw_body=b"<html>ok?</html>")
        with pytest.raises(PermanentSendError) as caught:
            self.adapter_for(graph).send(self.sample_message())
        assert caught.value.code == "bad_response"

    def test_rate_limit_http_429_carries_retry_after(self, graph):
        graph.fail_next(429, graph_error(4, "Application request limit reached"), headers={"Retry-After": "30"})
        with pytest.raises(TemporarySendError) as caught:
            self.adapter_for(graph).send(self.sample_message())
        assert caught.value.retry_after == 30.0 and caught.value.code == "4"

    def test_dropped_connection_is_temporary(self, graph):
        graph.fail_next(close=True)
        with pytest.raises(TemporarySendError) as caught:
            self.adapter_for(graph).send(self.sample_message())
        assert caught.value.code == "network"

    def test_no_answer_is_a_temporary_timeout(self, graph):
        # The fake never answers this request, so only the client's timeout can end it.
        graph.fail_next(hang=True)
        with pytest.raises(TemporarySendError) as caught:
            self.adapter_for(graph, api_timeout=0.3).send(self.sample_message())
        assert caught.value.code == "timeout"

    def test_unreachable_server_is_temporary(self):
        with FakeGraphAPI() as graph:
            base = graph.base_url
        adapter = self.adapter_class(self.make_config(graph_api_base=base), inbox_id=1)
        with pytest.raises(TemporarySendError) as caught:
            adapter.send(self.sample_message())
        assert caught.value.code == "network"

    def test_success_after_a_failure(self, graph):
        graph.fail_next(500, graph_error(2, "Service temporarily unavailable"))
        adapter = self.adapter_for(graph)
        with pytest.raises(TemporarySendError):
            adapter.send(self.sample_message())
        assert adapter.send(self.sample_message()).provider_message_id
        assert graph.requests[0].json == graph.requests[1].json  # the retry sends the same body

    def test_describe_error_is_readable(self):
        for _status, code, subcode, _permanent in self.error_cases:
            label = f"{code}/{subcode}" if subcode else str(code)
            text = self.adapter_class.describe_error(label)
            assert text and not text.startswith("Meta error"), label
