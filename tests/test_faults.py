"""The fault matrix over HTTP: what each failure does to a run, and what the user sees."""

from __future__ import annotations

import asyncio
import socket

import pytest
from stub import Plan, agent_of, serve

from research.config import Settings
from research.core.limits import Limits
from research.core.runs import JobStatus
from research.core.steps import StatusEvent, StepState
from research.reports.market import render_markdown
from research.workflows.market import agent_key, run_market_research
from tests.support.openai_server import Reply

FAST = Limits(attempt_timeout=10, max_retries=2, backoff_initial=0.01, backoff_max=0.05)
LLAMA_CPP_REFUSAL = {"error": {"message": "1 validation error for CreateChatCompletionRequest\nresponse_format.type\n"
                               "  Input should be 'text' or 'json_object'", "type": "invalid_request_error"}}


def settings_for(server, **extra) -> Settings:
    return Settings(api_key="sk-test", base_url=server.base_url, api="chat_completions", model="stub-model", **extra)


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_are_retried_then_succeed(status: int) -> None:
    plan = Plan(before={"competitor": [Reply(status=status), Reply(status=status)]})
    with serve(plan) as server:
        events: list[StatusEvent] = []
        result = await run_market_research("plant-based dairy", settings_for(server), on_event=events.append, limits=FAST)
    assert result.status is JobStatus.COMPLETE
    assert result.competitor.attempts == 3
    retries = [e.message for e in events if e.key == agent_key("competitor") and e.state is StepState.RETRYING]
    assert len(retries) == 2 and all(f"(HTTP {status})" in m for m in retries)


async def test_a_dropped_connection_fails_only_that_agent() -> None:
    plan = Plan(always={"market": lambda r: Reply(drop=True)})
    with serve(plan) as server:
        result = await run_market_research("plant-based dairy", settings_for(server), limits=FAST)
        market_calls = sum(1 for r in server.requests if agent_of(r) == "market")
    assert market_calls == 3
    assert result.market.error == "could not connect to the model server"
    assert (result.competitor.ok, result.customer.ok, result.summary.ok) == (True, True, True)
    assert result.sections["market"].state is StepState.SKIPPED
    assert result.sections["competitor"].ok and result.sections["customer"].ok
    assert result.status is JobStatus.PARTIAL


async def test_connection_refused_fails_every_agent_with_a_clear_reason() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings(api_key="sk-test", base_url=f"http://127.0.0.1:{port}/v1", api="chat_completions", model="m")
    result = await run_market_research("plant-based dairy", settings, limits=FAST)
    assert result.status is JobStatus.FAILED
    assert {o.error for o in result.research} == {"could not connect to the model server"}
    assert all(o.attempts == 3 for o in result.research)


async def test_the_whole_run_has_a_deadline() -> None:
    plan = Plan(always={"customer": lambda r: Reply(hang=True)})
    with serve(plan) as server:
        result = await run_market_research("plant-based dairy", settings_for(server, run_timeout=1.0),
                                           limits=Limits(attempt_timeout=30, max_retries=2))
        customer = [r for r in server.requests if agent_of(r) == "customer"]
        for _ in range(100):  # the server notices a closed connection within 0.05 s
            if server.in_flight == 0:
                break
            await asyncio.sleep(0.05)
        left_hanging = server.in_flight
    assert result.customer.state is StepState.TIMED_OUT
    assert result.customer.error == "stopped: the run's time limit of 1 s was reached"
    assert len(customer) == 1 and result.customer.attempts == 1, "stopped in its first 30 s attempt, never retried"
    assert left_hanging == 0, "the hanging request was abandoned when the run stopped"
    assert result.summary.state is StepState.SKIPPED, "the summary never started"
    assert result.summary.error == "not started: the run's time limit of 1 s was reached"
    assert result.sections["customer"].state is StepState.SKIPPED
    assert result.sections["market"].ok and result.sections["competitor"].ok, "sections written before the deadline are kept"
    assert "Customer data unavailable** — stopped: the run's time limit of 1 s was reached" in render_markdown(result)


@pytest.mark.parametrize("status", [400, 500])
@pytest.mark.parametrize("api", ["chat_completions", "responses"])
async def test_servers_without_json_schema_get_json_mode_for_the_rest_of_the_run(status: int, api: str) -> None:
    def llama_cpp(request) -> Reply | None:
        if request.response_format_type == "json_schema":
            return Reply(status=status, error_body=LLAMA_CPP_REFUSAL)
        return None

    with serve(Plan(gate=llama_cpp, latency={"market": 0.2, "competitor": 0.2, "customer": 0.2})) as server:
        events: list[StatusEvent] = []
        settings = Settings(api_key="sk-test", base_url=server.base_url, api=api, model="stub-model")
        result = await run_market_research("plant-based dairy", settings, on_event=events.append, limits=FAST)
        requests = server.requests

    assert result.status is JobStatus.COMPLETE
    schema_requests = [r for r in requests if r.response_format_type == "json_schema"]
    assert 1 <= len(schema_requests) <= 3, "each refusal is learned, never retried"
    summary = [r for r in requests if agent_of(r) == "summary"]
    assert [r.response_format_type for r in summary] == ["json_object"], "the run remembered JSON mode"
    assert "JSON Schema for ExecutiveSummary" in summary[0].system
    sections = [r for r in requests if agent_of(r) == "section"]
    assert [r.response_format_type for r in sections] == ["json_object"] * 3
    assert all("JSON Schema for SectionText" in r.system for r in sections)
    switches = [e for e in events if "using JSON mode" in e.message]
    assert switches and all(e.state is StepState.RUNNING and e.attempt == 1 for e in switches), "a note, not a retry"
    assert not any(e.state is StepState.RETRYING for e in events)
    assert all(o.attempts == 1 for o in result.all_outcomes), "switching to JSON mode is not an attempt"
    json_mode = [r for r in requests if r.response_format_type == "json_object"]
    if api == "chat_completions":  # llama.cpp-style servers constrain JSON mode to the schema sent with it
        assert all(r.schema and r.schema["title"] == r.schema_title for r in json_mode)


async def test_schema_violations_get_one_repair_showing_the_error() -> None:
    def inflated(request) -> Reply | None:
        if agent_of(request) == "customer" and "previous answer" not in request.user_text:
            return Reply(content='{"segments": [{"name": "only one"}]}')
        return None

    with serve(Plan(gate=inflated)) as server:
        result = await run_market_research("plant-based dairy", settings_for(server), limits=FAST)
        customer = [r for r in server.requests if agent_of(r) == "customer"]
    assert result.customer.ok and result.customer.attempts == 2
    assert "lacked usable values for: segments." in customer[1].user_text
    assert list(customer[1].schema["properties"]) == ["segments"], "the repair asks only for what is missing"
