"""The stub OpenAI server answering like real, imperfect models: token limits, refusals, cut-off
answers, stalled streams and near-miss JSON (tests.support.imperfect), through the real openai
client and the real Agents SDK."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import openai
import pytest
from agents import Agent, ModelSettings, OpenAIChatCompletionsModel, OpenAIResponsesModel, Runner
from agents.exceptions import ModelBehaviorError, ModelRefusalError
from pydantic import BaseModel

from research.providers.demo_content import demo_output_for
from tests.support.imperfect import FLAWS, NOT_JSON, REFUSAL, imperfect_responder, refusing_responder, valid_answer
from tests.support.openai_server import Reply, StubOpenAIServer, StubRequest
from tests.support.openai_wire import parse_stub_request
from tests.support.responders import schema_title

TOPIC = "Topic: specialty coffee in Germany"
SCHEMA = {"title": "Answer", "type": "object", "properties": {"title": {"type": "string"}, "score": {"type": "integer"}},
          "required": ["title", "score"], "additionalProperties": False}
TITLES = ("MarketData", "CompetitorReport", "CustomerReport", "SectionText", "ExecutiveSummary", "CompanyProfile",
          "CompanyComparison")


class Answer(BaseModel):
    title: str
    score: int


@pytest.fixture
def make_server() -> Iterator[Callable[..., StubOpenAIServer]]:
    """Factory for started servers; all are stopped at teardown."""
    servers: list[StubOpenAIServer] = []

    def make(responder: Callable[[StubRequest], Reply]) -> StubOpenAIServer:
        servers.append(StubOpenAIServer(responder).start())
        return servers[-1]

    yield make
    for s in servers:
        s.stop()


def client_for(server: StubOpenAIServer, **kw: object) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=server.base_url, api_key="test-key", max_retries=0, **kw)  # type: ignore[arg-type]


def user(text: str = "hi") -> list:
    return [{"role": "user", "content": text}]


def agent_for(client: openai.AsyncOpenAI, api: str) -> Agent:
    model_class = OpenAIChatCompletionsModel if api == "chat_completions" else OpenAIResponsesModel
    return Agent(name="scorer", instructions="Score it.", output_type=Answer,
                 model=model_class(model="stub-model", openai_client=client), model_settings=ModelSettings(max_tokens=64))


async def run_agent(agent: Agent, streamed: bool) -> object:
    if not streamed:
        return (await Runner.run(agent, "Rate this")).final_output
    result = Runner.run_streamed(agent, "Rate this")
    async for _ in result.stream_events():
        pass
    return result.final_output


# --------------------------------------------------------------------------------------------
# Requests: output-token limit and schema
# --------------------------------------------------------------------------------------------


async def test_max_tokens_and_schema_recorded(make_server) -> None:
    server = make_server(lambda r: Reply(content="{}"))
    json_schema = {"type": "json_schema", "json_schema": {"name": "Answer", "schema": SCHEMA, "strict": True}}
    llama_json_mode = {"type": "json_object", "schema": {**SCHEMA, "title": "MarketData"}}
    async with client_for(server) as client:
        await client.chat.completions.create(model="m", messages=user(), max_completion_tokens=77, response_format=json_schema)
        await client.chat.completions.create(model="m", messages=user(), max_tokens=33, response_format=llama_json_mode)  # type: ignore[arg-type]
        await client.chat.completions.create(model="m", messages=user(), response_format={"type": "json_object"})
        await client.responses.create(model="m", input="hi", max_output_tokens=55,
                                      text={"format": {"type": "json_schema", "name": "Answer", "schema": SCHEMA}})
        await client.responses.create(model="m", input="hi")
    chat_schema, chat_llama, chat_json, resp_schema, resp_plain = server.requests
    assert (chat_schema.max_tokens, chat_schema.schema, chat_schema.schema_title) == (77, SCHEMA, "Answer")
    assert (chat_llama.max_tokens, chat_llama.schema_title, chat_llama.response_format_type) == (33, "MarketData", "json_object")
    assert chat_llama.schema == llama_json_mode["schema"]
    assert (chat_json.max_tokens, chat_json.schema, chat_json.schema_title) == (None, None, None)
    assert (resp_schema.max_tokens, resp_schema.schema, resp_schema.schema_title) == (55, SCHEMA, "Answer")
    assert (resp_plain.max_tokens, resp_plain.schema, resp_plain.schema_title) == (None, None, None)


def test_max_completion_tokens_wins_over_max_tokens() -> None:
    req = parse_stub_request("chat_completions", {"max_completion_tokens": 9, "max_tokens": 99}, None)
    assert req.max_tokens == 9
    assert parse_stub_request("chat_completions", {"max_tokens": True}, None).max_tokens is None


def test_schema_title_helper_falls_back_to_instructions() -> None:
    in_format = parse_stub_request("responses", {"text": {"format": {"type": "json_schema", "schema": SCHEMA}}}, None)
    in_system = parse_stub_request("chat_completions", {"messages": [
        {"role": "system", "content": "Reply with JSON ... JSON Schema for CustomerReport:\n{}"}]}, None)
    assert schema_title(in_format) == "Answer"
    assert schema_title(in_system) == "CustomerReport"
    assert schema_title(parse_stub_request("responses", {}, None)) == ""


@pytest.mark.parametrize("api", ["chat_completions", "responses"])
async def test_agents_sdk_max_tokens_recorded(make_server, api: str) -> None:
    server = make_server(lambda r: Reply(content=Answer(title="t", score=1).model_dump_json()))
    async with client_for(server) as client:
        assert await run_agent(agent_for(client, api), streamed=False) == Answer(title="t", score=1)
    (req,) = server.requests
    assert req.max_tokens == 64 and req.schema_title == "Answer" and req.schema is not None


# --------------------------------------------------------------------------------------------
# Refusals
# --------------------------------------------------------------------------------------------


async def test_refusal_on_the_wire(make_server) -> None:
    server = make_server(lambda r: Reply(refusal=REFUSAL))
    async with client_for(server) as client:
        chat = await client.chat.completions.create(model="m", messages=user())
        stream = await client.chat.completions.create(model="m", messages=user(), stream=True)
        chunks = [c async for c in stream]
        resp = await client.responses.create(model="m", input="hi")
        events = [e async for e in await client.responses.create(model="m", input="hi", stream=True)]
    message = chat.choices[0].message
    assert (message.content, message.refusal, chat.choices[0].finish_reason) == (None, REFUSAL, "stop")
    assert "".join(c.choices[0].delta.refusal or "" for c in chunks if c.choices) == REFUSAL
    assert all(not c.choices or not c.choices[0].delta.content for c in chunks)
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert resp.status == "completed" and resp.output_text == ""
    assert [p.model_dump() for p in resp.output[0].content] == [{"type": "refusal", "refusal": REFUSAL}]  # type: ignore[union-attr]
    types = [e.type for e in events]
    assert "response.output_text.delta" not in types and types[-1] == "response.completed"
    assert "".join(e.delta for e in events if e.type == "response.refusal.delta") == REFUSAL
    (done,) = [e for e in events if e.type == "response.refusal.done"]
    assert done.refusal == REFUSAL and done.content_index == 0 and done.output_index == 0 and done.item_id.startswith("msg_")
    parts = [e.part.type for e in events if e.type in ("response.content_part.added", "response.content_part.done")]
    assert parts == ["refusal", "refusal"]


@pytest.mark.parametrize("api", ["chat_completions", "responses"])
@pytest.mark.parametrize("streamed", [False, True])
async def test_refusal_raises_model_refusal_error(make_server, api: str, streamed: bool) -> None:
    server = make_server(lambda r: Reply(refusal=REFUSAL))
    async with client_for(server) as client:
        with pytest.raises(ModelRefusalError) as info:
            await run_agent(agent_for(client, api), streamed)
    assert info.value.refusal == REFUSAL
    assert str(info.value) == f"Model refused to produce output: {REFUSAL}"
    assert server.requests[0].stream is streamed


# --------------------------------------------------------------------------------------------
# Answers cut off at the output-token limit
# --------------------------------------------------------------------------------------------


async def test_length_finish_on_the_wire(make_server) -> None:
    server = make_server(lambda r: Reply(content='{"title": "cut', finish="length"))
    async with client_for(server) as client:
        chat = await client.chat.completions.create(model="m", messages=user(), max_tokens=12)
        stream = await client.chat.completions.create(model="m", messages=user(), stream=True,
                                                      stream_options={"include_usage": True})
        chunks = [c async for c in stream]
        resp = await client.responses.create(model="m", input="hi", max_output_tokens=20)
        events = [e async for e in await client.responses.create(model="m", input="hi", stream=True)]
    assert chat.choices[0].finish_reason == "length" and chat.choices[0].message.content == '{"title": "cut'
    assert chat.usage is not None and chat.usage.completion_tokens == 12  # the limit was used up
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["length"]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == len('{"title": "cut') // 4 + 1  # no limit
    assert resp.status == "incomplete" and resp.output_text == '{"title": "cut'
    assert resp.incomplete_details is not None and resp.incomplete_details.reason == "max_output_tokens"
    assert resp.usage is not None and resp.usage.output_tokens == 20
    assert resp.output[0].status == "incomplete"  # type: ignore[union-attr]
    assert events[-1].type == "response.incomplete" and "response.completed" not in [e.type for e in events]
    assert events[-1].response.status == "incomplete" and events[-1].response.output_text == '{"title": "cut'


async def test_explicit_output_tokens_win_over_the_limit(make_server) -> None:
    server = make_server(lambda r: Reply(content="abc", finish="length", output_tokens=3))
    async with client_for(server) as client:
        chat = await client.chat.completions.create(model="m", messages=user(), max_tokens=12)
    assert chat.usage is not None and chat.usage.completion_tokens == 3


@pytest.mark.parametrize("api", ["chat_completions", "responses"])
@pytest.mark.parametrize("streamed", [False, True])
async def test_agents_sdk_on_cut_off_answer(make_server, api: str, streamed: bool) -> None:
    """Chat: the SDK ignores finish_reason "length" and fails on the truncated JSON; Responses: it
    rejects any incomplete response, whatever its text."""
    server = make_server(lambda r: Reply(content='{"title": "cut', finish="length"))
    async with client_for(server) as client:
        with pytest.raises(ModelBehaviorError) as info:
            await run_agent(agent_for(client, api), streamed)
    if api == "chat_completions":
        assert str(info.value) == "Invalid JSON when parsing model output"
    else:
        assert str(info.value) == ("Responses stream ended with terminal event `response.incomplete`. status=incomplete; "
                                   "incomplete_details=IncompleteDetails(reason='max_output_tokens').")


# --------------------------------------------------------------------------------------------
# Streams that stall part-way
# --------------------------------------------------------------------------------------------


async def test_stall_after_triggers_read_timeout(make_server) -> None:
    server = make_server(lambda r: Reply(content="one two three four five", stall_after=2))
    chat_pieces: list[str] = []
    response_types: list[str] = []
    async with client_for(server, timeout=openai.Timeout(0.3)) as client:
        with pytest.raises(openai.APITimeoutError):
            async for chunk in await client.chat.completions.create(model="m", messages=user(), stream=True):
                chat_pieces.append(chunk.choices[0].delta.content or "")
        with pytest.raises(openai.APITimeoutError):
            async for event in await client.responses.create(model="m", input="hi", stream=True):
                response_types.append(event.type)
    assert chat_pieces == ["", "one ", "two "]
    assert response_types[-3:] == ["response.content_part.added"] + ["response.output_text.delta"] * 2
    assert len(server.requests) == 2


async def test_stall_after_all_chunks_stalls_before_the_end(make_server) -> None:
    server = make_server(lambda r: Reply(content="one two", stall_after=10))
    pieces: list[str] = []
    async with client_for(server, timeout=openai.Timeout(0.3)) as client:
        with pytest.raises(openai.APITimeoutError):
            async for chunk in await client.chat.completions.create(model="m", messages=user(), stream=True):
                pieces.append(chunk.choices[0].delta.content or "")
                assert chunk.choices[0].finish_reason is None
    assert "".join(pieces) == "one two"


# --------------------------------------------------------------------------------------------
# Near-miss answers
# --------------------------------------------------------------------------------------------


EXPECTED = {
    "currency_name": ("market_size", "currency", "US dollars"),
    "currency_symbol": ("market_size", "currency", "€"),
    "currency_unknown": ("market_size", "currency", "Martian credits"),
    "scale_capitalised": ("market_size", "scale", "Billion"),
    "scale_abbreviation": ("market_size", "scale", "bn"),
    "value_as_string": ("market_size", "value", "1,234.5"),
    "value_decimal_comma": ("market_size", "value", "12,5"),
    "cagr_percent_string": ("growth", "cagr_percent", "12%"),
    "as_of_year_only": ("as_of", "2025"),
    "extra_keys": ("market_size", "confidence", "high"),
}


@pytest.mark.parametrize("name", sorted(FLAWS))
def test_every_flaw_differs_from_the_valid_answer(name: str) -> None:
    flaw = FLAWS[name]
    assert flaw.name == name and flaw.title in TITLES
    valid = valid_answer(flaw.title, TOPIC)
    text = flaw(valid)
    assert valid == json.loads(demo_output_for(flaw.title, TOPIC))  # the input is left untouched
    assert text != json.dumps(valid)
    if name in NOT_JSON:
        with pytest.raises(ValueError):
            json.loads(text)
        return
    flawed = json.loads(text)
    assert flawed != valid
    if name in EXPECTED:
        *path, value = EXPECTED[name]
        for key in path:
            flawed = flawed[key]
        assert flawed == value


def test_structural_flaws() -> None:
    market, competitors, customers = (valid_answer(t, TOPIC) for t in ("MarketData", "CompetitorReport", "CustomerReport"))
    assert "growth" not in json.loads(FLAWS["missing_required"](market))
    assert json.loads(FLAWS["extra_keys"](market))["notes"] == "model commentary"
    growth = market["growth"]
    assert json.loads(FLAWS["growth_equal_years"](market))["growth"]["end_year"] == growth["start_year"]
    reversed_ = json.loads(FLAWS["growth_reversed"](market))["growth"]
    assert (reversed_["start_year"], reversed_["end_year"]) == (growth["end_year"], growth["start_year"])
    assert all("market_share_percent" not in c for c in json.loads(FLAWS["omitted_nullable"](competitors))["competitors"])
    shares = [c["market_share_percent"] for c in json.loads(FLAWS["shares_over_100"](competitors))["competitors"]]
    assert sum(shares) == pytest.approx(106) and all(round(s, 1) == s for s in shares)
    dup = json.loads(FLAWS["duplicate_competitor"](competitors))["competitors"]
    assert dup[-1] == {**competitors["competitors"][0], "name": competitors["competitors"][0]["name"].upper()}
    assert len(dup) == len(competitors["competitors"]) + 1
    levels = [s["willingness_to_pay"]["level"] for s in json.loads(FLAWS["wtp_capitalised"](customers))["segments"]]
    assert levels == [s["willingness_to_pay"]["level"].capitalize() for s in customers["segments"]]
    assert {s["willingness_to_pay"]["level"] for s in json.loads(FLAWS["wtp_synonym"](customers))["segments"]} == {"med"}
    percents = [s["share_percent"] for s in json.loads(FLAWS["share_percent_string"](customers))["segments"]]
    assert percents == [f"{s['share_percent']:g}%" for s in customers["segments"]]


def test_wrapped_and_cut_off_texts() -> None:
    market, competitors, customers = (valid_answer(t, TOPIC) for t in ("MarketData", "CompetitorReport", "CustomerReport"))
    assert FLAWS["fenced"](market) == f"```json\n{json.dumps(market)}\n```"
    assert FLAWS["think_block"](customers) == f"<think>\nLet me reason about this...\n</think>\n{json.dumps(customers)}"
    assert FLAWS["preface"](competitors) == f"Here is the JSON:\n{json.dumps(competitors)}\nLet me know if you need more."
    full, cut = json.dumps(competitors), FLAWS["cut_off"](competitors)
    assert full.startswith(cut) and len(cut) == int(len(full) * 0.6)


async def test_imperfect_responder(make_server) -> None:
    server = make_server(imperfect_responder("cut_off", times=1))
    competitor_format = {"type": "json_schema", "json_schema": {"name": "CompetitorReport", "schema": {"title": "CompetitorReport"}}}
    valid = demo_output_for("CompetitorReport", TOPIC)
    async with client_for(server) as client:
        first = await client.chat.completions.create(model="m", messages=user(TOPIC), response_format=competitor_format)
        again = await client.chat.completions.create(model="m", messages=user(TOPIC), response_format=competitor_format)
        market = await client.responses.create(model="m", input=TOPIC, instructions="JSON Schema for MarketData: {}",
                                               text={"format": {"type": "json_object"}})
    assert first.choices[0].finish_reason == "length"
    assert first.choices[0].message.content == FLAWS["cut_off"](json.loads(valid))
    assert again.choices[0].finish_reason == "stop" and again.choices[0].message.content == valid  # times=1
    assert market.status == "completed" and market.output_text == demo_output_for("MarketData", TOPIC)


async def test_imperfect_responder_in_json_mode(make_server) -> None:
    server = make_server(imperfect_responder("fenced"))
    async with client_for(server) as client:
        for _ in range(2):
            resp = await client.chat.completions.create(
                model="m", response_format={"type": "json_object"},
                messages=[{"role": "system", "content": "JSON Schema for MarketData: {}"}, *user(TOPIC)])
            assert resp.choices[0].message.content == FLAWS["fenced"](valid_answer("MarketData", TOPIC))


@pytest.mark.parametrize("api", ["chat_completions", "responses"])
async def test_refusing_responder(make_server, api: str) -> None:
    server = make_server(refusing_responder("CustomerReport"))
    schema = {"title": "CustomerReport", "type": "object"}
    async with client_for(server) as client:
        if api == "chat_completions":
            structured = (await client.chat.completions.create(model="m", messages=user(TOPIC), response_format={
                "type": "json_schema", "json_schema": {"name": "CustomerReport", "schema": schema}})).choices[0].message
            json_mode = (await client.chat.completions.create(model="m", messages=[
                {"role": "system", "content": "JSON Schema for CustomerReport: {}"}, *user(TOPIC)],
                response_format={"type": "json_object"})).choices[0].message
            other = (await client.chat.completions.create(model="m", messages=[
                {"role": "system", "content": "JSON Schema for MarketData: {}"}, *user(TOPIC)],
                response_format={"type": "json_object"})).choices[0].message
            assert (structured.content, structured.refusal) == (None, REFUSAL)
            assert (json_mode.content, json_mode.refusal) == (REFUSAL, None)
            assert other.content == demo_output_for("MarketData", TOPIC)
        else:
            structured_resp = await client.responses.create(model="m", input=TOPIC, text={
                "format": {"type": "json_schema", "name": "CustomerReport", "schema": schema}})
            json_resp = await client.responses.create(model="m", input=TOPIC, instructions="JSON Schema for CustomerReport",
                                                      text={"format": {"type": "json_object"}})
            assert structured_resp.output[0].content[0].type == "refusal"  # type: ignore[union-attr]
            assert json_resp.output_text == REFUSAL
