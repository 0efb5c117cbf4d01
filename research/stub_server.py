"""A small OpenAI-compatible HTTP server for tests and benchmarks (stdlib only).

Serves ``GET /v1/models``, ``POST /v1/chat/completions`` and ``POST /v1/responses`` (streamed
or not). Every API request is recorded as a :class:`StubRequest` and answered as described by
the :class:`Reply` that a user-supplied responder returns. Nothing is ever logged.
"""

from __future__ import annotations

import json
import re
import select
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterator, Literal, Sequence

__all__ = ["Reply", "Responder", "StubOpenAIServer", "StubRequest"]

Api = Literal["chat_completions", "responses"]


@dataclass
class StubRequest:
    """One request the server received."""

    api: Api
    stream: bool
    model: str
    body: dict  # parsed JSON body
    schema_title: str | None  # title of the JSON schema in the response format, if any
    response_format_type: str | None  # "json_schema" / "json_object" / "text" / None
    system: str  # system/developer instructions text
    user_text: str  # concatenated text of user messages / input items
    authorization: str | None  # the Authorization header value
    started_at: float  # time.monotonic() on arrival


@dataclass
class Reply:
    """What the server does for one request."""

    content: str = ""  # assistant message text (for status 200)
    delay: float = 0.0  # seconds to wait before answering (streams: before the first chunk)
    chunk_delay: float = 0.0  # streams only: the text chunks come this many seconds apart
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)  # e.g. {"Retry-After": "1"}
    error_body: dict | None = None  # JSON body for non-200 (default: OpenAI-style error)
    hang: bool = False  # never answer until the server stops or the client disconnects
    drop: bool = False  # close the connection without any HTTP response
    input_tokens: int = 50
    output_tokens: int | None = None  # default: len(content) // 4 + 1


Responder = Callable[[StubRequest], Reply]

_PATHS: dict[str, Api] = {"/v1/chat/completions": "chat_completions", "/v1/responses": "responses"}
_ERROR_KINDS = {400: ("invalid_request_error", "bad_request"), 401: ("invalid_request_error", "invalid_api_key"),
                404: ("invalid_request_error", "not_found"), 429: ("requests", "rate_limit_exceeded"),
                500: ("server_error", "internal_error"), 503: ("server_error", "overloaded")}


def _error(message: str, type_: str, code: str | None) -> dict:
    return {"error": {"message": message, "type": type_, "code": code, "param": None}}


def _dig(d: Any, *keys: str) -> Any:
    for k in keys:
        d = d.get(k) if isinstance(d, dict) else None
    return d


def _text_of(content: Any) -> str:
    """Flatten message content (a string, a list of text parts, or a list of messages)."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    texts = (p["text"] if isinstance(p.get("text"), str) else _text_of(p.get("content"))
             for p in content if isinstance(p, dict))
    return "\n".join(t for t in texts if t)


def _parse(api: Api, body: dict, auth: str | None) -> StubRequest:
    """Build a :class:`StubRequest` from a parsed JSON body."""
    system: list[str] = []
    user: list[str] = []
    if api == "chat_completions":
        fmt, items = body.get("response_format"), body.get("messages") or []
        schema = _dig(fmt, "json_schema", "schema")
    else:
        fmt, items = _dig(body, "text", "format"), body.get("input") or []
        schema = _dig(fmt, "schema")
        if body.get("instructions"):
            system.append(_text_of(body["instructions"]))
        if isinstance(items, str):
            user, items = [items], []
    for m in items if isinstance(items, list) else []:
        role = m.get("role") if isinstance(m, dict) else None
        if role in ("system", "developer", "user"):
            (user if role == "user" else system).append(_text_of(m.get("content")))
    title, fmt_type = _dig(schema, "title"), _dig(fmt, "type")
    return StubRequest(api=api, stream=bool(body.get("stream")), model=str(body.get("model", "")),
                       body=body, schema_title=title if isinstance(title, str) else None,
                       response_format_type=fmt_type if isinstance(fmt_type, str) else None,
                       system="\n".join(system), user_text="\n".join(user), authorization=auth,
                       started_at=time.monotonic())


def text_chunks(text: str) -> list[str]:
    """Split text into small word-ish pieces of at most 8 characters."""
    return [w[i:i + 8] for w in re.findall(r"\s*\S+\s*|\s+", text) for i in range(0, len(w), 8)]


def _tokens(reply: Reply) -> tuple[int, int]:
    out = reply.output_tokens if reply.output_tokens is not None else len(reply.content) // 4 + 1
    return reply.input_tokens, out


def _chat_usage(reply: Reply) -> dict:
    i, o = _tokens(reply)
    return {"prompt_tokens": i, "completion_tokens": o, "total_tokens": i + o,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}


def _chat_json(req: StubRequest, reply: Reply) -> dict:
    """A non-streamed ChatCompletion object."""
    message = {"role": "assistant", "content": reply.content, "refusal": None, "annotations": []}
    return {"id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion", "created": int(time.time()),
            "model": req.model, "system_fingerprint": None, "usage": _chat_usage(reply),
            "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}]}


def _chat_events(req: StubRequest, reply: Reply) -> Iterator[tuple[bool, str]]:
    """SSE frames of a streamed chat completion, as (is_text_chunk, frame)."""
    base = {"id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion.chunk",
            "created": int(time.time()), "model": req.model, "system_fingerprint": None}
    usage = bool(_dig(req.body, "stream_options", "include_usage"))

    def frame(delta: dict | None, finish: str | None = None, **extra: Any) -> str:
        choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]
        chunk = {**base, "choices": choices, **({"usage": None} if usage else {}), **extra}
        return f"data: {json.dumps(chunk)}\n\n"

    yield False, frame({"role": "assistant", "content": "", "refusal": None})
    for piece in text_chunks(reply.content):
        yield True, frame({"content": piece})
    yield False, frame({}, "stop")
    if usage:
        yield False, frame(None, usage=_chat_usage(reply))
    yield False, "data: [DONE]\n\n"


def _message(item_id: str, text: str | None) -> dict:
    """A Responses output message item; ``text=None`` means "just started, no content yet"."""
    content = [] if text is None else [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]
    return {"id": item_id, "type": "message", "role": "assistant", "content": content,
            "status": "in_progress" if text is None else "completed"}


def _response_obj(req: StubRequest, reply: Reply, done: bool, rid: str = "", mid: str = "",
                  created: float = 0.0) -> dict:
    """A Response object; output, usage and completed_at only when ``done``."""
    b, (i, o) = req.body, _tokens(reply)
    usage = {"input_tokens": i, "output_tokens": o, "total_tokens": i + o,
             "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
             "output_tokens_details": {"reasoning_tokens": 0}}
    return {"id": rid or f"resp_{uuid.uuid4().hex}", "object": "response", "created_at": created or time.time(),
            "status": "completed" if done else "in_progress", "completed_at": time.time() if done else None,
            "model": req.model, "output": [_message(mid or f"msg_{uuid.uuid4().hex}", reply.content)] if done else [],
            "usage": usage if done else None, "error": None, "incomplete_details": None,
            "instructions": b.get("instructions"), "metadata": b.get("metadata") or {},
            "parallel_tool_calls": b.get("parallel_tool_calls", True), "tool_choice": b.get("tool_choice", "auto"),
            "tools": b.get("tools") or [], "temperature": b.get("temperature", 1.0), "top_p": b.get("top_p", 1.0),
            "text": b.get("text") or {"format": {"type": "text"}}, "truncation": "disabled"}


def _responses_events(req: StubRequest, reply: Reply) -> Iterator[tuple[bool, str]]:
    """SSE frames of a streamed Responses API call, as (is_text_chunk, frame)."""
    rid, mid, created, seq = f"resp_{uuid.uuid4().hex}", f"msg_{uuid.uuid4().hex}", time.time(), iter(range(1 << 30))
    at = {"item_id": mid, "output_index": 0, "content_index": 0}
    part = {"type": "output_text", "annotations": [], "logprobs": []}

    def ev(type_: str, **data: Any) -> str:
        return f"event: {type_}\ndata: {json.dumps({'type': type_, 'sequence_number': next(seq), **data})}\n\n"

    for type_ in ("response.created", "response.in_progress"):
        yield False, ev(type_, response=_response_obj(req, reply, False, rid, mid, created))
    yield False, ev("response.output_item.added", output_index=0, item=_message(mid, None))
    yield False, ev("response.content_part.added", **at, part={**part, "text": ""})
    for piece in text_chunks(reply.content):
        yield True, ev("response.output_text.delta", **at, delta=piece, logprobs=[])
    yield False, ev("response.output_text.done", **at, text=reply.content, logprobs=[])
    yield False, ev("response.content_part.done", **at, part={**part, "text": reply.content})
    yield False, ev("response.output_item.done", output_index=0, item=_message(mid, reply.content))
    yield False, ev("response.completed", response=_response_obj(req, reply, True, rid, mid, created))


class _Server(ThreadingHTTPServer):
    daemon_threads, block_on_close, allow_reuse_address, request_queue_size = True, False, True, 512
    stub: StubOpenAIServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay silent: never print tracebacks."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # many small SSE writes: avoid Nagle / delayed-ACK stalls
    server: _Server
    _counted = False

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Never log anything (requests may carry secrets)."""

    def setup(self) -> None:
        super().setup()
        self.server.stub._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        self.server.stub._track(self.connection, False)

    def _release(self) -> None:
        """Leave the in-flight count once; done just before the final write, so a client that has
        read a complete response always observes the decrement."""
        if self._counted:
            self._counted = False
            self.server.stub._leave()

    def _send_json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        for k, v in {"Content-Type": "application/json", "Content-Length": str(len(data)), **(headers or {})}.items():
            self.send_header(k, v)
        self._release()
        self.end_headers()
        self.wfile.write(data)

    def _wait(self, seconds: float | None) -> bool:
        """Wait ``seconds`` (None: forever); False as soon as the server stops or the client leaves."""
        stop, sock = self.server.stub._stop_event, self.connection
        deadline = None if seconds is None else time.monotonic() + seconds
        while True:
            left = 0.05 if deadline is None else min(0.05, deadline - time.monotonic())
            if left <= 0:
                return not stop.is_set()
            if stop.wait(left):
                return False
            try:
                if select.select([sock], [], [], 0)[0] and not sock.recv(1, socket.MSG_PEEK):
                    return False
            except OSError:
                return False

    def do_GET(self) -> None:  # noqa: N802
        """Serve the model list; anything else is 404."""
        if self.path.split("?")[0].rstrip("/") != "/v1/models":
            return self._send_json(404, _error(f"Unknown path {self.path}", "invalid_request_error", "not_found"))
        models = [{"id": m, "object": "model", "created": 0, "owned_by": "stub"} for m in self.server.stub.model_ids]
        self._send_json(200, {"object": "list", "data": models})

    def do_POST(self) -> None:  # noqa: N802
        """Handle chat completions / responses requests; anything else is 404."""
        api = _PATHS.get(self.path.split("?")[0].rstrip("/"))
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if api is None:
            return self._send_json(404, _error(f"Unknown path {self.path}", "invalid_request_error", "not_found"))
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return self._send_json(400, _error("Body must be a JSON object", "invalid_request_error", None))
        stub, req = self.server.stub, _parse(api, body, self.headers.get("Authorization"))
        stub._record(req)
        self._counted = True
        try:
            try:
                reply = stub.responder(req)
            except Exception as exc:
                return self._send_json(500, _error(f"Responder raised {type(exc).__name__}", "server_error", None))
            if reply.drop or (reply.delay > 0 and not self._wait(reply.delay)) or (reply.hang and not self._wait(None)):
                self.close_connection = True
                return
            if reply.status != 200:
                kind, code = _ERROR_KINDS.get(reply.status, ("api_error", None))
                err = reply.error_body or _error(f"Stub error {reply.status}", kind, code)
                return self._send_json(reply.status, err, reply.headers)
            if not req.stream:
                obj = _chat_json(req, reply) if api == "chat_completions" else _response_obj(req, reply, True)
                return self._send_json(200, obj, reply.headers)
            self.send_response(200)
            for k, v in {"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                         "Connection": "close", **reply.headers}.items():
                self.send_header(k, v)
            self.end_headers()
            self.close_connection = True  # the body ends when the connection closes
            events = list((_chat_events if api == "chat_completions" else _responses_events)(req, reply))
            # Text chunks are due at fixed times from the start, so sleep overshoot never accumulates.
            start, texts_sent = time.monotonic(), 0
            for n, (is_text, frame) in enumerate(events, 1):
                if is_text and reply.chunk_delay > 0:
                    texts_sent += 1
                    due = start + texts_sent * reply.chunk_delay - time.monotonic()
                    if due > 0 and not self._wait(due):
                        return
                if n == len(events):
                    self._release()
                self.wfile.write(frame.encode())
        except OSError:
            self.close_connection = True
        finally:
            self._release()


class StubOpenAIServer:
    """OpenAI-compatible stub server running in a daemon thread.

    ``requests``, ``in_flight`` and ``max_in_flight`` cover the two POST APIs only (not
    ``GET /v1/models``, unknown paths or malformed bodies).
    """

    def __init__(self, responder: Responder, *, model_ids: Sequence[str] = ("stub-model",),
                 host: str = "127.0.0.1", port: int = 0) -> None:
        """Create (but do not start) a server; ``port=0`` picks a free port in :meth:`start`."""
        self.responder = responder
        self.model_ids = list(model_ids)
        self._addr = (host, port)
        self._lock = threading.Lock()
        self._stop_event = threading.Event()
        self._requests: list[StubRequest] = []
        self._conns: set[socket.socket] = set()
        self._in_flight = self._max_in_flight = 0
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> StubOpenAIServer:
        """Bind and serve in a background daemon thread; returns ``self``."""
        if self._httpd is not None:
            raise RuntimeError("server already started")
        self._httpd = _Server(self._addr, _Handler)
        self._httpd.stub = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="stub-openai-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, release hanging/delayed handlers and close open connections. Idempotent."""
        self._stop_event.set()
        if self._httpd is None or self._thread is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(timeout=5)
        self._thread = None

    def __enter__(self) -> StubOpenAIServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT/v1`` (available once started)."""
        if self._httpd is None:
            raise RuntimeError("server not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    @property
    def requests(self) -> list[StubRequest]:
        """A copy of all recorded API requests, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def in_flight(self) -> int:
        """API requests being handled: from arrival until the response is written (the count drops
        just before the last write, so a client holding a complete response never sees it)."""
        with self._lock:
            return self._in_flight

    @property
    def max_in_flight(self) -> int:
        """High-water mark of :attr:`in_flight` since start or the last :meth:`reset_stats`."""
        with self._lock:
            return self._max_in_flight

    def reset_stats(self) -> None:
        """Forget recorded requests and reset ``max_in_flight`` to the current ``in_flight``."""
        with self._lock:
            self._requests.clear()
            self._max_in_flight = self._in_flight

    def _record(self, req: StubRequest) -> None:
        with self._lock:
            self._requests.append(req)
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            (self._conns.add if add else self._conns.discard)(conn)
