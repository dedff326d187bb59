"""A fake of Meta's Graph API: a real HTTP server on 127.0.0.1 that answers like Meta.

Use it as a context manager or through the ``fake_graph`` pytest fixture::

    with FakeGraphAPI() as graph:
        adapter = WhatsAppAdapter({"graph_api_base": graph.base_url, ...})
        adapter.send(...)
        assert graph.requests[-1].json["to"] == "15551234567"

``base_url`` ends in ``/v21.0`` like Meta's, so adapters build the same paths they use in
production. Every request is recorded in ``requests``. ``fail_next`` makes the next requests
fail with a Graph error, a dropped connection, or no answer at all (``hang``), which makes
timeouts deterministic: the server never answers, so the client's timeout is what ends it.

Other processes (an app under a browser test) can use the same server by its ``base_url``,
and steer it over HTTP: ``POST /__fake__/fail_next`` (same JSON keys as ``fail_next``),
``POST /__fake__/media`` (``{"media_id", "data_base64", "mime_type"}``),
``POST /__fake__/cdn`` (``{"name", "data_base64", "content_type"}``, answers its ``url``),
``POST /__fake__/instagram_profile`` (``{"igsid", "name", "username", "profile_pic"}``),
``GET /__fake__/requests``, ``POST /__fake__/reset``. Run standalone with
``python -m tests.fakes.graph_api --port 8999``.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import email.parser
import email.policy
import hashlib
import itertools
import json
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

VERSION_PREFIX = "/v21.0"


@dataclasses.dataclass
class RecordedRequest:
    method: str
    path: str  # without the version prefix, e.g. "/123/messages"
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    json: Any = None  # decoded JSON body, when it was JSON
    form: dict[str, str] = dataclasses.field(default_factory=dict)  # multipart text fields
    files: dict[str, tuple[str, bytes, str]] = dataclasses.field(default_factory=dict)  # name -> (filename, data, type)

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "json": self.json,
            "form": self.form,
            "files": {k: {"filename": f, "size": len(d), "content_type": t} for k, (f, d, t) in self.files.items()},
        }


@dataclasses.dataclass
class Failure:
    status: int = 500
    error: dict[str, Any] | None = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    close: bool = False  # drop the connection without answering
    hang: bool = False  # never answer (until the server stops)
    delay: float = 0.0  # answer normally, this many seconds late
    raw_body: bytes | None = None  # answer these bytes instead of a Graph error (an HTML 502 page)
    path_contains: str = ""  # only requests whose path contains this
    times: int = 1
    after: int = 0  # let this many matching requests through first


def graph_error(code: int, message: str, *, type_: str = "OAuthException", subcode: int | None = None,
                details: str = "") -> dict[str, Any]:
    """An ``error`` object in Meta's shape (for ``fail_next(error=...)``)."""
    error: dict[str, Any] = {"message": message, "type": type_, "code": code, "fbtrace_id": "AbCdEfFake"}
    if subcode is not None:
        error["error_subcode"] = subcode
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return error


def _parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, tuple[str, bytes, str]]]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes, str]] = {}
    if not message.is_multipart():
        return fields, files
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        data = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            files[name] = (filename, data, part.get_content_type())
        else:
            fields[name] = data.decode("utf-8", "replace")
    return fields, files


class FakeGraphAPI:
    """The fake server. Thread-safe: the test thread and request threads share a lock."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, access_tokens: set[str] | None = None):
        self._host, self._port = host, port
        #: When set, only these tokens are accepted (others get error 190).
        self.access_tokens = set(access_tokens) if access_tokens else None
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._counter = itertools.count(1)
        self.reset()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- set-up --------------------------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self.requests: list[RecordedRequest] = []
            self._failures: list[Failure] = []
            self.media: dict[str, tuple[bytes, str, int | None]] = {}
            self.phone_numbers: dict[str, dict[str, Any]] = {
                "1234567890": {
                    "verified_name": "Acme Support",
                    "display_phone_number": "+1 555-010-0000",
                    "id": "1234567890",
                    "quality_rating": "GREEN",
                }
            }
            self.pages: dict[str, dict[str, Any]] = {"me": {"id": "111222333", "name": "Acme Page"}}
            self.profiles: dict[str, dict[str, Any]] = {}
            #: ``GET /me?fields=user_id,...`` on Instagram's host (Instagram API with Instagram Login).
            self.instagram_account: dict[str, Any] = {"id": "9876500000000001", "user_id": "17841400000000001",
                                                      "username": "acme.store", "name": "Acme Store"}
            self.cdn_files: dict[str, tuple[bytes, str]] = {}
            #: The ``contacts[].wa_id`` a WhatsApp send to a number answers (default: its digits).
            self.wa_ids: dict[str, str] = {}

    def add_media(self, media_id: str, data: bytes, mime_type: str = "application/octet-stream",
                  *, declared_size: int | None = None) -> None:
        """Make ``GET /{media_id}`` answer metadata, and its URL serve ``data``.
        ``declared_size`` lets the metadata lie about ``file_size``, as a test may need."""
        with self._lock:
            self.media[media_id] = (data, mime_type, declared_size)

    def add_cdn_file(self, name: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        """Serve ``data`` without a token, like Messenger's attachment CDN; returns its URL."""
        with self._lock:
            self.cdn_files[name] = (data, content_type)
        return f"{self.origin}/cdn/{name}"

    def add_profile(self, psid: str, first_name: str, last_name: str = "", profile_pic: str = "") -> None:
        with self._lock:
            self.profiles[psid] = {"first_name": first_name, "last_name": last_name,
                                   "profile_pic": profile_pic, "id": psid}

    def set_wa_id(self, number: str, wa_id: str) -> None:
        """Answer sends to ``number`` with this ``wa_id``, like WhatsApp does for a Brazilian
        mobile registered before the ninth digit."""
        with self._lock:
            self.wa_ids[number] = wa_id

    def add_instagram_profile(self, igsid: str, name: str = "", username: str = "", profile_pic: str = "") -> None:
        """What ``GET /{igsid}?fields=name,username,profile_pic`` answers for an Instagram user."""
        with self._lock:
            self.profiles[igsid] = {"name": name, "username": username, "profile_pic": profile_pic, "id": igsid}

    def fail_next(self, status: int = 500, error: dict[str, Any] | None = None, times: int = 1, *,
                  close: bool = False, hang: bool = False, delay: float = 0.0,
                  headers: dict[str, str] | None = None, path_contains: str = "",
                  raw_body: bytes | str | None = None, after: int = 0) -> None:
        """Fail the next ``times`` matching requests (all requests unless ``path_contains``),
        after letting ``after`` matching requests through.

        ``close`` drops the connection, ``hang`` never answers, ``delay`` answers normally but
        late; otherwise the answer is ``status`` with ``raw_body`` or ``{"error": error}``
        (default: Graph code 2, "unexpected error").
        """
        with self._lock:
            self._failures.append(Failure(status=status, error=error, headers=dict(headers or {}), close=close,
                                          hang=hang, delay=delay, path_contains=path_contains, times=times, after=after,
                                          raw_body=raw_body.encode() if isinstance(raw_body, str) else raw_body))

    def _take_failure(self, path: str) -> Failure | None:
        with self._lock:
            for failure in self._failures:
                if failure.path_contains in path:
                    if failure.after > 0:
                        failure.after -= 1
                        return None
                    failure.times -= 1
                    if failure.times <= 0:
                        self._failures.remove(failure)
                    return failure
        return None

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def next_id(self) -> int:
        with self._lock:
            return next(self._counter)

    # --- lifecycle -----------------------------------------------------------------------------

    @property
    def origin(self) -> str:
        assert self._server is not None, "the server is not running"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        return self.origin + VERSION_PREFIX

    def start(self) -> FakeGraphAPI:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer((self._host, self._port), handler)
        self._server.daemon_threads = True
        self._release.clear()
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-graph-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()  # let hanging handlers finish
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeGraphAPI:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- answers -------------------------------------------------------------------------------

    def answer(self, req: RecordedRequest) -> tuple[int, Any, dict[str, str]]:
        """Return ``(status, JSON or bytes, headers)`` for a recorded request."""
        path = req.path
        token = req.headers.get("authorization", "")
        token = token[7:] if token.lower().startswith("bearer ") else req.query.get("access_token", "")
        if path.startswith("/cdn/"):
            with self._lock:
                found_file = self.cdn_files.get(path[len("/cdn/"):])
            if found_file is None:
                return 404, b"", {}
            return 200, found_file[0], {"Content-Type": found_file[1]}
        if path.startswith("/media-download/"):
            if not token:  # Meta answers 401 to a media download without the token
                return 401, b"", {}
            media_id = path.rsplit("/", 1)[-1]
            with self._lock:
                found = self.media.get(media_id)
            if found is None:
                return 404, b"", {}
            return 200, found[0], {"Content-Type": found[1]}
        if not token:
            return 400, {"error": graph_error(190, "An active access token must be used to query "
                                                   "information about the current user.")}, {}
        if self.access_tokens is not None and token not in self.access_tokens:
            return 401, {"error": graph_error(190, "Error validating access token: Session has expired.",
                                              subcode=463)}, {}
        parts = [p for p in path.split("/") if p]
        if req.method == "POST" and parts == ["me", "messages"]:
            return self._messenger_send(req)
        if req.method == "POST" and len(parts) == 2 and parts[1] == "messages":
            return self._whatsapp_send(req)
        if req.method == "POST" and len(parts) == 2 and parts[1] == "media":
            _filename, data, content_type = req.files.get("file", ("", b"", ""))
            if not data or req.form.get("messaging_product") != "whatsapp":
                return 400, {"error": graph_error(100, "(#100) The parameter file is required.")}, {}
            media_id = str(10**15 + self.next_id())
            self.add_media(media_id, data, req.form.get("type") or content_type)
            return 200, {"id": media_id}, {}
        if req.method == "GET" and parts == ["me"] and "user_id" in req.query.get("fields", ""):
            with self._lock:
                return 200, dict(self.instagram_account), {}
        if req.method == "GET" and len(parts) == 1:
            return self._get_object(parts[0])
        return 400, {"error": graph_error(100, f"Unsupported {req.method.lower()} request.",
                                          type_="GraphMethodException", subcode=33)}, {}

    def _get_object(self, object_id: str) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            media = self.media.get(object_id)
            phone = self.phone_numbers.get(object_id)
            page = self.pages.get(object_id)
            profile = self.profiles.get(object_id)
        if media is not None:
            data, mime_type, declared = media
            return 200, {
                "messaging_product": "whatsapp",
                "url": f"{self.origin}/media-download/{object_id}?ext=1&hash=fake",
                "mime_type": mime_type,
                "sha256": hashlib.sha256(data).hexdigest(),
                "file_size": declared if declared is not None else len(data),
                "id": object_id,
            }, {}
        for found in (phone, page, profile):
            if found is not None:
                return 200, dict(found), {}
        return 400, {"error": graph_error(
            100, f"Unsupported get request. Object with ID '{object_id}' does not exist, cannot be loaded "
                 "due to missing permissions, or does not support this operation.",
            type_="GraphMethodException", subcode=33)}, {}

    def _whatsapp_send(self, req: RecordedRequest) -> tuple[int, Any, dict[str, str]]:
        body = req.json if isinstance(req.json, dict) else {}
        if body.get("messaging_product") != "whatsapp":
            return 400, {"error": graph_error(100, "(#100) The parameter messaging_product is required.")}, {}
        if body.get("status") == "read":
            return 200, {"success": True}, {}
        to = str(body.get("to") or "")
        kind = body.get("type", "text")
        if not to or not isinstance(body.get(kind), dict):
            return 400, {"error": graph_error(100, "(#100) Invalid parameter")}, {}
        answer: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": self.wa_ids.get(to, re.sub(r"\D", "", to))}],
            "messages": [{"id": f"wamid.{self.next_id()}"}],
        }
        if kind == "template":
            answer["messages"][0]["message_status"] = "accepted"
        return 200, answer, {}

    def _messenger_send(self, req: RecordedRequest) -> tuple[int, Any, dict[str, str]]:
        if req.json is not None:
            body = req.json if isinstance(req.json, dict) else {}
        else:  # multipart with filedata
            body = dict(req.form)
            for key in ("recipient", "message"):
                try:
                    body[key] = json.loads(body.get(key, "null"))
                except ValueError:
                    body[key] = None
        recipient = str((body.get("recipient") or {}).get("id") or "")
        if not recipient:
            return 400, {"error": graph_error(100, "(#100) The parameter recipient is required")}, {}
        if "sender_action" in body:
            return 200, {"recipient_id": recipient}, {}
        if not isinstance(body.get("message"), dict):
            return 400, {"error": graph_error(100, "(#100) param message must be non-empty.")}, {}
        answer = {"recipient_id": recipient, "message_id": f"m_{self.next_id()}"}
        if "filedata" in req.files:
            answer["attachment_id"] = str(10**14 + self.next_id())
        return 200, answer, {}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGraphAPI
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002  (keep test output quiet)
        pass

    def _handle(self) -> None:
        split = urllib.parse.urlsplit(self.path)
        path = split.path
        if path.startswith(VERSION_PREFIX + "/"):
            path = path[len(VERSION_PREFIX):]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if path.startswith("/__fake__/"):
            return self._control(path, body)
        headers = {k.lower(): v for k, v in self.headers.items()}
        query = dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True))
        req = RecordedRequest(method=self.command, path=path, query=query, headers=headers, body=body)
        content_type = headers.get("content-type", "")
        if content_type.startswith("application/json"):
            try:
                req.json = json.loads(body)
            except ValueError:
                req.json = None
        elif content_type.startswith("multipart/form-data"):
            req.form, req.files = _parse_multipart(content_type, body)
        self.fake._record(req)

        failure = self.fake._take_failure(path)
        if failure is not None:
            if failure.hang:
                self.fake._release.wait()
                self.close_connection = True
                return
            if failure.delay:
                self.fake._release.wait(failure.delay)
                status, payload, extra = self.fake.answer(req)
                return self._send(status, payload, extra)
            if failure.close:
                self.close_connection = True
                self.connection.close()
                return
            if failure.raw_body is not None:
                return self._send(failure.status, failure.raw_body, {"Content-Type": "text/html", **failure.headers})
            error = failure.error or graph_error(2, "An unexpected error has occurred. Please retry your "
                                                    "request later.", type_="OAuthException")
            return self._send(failure.status, {"error": error}, failure.headers)
        status, payload, extra = self.fake.answer(req)
        self._send(status, payload, extra)

    def _control(self, path: str, body: bytes) -> None:
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            return self._send(400, {"error": "control body must be JSON"}, {})
        if path == "/__fake__/fail_next" and self.command == "POST":
            self.fake.fail_next(**data)
        elif path == "/__fake__/media" and self.command == "POST":
            self.fake.add_media(data["media_id"], base64.b64decode(data["data_base64"]),
                                data.get("mime_type", "application/octet-stream"))
        elif path == "/__fake__/cdn" and self.command == "POST":
            url = self.fake.add_cdn_file(data["name"], base64.b64decode(data["data_base64"]),
                                         data.get("content_type", "application/octet-stream"))
            return self._send(200, {"url": url}, {})
        elif path == "/__fake__/instagram_profile" and self.command == "POST":
            self.fake.add_instagram_profile(data["igsid"], data.get("name", ""), data.get("username", ""),
                                            data.get("profile_pic", ""))
        elif path == "/__fake__/reset" and self.command == "POST":
            self.fake.reset()
        elif path == "/__fake__/requests" and self.command == "GET":
            with self.fake._lock:
                recorded = [r.to_json() for r in self.fake.requests]
            return self._send(200, {"requests": recorded}, {})
        else:
            return self._send(404, {"error": f"unknown control {self.command} {path}"}, {})
        self._send(200, {"ok": True}, {})

    def _send(self, status: int, payload: Any, headers: dict[str, str]) -> None:
        if isinstance(payload, bytes):
            data = payload
            content_type = headers.pop("Content-Type", "application/octet-stream")
        else:
            data = json.dumps(payload).encode()
            content_type = "application/json; charset=UTF-8"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = _handle


try:
    import pytest
except ImportError:  # the standalone server does not need pytest
    pytest = None

if pytest is not None:

    @pytest.fixture
    def fake_graph():
        """A running ``FakeGraphAPI``, stopped after the test."""
        with FakeGraphAPI() as graph:
            yield graph


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    graph = FakeGraphAPI(host=args.host, port=args.port).start()
    print(graph.base_url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        graph.stop()


if __name__ == "__main__":
    main()
