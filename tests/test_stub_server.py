"""Tests for tests.support.openai_server against the real openai client and the real Agents SDK."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator

import openai
import pytest
from agents import (
    Agent,
    ModelSettings,
    OpenAIChatCompletionsModel,
    OpenAIResponsesModel,
    Runner,
    set_tracing_disabled,
)
from pydantic import BaseModel

from tests.support.openai_server import Reply, StubOpenAIServer, StubRequest

set_tracing_disabled(True)

TEXT = "Hello there, this is a stub reply with several words."


class Answer(BaseModel):
    title: str
    score: int


@pytest.fixture
def make_server() -> Iterator[Callable[..., StubOpenAIServer]]:
    """Factory for started servers; all are stopped at teardown."""
    servers: list[StubOpenAIServer] = []

    def make(responder: Callable[[StubRequest], Reply], **kw: object) -> StubOpenAIServer:
        server = StubOpenAIServer(responder, **kw).start()  # type: ignore[arg-type]
        servers.append(server)
        return server

    yield make
    for s in servers:
        s.stop()


def client_for(server: StubOpenAIServer) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=server.base_url, api_key="test-key", max_retries=0)


def text_reply(req: StubRequest) -> Reply:
    return Reply(content=TEXT, input_tokens=11)


# --------------------------------------------------------------------------------------------
# Raw openai client
# --------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_models_list(make_server) -> None:
    server = make_server(text_reply, model_ids=("stub-a", "stub-b"))
    async with client_for(server) as client:
        page = await client.models.list()
    assert [m.id for m in page.data] == ["stub-a", "stub-b"]
    assert server.requests == []


@pytest.mark.asyncio
async def test_chat_completions_non_streamed(make_server) -> None:
    server = make_server(text_reply)
    async with client_for(server) as client:
        resp = await client.chat.completions.create(
            model="stub-model",
            messages=[
                {"role": "system", "content": "You are terse."},
                {"role": "developer", "content": [{"type": "text", "text": "No emojis."}]},
                {"role": "user", "content": "Say hi"},
            ],
        )
    assert resp.choices[0].message.content == TEXT
    assert resp.choices[0].finish_reason == "stop"
    assert resp.usage is not None
    assert resp.usage.prompt_tokens == 11
    assert resp.usage.completion_tokens == len(TEXT) // 4 + 1
    assert resp.usage.total_tokens == 11 + len(TEXT) // 4 + 1
    (req,) = server.requests
    assert req.api == "chat_completions" and not req.stream and req.model == "stub-model"
    assert req.system == "You are terse.\nNo emojis."
    assert req.user_text == "Say hi"
    assert req.authorization == "Bearer test-key"
    assert req.schema_title is None and req.response_format_type is None
    assert server.in_flight == 0 and server.max_in_flight == 1


@pytest.mark.asyncio
async def test_chat_completions_streamed(make_server) -> None:
    server = make_server(lambda r: Reply(content=TEXT, output_tokens=7))
    async with client_for(server) as client:
        stream = await client.chat.completions.create(
            model="stub-model",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [c async for c in stream]
        # Without include_usage there is no usage chunk.
        stream2 = await client.chat.completions.create(
            model="stub-model", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        chunks2 = [c async for c in stream2]
    assert chunks[0].choices[0].delta.role == "assistant"
    pieces = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(pieces) >= 3 and "".join(pieces) == TEXT
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 7
    assert all(c.usage is None for c in chunks2)
    assert "".join(c.choices[0].delta.content or "" for c in chunks2) == TEXT
    assert [r.stream for r in server.requests] == [True, True]
    assert server.in_flight == 0


@pytest.mark.asyncio
async def test_responses_non_streamed(make_server) -> None:
    server = make_server(text_reply)
    async with client_for(server) as client:
        resp = await client.responses.create(
            model="stub-model",
            instructions="Be brief.",
            input=[
                {"role": "developer", "content": "Extra rule."},
                {"role": "user", "content": [{"type": "input_text", "text": "Question?"}]},
            ],
        )
    assert resp.status == "completed"
    assert resp.output_text == TEXT
    assert resp.usage is not None
    assert resp.usage.input_tokens == 11 and resp.usage.output_tokens > 0
    assert resp.usage.total_tokens == resp.usage.input_tokens + resp.usage.output_tokens
    assert resp.usage.input_tokens_details.cached_tokens == 0
    assert resp.usage.output_tokens_details.reasoning_tokens == 0
    (req,) = server.requests
    assert req.api == "responses" and not req.stream
    assert req.system == "Be brief.\nExtra rule."
    assert req.user_text == "Question?"


@pytest.mark.asyncio
async def test_responses_streamed(make_server) -> None:
    server = make_server(text_reply)
    async with client_for(server) as client:
        stream = await client.responses.create(model="stub-model", input="hi", stream=True)
        events = [e async for e in stream]
    types = [e.type for e in events]
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert types[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert types[4 : 4 + len(deltas)] == ["response.output_text.delta"] * len(deltas)
    assert types[4 + len(deltas) :] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert len(deltas) >= 3 and "".join(deltas) == TEXT
    assert [e.sequence_number for e in events] == list(range(len(events)))
    final = events[-1].response
    assert final.status == "completed" and final.output_text == TEXT
    assert final.usage is not None and final.usage.output_tokens > 0
    assert server.requests[0].user_text == "hi" and server.requests[0].stream


@pytest.mark.asyncio
async def test_rate_limit_error_with_retry_after(make_server) -> None:
    server = make_server(lambda r: Reply(status=429, headers={"Retry-After": "1"}))
    async with client_for(server) as client:
        with pytest.raises(openai.RateLimitError) as info:
            await client.chat.completions.create(
                model="stub-model", messages=[{"role": "user", "content": "hi"}]
            )
        with pytest.raises(openai.RateLimitError):
            await client.responses.create(model="stub-model", input="hi", stream=True)
    assert info.value.status_code == 429
    assert info.value.response.headers["retry-after"] == "1"
    assert info.value.code == "rate_limit_exceeded"
    assert len(server.requests) == 2  # max_retries=0: no retries


@pytest.mark.asyncio
async def test_custom_error_body_and_responder_exception(make_server) -> None:
    def responder(req: StubRequest) -> Reply:
        if req.user_text == "boom":
            raise ValueError("responder bug")
        return Reply(status=400, error_body={"error": {"message": "nope", "type": "x", "code": "bad"}})

    server = make_server(responder)
    async with client_for(server) as client:
        with pytest.raises(openai.BadRequestError) as info:
            await client.responses.create(model="stub-model", input="hi")
        with pytest.raises(openai.InternalServerError):
            await client.responses.create(model="stub-model", input="boom")
    assert info.value.code == "bad" and info.value.message.endswith("nope")
    assert server.in_flight == 0


def test_unknown_path_is_404_json(make_server) -> None:
    server = make_server(text_reply)
    for method, data in (("GET", None), ("POST", b"{}")):
        request = urllib.request.Request(server.base_url + "/nope", data=data, method=method)
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(request, timeout=5)
        assert info.value.code == 404
        assert "error" in json.loads(info.value.read())
    assert server.requests == []


@pytest.mark.asyncio
async def test_concurrency_high_water_mark(make_server) -> None:
    server = make_server(lambda r: Reply(content="ok", delay=0.3))
    async with client_for(server) as client:
        t0 = time.monotonic()
        results = await asyncio.gather(
            *(client.responses.create(model="stub-model", input=f"q{i}") for i in range(3))
        )
        elapsed = time.monotonic() - t0
    assert [r.output_text for r in results] == ["ok"] * 3
    assert server.max_in_flight == 3
    assert server.in_flight == 0
    assert elapsed < 0.9  # ran concurrently, not one after another
    server.reset_stats()
    assert server.requests == [] and server.max_in_flight == 0


@pytest.mark.asyncio
async def test_chunk_delay_spreads_stream(make_server) -> None:
    server = make_server(lambda r: Reply(content="a b c d", chunk_delay=0.05))
    async with client_for(server) as client:
        t0 = time.monotonic()
        stream = await client.chat.completions.create(
            model="stub-model", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        text = "".join([c.choices[0].delta.content or "" async for c in stream])
    assert text == "a b c d"
    assert time.monotonic() - t0 >= 0.2  # four text chunks, each preceded by chunk_delay


@pytest.mark.asyncio
async def test_hang_does_not_block_stop(make_server) -> None:
    arrived = threading.Event()

    def responder(req: StubRequest) -> Reply:
        arrived.set()
        return Reply(hang=True)

    server = make_server(responder)
    async with client_for(server) as client:
        task = asyncio.create_task(client.responses.create(model="stub-model", input="hi"))
        assert await asyncio.to_thread(arrived.wait, 5)
        assert server.in_flight == 1
        t0 = time.monotonic()
        await asyncio.to_thread(server.stop)
        assert time.monotonic() - t0 < 1.0
        with pytest.raises(openai.APIConnectionError):
            await asyncio.wait_for(task, 5)
    assert server.in_flight == 0


@pytest.mark.asyncio
async def test_hang_released_when_client_gives_up(make_server) -> None:
    server = make_server(lambda r: Reply(hang=True))
    async with openai.AsyncOpenAI(
        base_url=server.base_url, api_key="test-key", max_retries=0, timeout=0.3
    ) as client:
        with pytest.raises(openai.APITimeoutError):
            await client.responses.create(model="stub-model", input="hi")
    deadline = time.monotonic() + 5
    while server.in_flight and time.monotonic() < deadline:  # handler notices the disconnect
        await asyncio.sleep(0.01)
    assert server.in_flight == 0


@pytest.mark.asyncio
async def test_drop_closes_connection(make_server) -> None:
    server = make_server(lambda r: Reply(drop=True))
    async with client_for(server) as client:
        with pytest.raises(openai.APIConnectionError):
            await client.chat.completions.create(
                model="stub-model", messages=[{"role": "user", "content": "hi"}]
            )
    assert len(server.requests) == 1 and server.in_flight == 0


# --------------------------------------------------------------------------------------------
# Agents SDK
# --------------------------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("api", ["chat_completions", "responses"])
@pytest.mark.parametrize("streamed", [False, True])
async def test_agents_sdk_structured_output(make_server, api: str, streamed: bool) -> None:
    expected = Answer(title="Stub title", score=7)
    server = make_server(lambda r: Reply(content=expected.model_dump_json(), input_tokens=21))
    async with client_for(server) as client:
        if api == "chat_completions":
            model = OpenAIChatCompletionsModel(model="stub-model", openai_client=client)
            # For non-api.openai.com base URLs the SDK does not request stream usage by
            # default; without include_usage a streamed chat run reports 0 tokens.
            settings = ModelSettings(include_usage=True)
        else:
            model = OpenAIResponsesModel(model="stub-model", openai_client=client)
            settings = ModelSettings()
        agent = Agent(
            name="scorer",
            instructions="Score the text.",
            model=model,
            model_settings=settings,
            output_type=Answer,
        )
        if streamed:
            result = Runner.run_streamed(agent, "Rate this please")
            event_types = [e.type async for e in result.stream_events()]
            assert "raw_response_event" in event_types
        else:
            result = await Runner.run(agent, "Rate this please")
    assert result.final_output == expected
    assert isinstance(result.final_output, Answer)
    usage = result.context_wrapper.usage
    assert usage.output_tokens > 0 and usage.input_tokens == 21 and usage.requests == 1
    (req,) = server.requests
    assert req.api == api and req.stream is streamed
    assert req.schema_title == "Answer"
    assert req.response_format_type == "json_schema"
    assert req.system == "Score the text."
    assert req.user_text == "Rate this please"
    assert req.authorization == "Bearer test-key"
    assert server.in_flight == 0
