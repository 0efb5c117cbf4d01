"""Wire formats of the stub OpenAI-compatible server: requests as recorded, replies as JSON/SSE.

Split from :mod:`tests.support.openai_server` (the HTTP side) so each stays small. This module holds
the request and reply types and the Chat Completions format; :mod:`tests.support.openai_responses_wire`
builds the Responses API objects and stream events. Both build what the ``openai`` client parses.
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
FrameKind = Literal["head", "text", "tail"]
"""Where an SSE frame sits in a stream: before the answer's text, one text chunk of it, or after it."""
Frames = Iterator[tuple[FrameKind, str]]


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
    max_tokens: int | None = None  # output-token limit: max_completion_tokens / max_tokens / max_output_tokens
    schema: dict | None = None  # the JSON schema object of the response format (also llama.cpp's JSON mode)


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
    report_usage: bool = True  # False: no usage in the answer, as llama.cpp-style servers stream it
    output_tokens: int | None = None  # default: the request's max_tokens if cut off, else len(text) // 4 + 1
    refusal: str | None = None  # the model refuses with this text (instead of ``content``)
    finish: Literal["stop", "length"] = "stop"  # "length": cut off at the output-token limit
    stall_after: int | None = None  # streams only: send this many text chunks, then hold the connection silently
    web_sources: list[dict] = field(default_factory=list)
    """Responses API only: pages a hosted web search found, each {"url", "title", "cited": True}. They come as a
    ``web_search_call`` output item before the message (its ``action.sources`` only when the request includes
    "web_search_call.action.sources", as with OpenAI), and the cited ones as ``url_citation`` annotations."""

    @property
    def text(self) -> str:
        """The text the model produced: the refusal if it refused, else the content."""
        return self.content if self.refusal is None else self.refusal


Responder = Callable[[StubRequest], Reply]

API_PATHS: dict[str, Api] = {"/v1/chat/completions": "chat_completions", "/v1/responses": "responses"}
ERROR_KINDS = {400: ("invalid_request_error", "bad_request"), 401: ("invalid_request_error", "invalid_api_key"),
               404: ("invalid_request_error", "not_found"), 429: ("requests", "rate_limit_exceeded"),
               500: ("server_error", "internal_error"), 503: ("server_error", "overloaded")}


def error_body(message: str, type_: str, code: str | None) -> dict:
    """An OpenAI-style error body."""
    return {"error": {"message": message, "type": type_, "code": code, "param": None}}


def dig(d: Any, *keys: str) -> Any:
    """``d[k1][k2]...``, or None as soon as a level is not a dict or lacks the key."""
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


def _int(*values: Any) -> int | None:
    """The first value that is an int (not a bool)."""
    return next((v for v in values if isinstance(v, int) and not isinstance(v, bool)), None)


def parse_stub_request(api: Api, body: dict, auth: str | None) -> StubRequest:
    """Build a :class:`StubRequest` from a parsed JSON body."""
    system: list[str] = []
    user: list[str] = []
    if api == "chat_completions":
        fmt, items = body.get("response_format"), body.get("messages") or []
        schema = dig(fmt, "json_schema", "schema")
        if not isinstance(schema, dict):  # llama.cpp-style JSON mode: {"type": "json_object", "schema": {...}}
            schema = dig(fmt, "schema")
        max_tokens = _int(body.get("max_completion_tokens"), body.get("max_tokens"))
    else:
        fmt, items = dig(body, "text", "format"), body.get("input") or []
        schema, max_tokens = dig(fmt, "schema"), _int(body.get("max_output_tokens"))
        if body.get("instructions"):
            system.append(_text_of(body["instructions"]))
        if isinstance(items, str):
            user, items = [items], []
    for m in items if isinstance(items, list) else []:
        role = m.get("role") if isinstance(m, dict) else None
        if role in ("system", "developer", "user"):
            (user if role == "user" else system).append(_text_of(m.get("content")))
    schema = schema if isinstance(schema, dict) else None
    title, fmt_type = dig(schema, "title"), dig(fmt, "type")
    return StubRequest(api=api, stream=bool(body.get("stream")), model=str(body.get("model", "")),
                       body=body, schema_title=title if isinstance(title, str) else None,
                       response_format_type=fmt_type if isinstance(fmt_type, str) else None,
                       system="\n".join(system), user_text="\n".join(user), authorization=auth,
                       started_at=time.monotonic(), max_tokens=max_tokens, schema=schema)


def text_chunks(text: str) -> list[str]:
    """Split text into small word-ish pieces of at most 8 characters."""
    return [w[i:i + 8] for w in re.findall(r"\s*\S+\s*|\s+", text) for i in range(0, len(w), 8)]


def tokens(req: StubRequest, reply: Reply) -> tuple[int, int]:
    """(input, output) token counts to report; a cut-off answer used up the request's limit."""
    if reply.output_tokens is not None:
        out = reply.output_tokens
    elif reply.finish == "length" and req.max_tokens is not None:
        out = req.max_tokens
    else:
        out = len(reply.text) // 4 + 1
    return reply.input_tokens, out


def _chat_usage(req: StubRequest, reply: Reply) -> dict:
    i, o = tokens(req, reply)
    return {"prompt_tokens": i, "completion_tokens": o, "total_tokens": i + o,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}


def chat_completion(req: StubRequest, reply: Reply) -> dict:
    """A non-streamed ChatCompletion object (a refusal has ``content: null``)."""
    refused = reply.refusal is not None
    message = {"role": "assistant", "content": None if refused else reply.content, "refusal": reply.refusal,
               "annotations": []}
    return {"id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion", "created": int(time.time()),
            "model": req.model, "system_fingerprint": None,
            "usage": _chat_usage(req, reply) if reply.report_usage else None,
            "choices": [{"index": 0, "message": message, "finish_reason": reply.finish, "logprobs": None}]}


def chat_events(req: StubRequest, reply: Reply) -> Frames:
    """SSE frames of a streamed chat completion, as (kind, frame)."""
    base = {"id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion.chunk",
            "created": int(time.time()), "model": req.model, "system_fingerprint": None}
    usage = bool(dig(req.body, "stream_options", "include_usage"))
    refused = reply.refusal is not None

    def frame(delta: dict | None, finish: str | None = None, **extra: Any) -> str:
        choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]
        chunk = {**base, "choices": choices, **({"usage": None} if usage else {}), **extra}
        return f"data: {json.dumps(chunk)}\n\n"

    yield "head", frame({"role": "assistant", "content": None if refused else "", "refusal": "" if refused else None})
    for piece in text_chunks(reply.text):
        yield "text", frame({"refusal" if refused else "content": piece})
    yield "tail", frame({}, reply.finish)
    if usage and reply.report_usage:
        yield "tail", frame(None, usage=_chat_usage(req, reply))
    yield "tail", "data: [DONE]\n\n"
