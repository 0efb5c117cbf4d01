"""A small OpenAI-compatible HTTP server for tests and benchmarks (stdlib only).

Serves ``GET /v1/models``, ``POST /v1/chat/completions`` and ``POST /v1/responses`` (streamed
or not), by default any number at once, or (``single_slot``) one at a time, cutting a running
stream short when another request waits, as llama-cpp-python's server does. Every API request is recorded as a :class:`StubRequest` and answered as described by
the :class:`Reply` that a user-supplied responder returns: an answer (plain, refused, or cut off
at the token limit), an error status, a delay, a hang, a dropped connection, or a stream that
stalls part-way. Nothing is ever logged.
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from collections.abc import Sequence
from typing import Any

from tests.support.local_server import LocalServer, QuietHandler
from tests.support.openai_responses_wire import response_object, responses_events
from tests.support.openai_wire import (
    API_PATHS,
    ERROR_KINDS,
    Reply,
    Responder,
    StubRequest,
    chat_completion,
    chat_events,
    error_body,
    parse_stub_request,
    text_chunks,
)

__all__ = ["Reply", "Responder", "StubOpenAIServer", "StubRequest", "text_chunks"]


class _Handler(QuietHandler):
    disable_nagle_algorithm = True  # many small SSE writes: avoid Nagle / delayed-ACK stalls
    _counted = False

    def setup(self) -> None:
        super().setup()
        self.server.owner._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        self.server.owner._track(self.connection, False)

    def _release(self) -> None:
        """Leave the in-flight count once; done just before the final write, so a client that has
        read a complete response always observes the decrement."""
        if self._counted:
            self._counted = False
            self.server.owner._leave()

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
        stop, sock = self.server.owner._stop_event, self.connection
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

    def _stream_head(self, reply: Reply) -> None:
        self.send_response(200)
        for k, v in {"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                     "Connection": "close", **reply.headers}.items():
            self.send_header(k, v)
        self.end_headers()
        self.close_connection = True  # the body ends when the connection closes

    def _take_slot(self, pings: bool) -> bool:
        """Single-slot mode: wait for the one slot, sending ``: ping`` comments meanwhile on a stream
        (as sse-starlette does); False when the server stops or the client leaves first."""
        stub = self.server.owner
        while not stub._try_slot(stub.ping_interval):
            if not self._wait(0):
                return False
            if pings:
                self.wfile.write(b": ping\n\n")
        return True

    def _answer(self, api: str, req: StubRequest, reply: Reply, head_sent: bool = False) -> None:
        """Answer 200: a JSON object, or the stream of the reply's events (cut short in single-slot mode
        when another request is waiting, like llama-cpp-python's server)."""
        stub = self.server.owner
        if not req.stream:
            obj = chat_completion(req, reply) if api == "chat_completions" else response_object(req, reply, True)
            return self._send_json(200, obj, reply.headers)
        if not head_sent:
            self._stream_head(reply)
        events = list((chat_events if api == "chat_completions" else responses_events)(req, reply))
        # Text chunks are due at fixed times from the start, so sleep overshoot never accumulates.
        start, texts_sent, stall_at = time.monotonic(), 0, _stall_index(events, reply.stall_after)
        for n, (kind, frame) in enumerate(events):
            if n == stall_at:  # stall: nothing more until the client leaves or the server stops
                self._wait(None)
                return
            if n > 0 and stub.single_slot and stub.waiting:  # another request waits: end here, unfinished
                stub._count_interruption()
                self._release()
                self.wfile.write(b"data: [DONE]\n\n")
                return
            if kind == "text" and reply.chunk_delay > 0:
                due = start + (texts_sent + 1) * reply.chunk_delay - time.monotonic()
                if due > 0 and not self._wait(due):
                    return
            texts_sent += kind == "text"
            if n == len(events) - 1:
                self._release()
            self.wfile.write(frame.encode())

    def do_GET(self) -> None:  # noqa: N802
        """Serve the model list; anything else is 404."""
        if self.path.split("?")[0].rstrip("/") != "/v1/models":
            return self._send_json(404, error_body(f"Unknown path {self.path}", "invalid_request_error", "not_found"))
        models = [{"id": m, "object": "model", "created": 0, "owned_by": "stub"} for m in self.server.owner.model_ids]
        self._send_json(200, {"object": "list", "data": models})

    def do_POST(self) -> None:  # noqa: N802
        """Handle chat completions / responses requests; anything else is 404."""
        api = API_PATHS.get(self.path.split("?")[0].rstrip("/"))
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if api is None:
            return self._send_json(404, error_body(f"Unknown path {self.path}", "invalid_request_error", "not_found"))
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return self._send_json(400, error_body("Body must be a JSON object", "invalid_request_error", None))
        stub, req = self.server.owner, parse_stub_request(api, body, self.headers.get("Authorization"))
        stub._record(req)
        self._counted = True
        try:
            try:
                reply = stub.responder(req)
            except Exception as exc:
                return self._send_json(500, error_body(f"Responder raised {type(exc).__name__}", "server_error", None))
            early = not stub.single_slot  # one slot: the wait is for the slot, the delay once it is taken
            if reply.drop or (early and reply.delay > 0 and not self._wait(reply.delay)) or \
                    (reply.hang and not self._wait(None)):
                self.close_connection = True
                return
            if reply.status != 200:
                kind, code = ERROR_KINDS.get(reply.status, ("api_error", None))
                err = reply.error_body or error_body(f"Stub error {reply.status}", kind, code)
                return self._send_json(reply.status, err, reply.headers)
            if not stub.single_slot:
                return self._answer(api, req, reply)
            if req.stream:
                self._stream_head(reply)
            if not self._take_slot(pings=req.stream):
                return
            try:
                if reply.delay > 0 and not self._wait(reply.delay):
                    return
                self._answer(api, req, reply, head_sent=req.stream)
            finally:
                stub._free_slot()
        except OSError:
            self.close_connection = True
        finally:
            self._release()


def _stall_index(events: list[tuple[str, str]], stall_after: int | None) -> int | None:
    """Index of the frame before which a stream with ``stall_after`` stops: the text chunk after the
    first ``stall_after`` ones, or (fewer chunks) the first frame after the text."""
    if stall_after is None:
        return None
    texts = [n for n, (kind, _) in enumerate(events) if kind == "text"]
    if stall_after < len(texts):
        return texts[stall_after]
    return next(n for n, (kind, _) in enumerate(events) if kind == "tail")


class StubOpenAIServer(LocalServer):
    """OpenAI-compatible stub server running in a daemon thread.

    ``requests``, ``in_flight`` and ``max_in_flight`` cover the two POST APIs only (not
    ``GET /v1/models``, unknown paths or malformed bodies).
    """

    handler = _Handler
    thread_name = "stub-openai-server"

    def __init__(self, responder: Responder, *, model_ids: Sequence[str] = ("stub-model",),
                 host: str = "127.0.0.1", port: int = 0, single_slot: bool = False, ping_interval: float = 15.0) -> None:
        """Create (but do not start) a server; ``port=0`` picks a free port in :meth:`start`.

        ``single_slot`` serves one request at a time like llama-cpp-python's server: a waiting streamed
        request gets its 200 and headers at once and ``: ping`` every ``ping_interval`` seconds, and a
        running stream is cut short (``data: [DONE]`` with no finish reason) when another request waits.
        """
        super().__init__(host, port)
        self.single_slot, self.ping_interval = single_slot, ping_interval
        self._slot = threading.Condition()
        self._slot_busy = False
        self._waiting = 0
        self.interruptions = 0
        """Streams cut short because another request was waiting (single-slot mode)."""
        self.responder = responder
        self.model_ids = list(model_ids)
        self._lock = threading.Lock()
        self._stop_event = threading.Event()
        self._requests: list[StubRequest] = []
        self._conns: set[socket.socket] = set()
        self._in_flight = self._max_in_flight = 0

    def _release(self) -> None:
        """Wake hanging and delayed handlers."""
        self._stop_event.set()

    def _after_close(self) -> None:
        """Close connections still open (streams the client has not finished reading)."""
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT/v1`` (available once started)."""
        return f"{self.origin}/v1"

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

    @property
    def waiting(self) -> int:
        """Requests waiting for the slot (single-slot mode)."""
        with self._slot:
            return self._waiting

    def _try_slot(self, timeout: float) -> bool:
        with self._slot:
            self._waiting += 1
            try:
                if not self._slot.wait_for(lambda: not self._slot_busy, timeout):
                    return False
                self._slot_busy = True
                return True
            finally:
                self._waiting -= 1

    def _free_slot(self) -> None:
        with self._slot:
            self._slot_busy = False
            self._slot.notify_all()

    def _count_interruption(self) -> None:
        with self._slot:
            self.interruptions += 1

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            (self._conns.add if add else self._conns.discard)(conn)
