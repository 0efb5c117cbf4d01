"""A search server for tests (stdlib only, 127.0.0.1): SearXNG's JSON API and Tavily's search API.

``GET /search?q=…&format=json`` answers like SearXNG and ``POST /search`` like Tavily (only with the
right ``Authorization: Bearer`` key). Results are configured per query; every request is recorded.
The server can be told to fail with an HTTP status, to send malformed JSON, or to hold every answer
until a :class:`threading.Event` is set (so a client's timeout fires first), or to answer after a fixed
``delay`` (for benchmarks). Nothing is ever logged.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.local_server import LocalServer, QuietHandler


@dataclass
class SearchRequest:
    """One request the server received."""

    api: str  # "searxng" or "tavily"
    query: str
    params: dict[str, str]  # the URL's query parameters
    body: dict | None  # the parsed JSON body (Tavily)
    authorization: str | None
    headers: dict[str, str] = field(default_factory=dict)


def result(title: str, url: str, content: str = "", published: str | None = None) -> dict:
    """One configured result, in the server's neutral form (each API renders its own field names)."""
    return {"title": title, "url": url, "content": content, "published": published}


class _Handler(QuietHandler):
    def _send(self, status: int, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _answer(self, req: SearchRequest, ok: bool, render: Any) -> None:
        owner = self.server.owner
        owner._record(req)
        if owner.delay > 0:
            time.sleep(owner.delay)
        if owner.hold is not None:
            owner.hold.wait()
            if owner._stopped.is_set():
                self.close_connection = True
                return
        try:
            if not ok:
                return self._send(401, json.dumps({"detail": {"error": "Unauthorized: missing or invalid API key."}})
                                  .encode())
            if owner.status != 200:
                return self._send(owner.status, b'{"error": "stub failure"}')
            if owner.malformed:
                return self._send(200, b'{"results": [{"title": "cut off')
            self._send(200, json.dumps(render(owner.results.get(req.query, owner.default))).encode())
        except OSError:
            self.close_connection = True

    def do_GET(self) -> None:  # noqa: N802
        """SearXNG: ``/search?q=…&format=json``."""
        url = urlsplit(self.path)
        params = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path.rstrip("/") != "/search" or params.get("format") != "json":
            return self._send(403 if url.path.rstrip("/") == "/search" else 404, b"{}")
        req = SearchRequest("searxng", params.get("q", ""), params, None, self.headers.get("Authorization"),
                            dict(self.headers.items()))

        def render(rows: list[dict]) -> dict:
            return {"query": req.query, "number_of_results": len(rows), "answers": [], "corrections": [],
                    "infoboxes": [], "suggestions": [], "unresponsive_engines": [],
                    "results": [{"url": r["url"], "title": r["title"], "content": r.get("content", ""),
                                 "publishedDate": r.get("published"), "engine": "stub", "engines": ["stub"],
                                 "score": 1.0, "category": "general"} for r in rows]}

        self._answer(req, True, render)

    def do_POST(self) -> None:  # noqa: N802
        """Tavily: ``POST /search`` with a JSON body and ``Authorization: Bearer <key>``."""
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if urlsplit(self.path).path.rstrip("/") != "/search":
            return self._send(404, b"{}")
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return self._send(400, b'{"detail": {"error": "invalid body"}}')
        auth = self.headers.get("Authorization")
        req = SearchRequest("tavily", str(body.get("query", "")), {}, body, auth, dict(self.headers.items()))
        limit = body.get("max_results") if isinstance(body.get("max_results"), int) else 5

        def render(rows: list[dict]) -> dict:
            return {"query": req.query, "answer": None, "images": [], "follow_up_questions": None,
                    "response_time": 0.01,
                    "results": [{"title": r["title"], "url": r["url"], "content": r.get("content", ""), "score": 0.9,
                                 "raw_content": None, **({"published_date": r["published"]} if r.get("published") else {})}
                                for r in rows[:limit]]}

        self._answer(req, auth == f"Bearer {self.server.owner.tavily_key}", render)


class SearchServer(LocalServer):
    """SearXNG- and Tavily-compatible search server in a daemon thread; use it with ``with``."""

    handler = _Handler
    thread_name = "stub-search-server"

    def __init__(self, results: dict[str, list[dict]] | None = None, *, default: list[dict] | None = None,
                 tavily_key: str = "tvly-test-key") -> None:
        super().__init__()
        self.results = dict(results or {})
        """Results per query (see :func:`result`); other queries get ``default``."""
        self.default = list(default or [])
        self.tavily_key = tavily_key
        self.status = 200
        """Answer every request with this HTTP status (e.g. 502) instead of results."""
        self.malformed = False
        """Answer with JSON that is cut off."""
        self.hold: threading.Event | None = None
        """When set to an Event, every answer waits until the Event is set (or the server stops)."""
        self.delay = 0.0
        """Seconds every answer takes (each request sleeps in its own thread, so requests overlap)."""
        self.arrived = threading.Event()
        """Set when a request arrives."""
        self._lock = threading.Lock()
        self._requests: list[SearchRequest] = []
        self._stopped = threading.Event()

    def _release(self) -> None:
        """Release held answers."""
        self._stopped.set()
        if self.hold is not None:
            self.hold.set()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (once started)."""
        return self.origin

    @property
    def requests(self) -> list[SearchRequest]:
        """A copy of the recorded requests, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def queries(self) -> list[str]:
        """The queries received, in arrival order."""
        return [r.query for r in self.requests]

    def _record(self, req: SearchRequest) -> None:
        with self._lock:
            self._requests.append(req)
        self.arrived.set()
