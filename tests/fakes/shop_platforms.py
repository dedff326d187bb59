"""Fakes of the three shop platforms' order APIs: one real HTTP server on 127.0.0.1.

Each platform answers under its own paths, the way the real one does, so connectors build the
same URLs as in production (the fake's ``base_url`` stands in for the store URL or API base):

* Shopify ``/admin/api/<version>/orders.json`` (``updated_at_min``, ``limit``, ``page_info`` via
  the ``Link`` header), ``/orders/<id>.json``, ``/shop.json``; ``X-Shopify-Access-Token``;
  ``X-Shopify-Shop-Api-Call-Limit`` on every answer.
* WooCommerce ``/wp-json/wc/v3/orders`` (``modified_after``, ``per_page``, ``page``,
  ``X-WP-TotalPages``), ``/orders/<id>``; HTTP Basic with the consumer key and secret.
* Nuvemshop ``/<version>/<store_id>/orders`` (``updated_at_min``, ``per_page``, ``page``; 404
  past the last page), ``/orders/<id>``, ``/store``; ``Authentication: bearer <token>``.

``orders[platform]`` holds the platform's own JSON for each order; ``fail_next`` makes the
next matching requests answer an error (429 with ``Retry-After``, 500...); ``requests`` logs
every request. Credentials are ``TOKEN``, ``KEY``/``SECRET`` and store ``STORE_ID``.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SHOPIFY_TOKEN = "shpat_fake_token"
WOO_KEY, WOO_SECRET = "ck_fake", "cs_fake"
NUVEM_TOKEN, NUVEM_STORE_ID = "nuvem_fake_token", "987654"


@dataclasses.dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclasses.dataclass
class Failure:
    status: int
    headers: dict[str, str]
    path_contains: str
    times: int


def _time(value: str) -> dt.datetime:
    text = value.replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]
    parsed = dt.datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


class FakeShopPlatforms:
    def __init__(self):
        self.orders: dict[str, list[dict[str, Any]]] = {"shopify": [], "woocommerce": [], "nuvemshop": []}
        self.requests: list[Recorded] = []
        self.failures: list[Failure] = []
        self.bucket_used = 1
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def fail_next(self, *, status: int = 429, headers: dict[str, str] | None = None, path_contains: str = "",
                  times: int = 1) -> None:
        with self.lock:
            self.failures.append(Failure(status, dict(headers or {}), path_contains, times))

    def __enter__(self) -> FakeShopPlatforms:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                fake._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    # dispatch -------------------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        split = urllib.parse.urlsplit(handler.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(split.query).items()}
        headers = {k.lower(): v for k, v in handler.headers.items()}
        with self.lock:
            self.requests.append(Recorded("GET", split.path, query, headers))
            failure = next((f for f in self.failures if f.path_contains in split.path and f.times > 0), None)
            if failure:
                failure.times -= 1
        if failure:
            return self._send(handler, failure.status, {"errors": "fake failure"}, failure.headers)
        path = split.path
        if path.startswith("/admin/api/"):
            return self._shopify(handler, path.split("/", 4)[4], query, headers)
        if path.startswith("/wp-json/wc/v3/"):
            return self._woo(handler, path[len("/wp-json/wc/v3/"):], query, headers)
        parts = path.strip("/").split("/")
        if len(parts) >= 3:
            return self._nuvemshop(handler, parts[1], "/".join(parts[2:]), query, headers)
        self._send(handler, 404, {"error": "unknown path"})

    def _send(self, handler, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _since(self, platform: str, field: str, value: str | None) -> list[dict[str, Any]]:
        rows = self.orders[platform]
        if value:
            since = _time(value)
            rows = [o for o in rows if _time(o[field]) >= since]
        return sorted(rows, key=lambda o: _time(o[field]))

    # Shopify --------------------------------------------------------------------------------------

    def _shopify(self, handler, path: str, query: dict[str, str], headers: dict[str, str]) -> None:
        limit_header = {"X-Shopify-Shop-Api-Call-Limit": f"{self.bucket_used}/40"}
        if headers.get("x-shopify-access-token") != SHOPIFY_TOKEN:
            return self._send(handler, 401, {"errors": "[API] Invalid API key or access token (unrecognized login or "
                                                       "wrong password)"})
        if path == "shop.json":
            return self._send(handler, 200, {"shop": {"name": "Loja Fake"}}, limit_header)
        if path.startswith("orders/") and path.endswith(".json"):
            order_id = path[len("orders/"):-len(".json")]
            found = next((o for o in self.orders["shopify"] if str(o["id"]) == order_id), None)
            if found is None:
                return self._send(handler, 404, {"errors": "Not Found"})
            return self._send(handler, 200, {"order": found}, limit_header)
        if path != "orders.json":
            return self._send(handler, 404, {"errors": "Not Found"})
        limit = int(query.get("limit", 50))
        if "page_info" in query:
            state = json.loads(base64.urlsafe_b64decode(query["page_info"]))
            if set(query) - {"page_info", "limit", "fields"}:
                return self._send(handler, 400, {"errors": {"page_info": "cannot be combined with other filters"}})
        else:
            state = {"since": query.get("updated_at_min"), "offset": 0}
        rows = self._since("shopify", "updated_at", state["since"])
        page = rows[state["offset"]:state["offset"] + limit]
        extra = dict(limit_header)
        if state["offset"] + limit < len(rows):
            token = base64.urlsafe_b64encode(json.dumps({**state, "offset": state["offset"] + limit}).encode()).decode()
            extra["Link"] = f'<{self.base_url}/admin/api/x/orders.json?limit={limit}&page_info={token}>; rel="next"'
        self._send(handler, 200, {"orders": page}, extra)

    # WooCommerce ----------------------------------------------------------------------------------

    def _woo(self, handler, path: str, query: dict[str, str], headers: dict[str, str]) -> None:
        expected = "Basic " + base64.b64encode(f"{WOO_KEY}:{WOO_SECRET}".encode()).decode()
        if headers.get("authorization") != expected:
            return self._send(handler, 401, {"code": "woocommerce_rest_cannot_view",
                                             "message": "Sorry, you cannot list resources.", "data": {"status": 401}})
        if path.startswith("orders/"):
            found = next((o for o in self.orders["woocommerce"] if str(o["id"]) == path[len("orders/"):]), None)
            if found is None:
                return self._send(handler, 404, {"code": "woocommerce_rest_shop_order_invalid_id"})
            return self._send(handler, 200, found)
        if path != "orders":
            return self._send(handler, 404, {"code": "rest_no_route"})
        per_page, page = int(query.get("per_page", 10)), int(query.get("page", 1))
        rows = self._since("woocommerce", "date_modified_gmt", query.get("modified_after"))
        pages = max(1, -(-len(rows) // per_page))
        self._send(handler, 200, rows[(page - 1) * per_page:page * per_page],
                   {"X-WP-Total": str(len(rows)), "X-WP-TotalPages": str(pages)})

    # Nuvemshop ------------------------------------------------------------------------------------

    def _nuvemshop(self, handler, store_id: str, path: str, query: dict[str, str], headers: dict[str, str]) -> None:
        if headers.get("authentication") != f"bearer {NUVEM_TOKEN}" or store_id != NUVEM_STORE_ID:
            return self._send(handler, 401, {"code": 401, "message": "Unauthorized", "description": "Invalid access token"})
        limit_headers = {"x-rate-limit-limit": "40", "x-rate-limit-remaining": str(40 - self.bucket_used),
                         "x-rate-limit-reset": "500"}
        if path == "store":
            return self._send(handler, 200, {"id": int(store_id), "name": {"pt": "Loja Nuvem Fake"}}, limit_headers)
        if path.startswith("orders/"):
            found = next((o for o in self.orders["nuvemshop"] if str(o["id"]) == path[len("orders/"):]), None)
            if found is None:
                return self._send(handler, 404, {"code": 404, "message": "Not Found"})
            return self._send(handler, 200, found, limit_headers)
        if path != "orders":
            return self._send(handler, 404, {"code": 404, "message": "Not Found"})
        per_page, page = int(query.get("per_page", 30)), int(query.get("page", 1))
        rows = self._since("nuvemshop", "updated_at", query.get("updated_at_min"))
        chunk = rows[(page - 1) * per_page:page * per_page]
        if not chunk and page > 1:
            return self._send(handler, 404, {"code": 404, "message": "Not Found",
                                             "description": f"Last page is {max(1, -(-len(rows) // per_page))}"})
        extra = dict(limit_headers, **{"x-total-count": str(len(rows))})
        if page * per_page < len(rows):
            extra["Link"] = f'<{self.base_url}/orders?page={page + 1}>; rel="next"'
        self._send(handler, 200, chunk, extra)
