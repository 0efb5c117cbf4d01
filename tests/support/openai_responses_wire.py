"""Responses API wire format of the stub server: Response objects and their SSE stream events.

Split from :mod:`tests.support.openai_wire` (request/reply types, Chat Completions). Covers plain
answers, refusals (a ``refusal`` content part) and answers cut off at ``max_output_tokens``
(``status: "incomplete"``; the stream ends with ``response.incomplete``), and hosted web search: a reply's
``web_sources`` become a ``web_search_call`` output item before the message and ``url_citation`` annotations
on its text.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from tests.support.openai_wire import Frames, Reply, StubRequest, text_chunks, tokens


def _citation_span(text: str, url: str) -> tuple[int, int]:
    """Where a citation of ``url`` sits in ``text``: its Markdown link ``[title](url)``, the bare URL, or the end."""
    i = text.find(url)
    if i < 0:
        return len(text), len(text)
    start = text.rfind("[", 0, i) if text[max(i - 2, 0):i] == "](" else -1
    end = i + len(url) + (text[i + len(url):i + len(url) + 1] == ")")
    return (start if start >= 0 else i), end


def _annotations(reply: Reply) -> list[dict]:
    """``url_citation`` annotations of the reply's cited web sources."""
    return [{"type": "url_citation", "url": s["url"], "title": s.get("title", ""),
             "start_index": (span := _citation_span(reply.text, s["url"]))[0], "end_index": span[1]}
            for s in reply.web_sources if s.get("cited", True)]


def _part(reply: Reply, text: str, done: bool = True) -> dict:
    """The message's content part holding ``text``: an ``output_text`` or, for a refusal, a ``refusal``."""
    if reply.refusal is not None:
        return {"type": "refusal", "refusal": text}
    return {"type": "output_text", "text": text, "annotations": _annotations(reply) if done else [], "logprobs": []}


def _message(item_id: str, reply: Reply, done: bool) -> dict:
    """The output message item; not ``done`` means "just started, no content yet"."""
    status = ("incomplete" if reply.finish == "length" else "completed") if done else "in_progress"
    return {"id": item_id, "type": "message", "role": "assistant", "status": status,
            "content": [_part(reply, reply.text)] if done else []}


def _search_call(req: StubRequest, reply: Reply, item_id: str, done: bool) -> dict:
    """The ``web_search_call`` output item; its sources only when the request asked to include them."""
    action: dict[str, Any] = {"type": "search", "query": req.user_text[:200]}
    if "web_search_call.action.sources" in (req.body.get("include") or []):
        action["sources"] = [{"type": "url", "url": s["url"]} for s in reply.web_sources]
    return {"id": item_id, "type": "web_search_call", "status": "completed" if done else "in_progress",
            "action": action}


def _output(req: StubRequest, reply: Reply, mid: str, wid: str) -> list[dict]:
    """A finished response's output items: the web search call (if any), then the message."""
    searched = [_search_call(req, reply, wid, True)] if reply.web_sources else []
    return [*searched, _message(mid, reply, True)]


def response_object(req: StubRequest, reply: Reply, done: bool, rid: str = "", mid: str = "",
                    created: float = 0.0, wid: str = "") -> dict:
    """A Response object; output, usage and completed_at only when ``done``.

    A finished response cut off at the limit (``reply.finish == "length"``) has ``status: "incomplete"``
    and ``incomplete_details: {"reason": "max_output_tokens"}`` (and no ``completed_at``).
    """
    b, (i, o) = req.body, tokens(req, reply)
    cut = done and reply.finish == "length"
    usage = {"input_tokens": i, "output_tokens": o, "total_tokens": i + o,
             "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
             "output_tokens_details": {"reasoning_tokens": 0}}
    return {"id": rid or f"resp_{uuid.uuid4().hex}", "object": "response", "created_at": created or time.time(),
            "status": ("incomplete" if cut else "completed") if done else "in_progress",
            "completed_at": time.time() if done and not cut else None, "model": req.model,
            "output": _output(req, reply, mid or f"msg_{uuid.uuid4().hex}", wid or f"ws_{uuid.uuid4().hex}")
            if done else [],
            "usage": usage if done and reply.report_usage else None, "error": None,
            "incomplete_details": {"reason": "max_output_tokens"} if cut else None,
            "instructions": b.get("instructions"), "metadata": b.get("metadata") or {},
            "parallel_tool_calls": b.get("parallel_tool_calls", True), "tool_choice": b.get("tool_choice", "auto"),
            "tools": b.get("tools") or [], "temperature": b.get("temperature", 1.0), "top_p": b.get("top_p", 1.0),
            "max_output_tokens": req.max_tokens,
            "text": b.get("text") or {"format": {"type": "text"}}, "truncation": "disabled"}


def responses_events(req: StubRequest, reply: Reply) -> Frames:
    """SSE frames of a streamed Responses API call, as (kind, frame)."""
    rid, mid, created, seq = f"resp_{uuid.uuid4().hex}", f"msg_{uuid.uuid4().hex}", time.time(), iter(range(1 << 30))
    wid, searched = f"ws_{uuid.uuid4().hex}", bool(reply.web_sources)
    at = {"item_id": mid, "output_index": int(searched), "content_index": 0}
    kind = "refusal" if reply.refusal is not None else "output_text"
    extra: dict[str, Any] = {} if reply.refusal is not None else {"logprobs": []}

    def ev(type_: str, **data: Any) -> str:
        return f"event: {type_}\ndata: {json.dumps({'type': type_, 'sequence_number': next(seq), **data})}\n\n"

    for type_ in ("response.created", "response.in_progress"):
        yield "head", ev(type_, response=response_object(req, reply, False, rid, mid, created, wid))
    if searched:
        yield "head", ev("response.output_item.added", output_index=0, item=_search_call(req, reply, wid, False))
        for step in ("in_progress", "searching", "completed"):
            yield "head", ev(f"response.web_search_call.{step}", output_index=0, item_id=wid)
        yield "head", ev("response.output_item.done", output_index=0, item=_search_call(req, reply, wid, True))
    yield "head", ev("response.output_item.added", output_index=at["output_index"], item=_message(mid, reply, False))
    yield "head", ev("response.content_part.added", **at, part=_part(reply, "", done=False))
    for piece in text_chunks(reply.text):
        yield "text", ev(f"response.{kind}.delta", **at, delta=piece, **extra)
    if kind == "output_text":
        for n, annotation in enumerate(_annotations(reply)):
            yield "tail", ev("response.output_text.annotation.added", **at, annotation_index=n, annotation=annotation)
    yield "tail", ev(f"response.{kind}.done", **at, **{"refusal" if kind == "refusal" else "text": reply.text}, **extra)
    yield "tail", ev("response.content_part.done", **at, part=_part(reply, reply.text))
    yield "tail", ev("response.output_item.done", output_index=at["output_index"], item=_message(mid, reply, True))
    final = "response.incomplete" if reply.finish == "length" else "response.completed"
    yield "tail", ev(final, response=response_object(req, reply, True, rid, mid, created, wid))
