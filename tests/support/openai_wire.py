"""Wire formats of the stub OpenAI-compatible server: requests as recorded, replies as JSON/SSE.

Split from :mod:`tests.support.openai_server` (the HTTP side) so each stays small. Builds Chat
Completions and Responses objects and stream events the way the ``openai`` client parses them.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

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

API_PATHS: dict[str, Api] = {"/v1/chat/completions": "chat_completions", "/v1/responses": "responses"}
ERROR_KINDS = {400: ("invalid_request_error", "bad_request"), 401: ("invalid_request_error", "invalid_api_key"),
                404: ("invalid_request_error", "not_found"), 429: ("requests", "rate_limit_exceeded"),
                500: ("server_error", "internal_error"), 503: ("server_error", "overloaded")}


def error_body(message: str, type_: str, code: str | None) -> dict:
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


def parse_stub_request(api: Api, body: dict, auth: str | None) -> StubRequest:
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


def chat_completion(req: StubRequest, reply: Reply) -> dict:
    """A non-streamed ChatCompletion object."""
    message = {"role": "assistant", "content": reply.content, "refusal": None, "annotations": []}
    return {"id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion", "created": int(time.time()),
            "model": req.model, "system_fingerprint": None, "usage": _chat_usage(reply),
            "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}]}


def chat_events(req: StubRequest, reply: Reply) -> Iterator[tuple[bool, str]]:
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


def response_object(req: StubRequest, reply: Reply, done: bool, rid: str = "", mid: str = "",
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


def responses_events(req: StubRequest, reply: Reply) -> Iterator[tuple[bool, str]]:
    """SSE frames of a streamed Responses API call, as (is_text_chunk, frame)."""
    rid, mid, created, seq = f"resp_{uuid.uuid4().hex}", f"msg_{uuid.uuid4().hex}", time.time(), iter(range(1 << 30))
    at = {"item_id": mid, "output_index": 0, "content_index": 0}
    part = {"type": "output_text", "annotations": [], "logprobs": []}

    def ev(type_: str, **data: Any) -> str:
        return f"event: {type_}\ndata: {json.dumps({'type': type_, 'sequence_number': next(seq), **data})}\n\n"

    for type_ in ("response.created", "response.in_progress"):
        yield False, ev(type_, response=response_object(req, reply, False, rid, mid, created))
    yield False, ev("response.output_item.added", output_index=0, item=_message(mid, None))
    yield False, ev("response.content_part.added", **at, part={**part, "text": ""})
    for piece in text_chunks(reply.content):
        yield True, ev("response.output_text.delta", **at, delta=piece, logprobs=[])
    yield False, ev("response.output_text.done", **at, text=reply.content, logprobs=[])
    yield False, ev("response.content_part.done", **at, part={**part, "text": reply.content})
    yield False, ev("response.output_item.done", output_index=0, item=_message(mid, reply.content))
    yield False, ev("response.completed", response=response_object(req, reply, True, rid, mid, created))
