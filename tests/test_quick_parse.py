"""The client reads a server's stream exactly as openai's own reading does, only faster.

:class:`~research.providers.client.QuickParseOpenAI` validates each chunk with
pydantic's compiled validator and falls back to openai's lenient reading for
anything that does not validate. Real local servers send such chunks: a
``finish_reason`` of their own, a missing field, extra keys (llama.cpp's
``timings``), event types the SDK has never heard of. Each test streams from a
server on 127.0.0.1 through both clients and compares what they read.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionChunk

from research.providers.client import QuickParseOpenAI
from tests.support.local_server import LocalServer, QuietHandler

CHUNK = {"id": "c1", "object": "chat.completion.chunk", "created": 1700000000, "model": "m"}
CHAT_FRAMES = [
    {**CHUNK, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]},
    {**CHUNK, "choices": [{"index": 0, "delta": {"content": "Market "}, "finish_reason": None}]},
    {"id": "c1", "object": "chat.completion.chunk", "model": "m",  # no "created"
     "choices": [{"index": 0, "delta": {"content": "size"}, "finish_reason": None}]},
    {**CHUNK, "choices": [{"index": 0, "delta": {}, "finish_reason": "eos"}],  # a finish reason of its own
     "timings": {"predicted_ms": 12.5}},  # llama.cpp's extra key
]
RESPONSE_FRAMES = [
    {"type": "response.output_text.delta", "item_id": "m1", "output_index": 0, "content_index": 0,
     "delta": "Market ", "sequence_number": 1, "logprobs": []},
    {"type": "response.vendor_progress", "sequence_number": 2, "percent": 50},  # unknown to the SDK
    {"type": "response.output_text.delta", "item_id": "m1", "output_index": 0, "content_index": 0,
     "delta": 7, "sequence_number": 3},  # a delta that is not text, and no logprobs
]


class _Frames(QuietHandler):
    def do_POST(self) -> None:  # noqa: N802 - the http.server hook
        self.rfile.read(int(self.headers["Content-Length"]))
        frames = CHAT_FRAMES if self.path.endswith("/chat/completions") else RESPONSE_FRAMES
        body = "".join(f"data: {json.dumps(frame)}\n\n" for frame in frames) + "data: [DONE]\n\n"
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class FramesServer(LocalServer):
    """Streams the same frames for every request."""

    handler = _Frames

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]  # type: ignore[union-attr]
        return f"http://{host}:{port}/v1"


async def _read(client_type: type[AsyncOpenAI], base_url: str, api: str) -> list[Any]:
    client = client_type(api_key="test", base_url=base_url, max_retries=0)
    try:
        if api == "chat":
            stream = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}],
                                                          stream=True)
        else:
            stream = await client.responses.create(model="m", input="hi", stream=True)
        return [item async for item in stream]
    finally:
        await client.close()


def test_a_chat_stream_with_a_local_servers_quirks_reads_as_openai_reads_it() -> None:
    with FramesServer() as server:
        quick = asyncio.run(_read(QuickParseOpenAI, server.base_url, "chat"))
        plain = asyncio.run(_read(AsyncOpenAI, server.base_url, "chat"))
    assert [type(chunk) for chunk in quick] == [ChatCompletionChunk] * 4
    assert [chunk.model_dump() for chunk in quick] == [chunk.model_dump() for chunk in plain]
    assert "".join(chunk.choices[0].delta.content or "" for chunk in quick) == "Market size"
    assert quick[-1].choices[0].finish_reason == "eos"
    assert quick[-1].model_extra == {"timings": {"predicted_ms": 12.5}}


def test_a_responses_stream_with_unknown_events_reads_as_openai_reads_it() -> None:
    with FramesServer() as server:
        quick = asyncio.run(_read(QuickParseOpenAI, server.base_url, "responses"))
        plain = asyncio.run(_read(AsyncOpenAI, server.base_url, "responses"))
    assert [type(event) for event in quick] == [type(event) for event in plain]
    assert [event.model_dump(warnings=False) for event in quick] == [event.model_dump(warnings=False) for event in plain]
    assert [getattr(event, "delta", None) for event in quick] == ["Market ", None, 7]
