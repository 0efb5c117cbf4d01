"""The real SDK and openai client over HTTP against the local stub server."""

from __future__ import annotations

import threading

import pytest
from stub import Plan, agent_of, section_of, serve

from research.config import Settings
from research.core.limits import Limits
from research.core.runs import JobStatus
from research.core.steps import StatusEvent, StepState
from research.reports.market import render_markdown
from research.workflows.market import SUMMARY_KEY, agent_key, run_market_research
from tests.support.openai_server import Reply

FAST = Limits(attempt_timeout=10, max_retries=2, backoff_initial=0.01, backoff_max=0.05)


def settings_for(server, api: str = "chat_completions", **extra) -> Settings:
    return Settings(api_key="sk-test-not-real", base_url=server.base_url, api=api, model="stub-model", **extra)


@pytest.mark.parametrize("api", ["chat_completions", "responses"])
async def test_full_run_over_http(api: str) -> None:
    with serve() as server:
        events: list[StatusEvent] = []
        result = await run_market_research("plant-based dairy", settings_for(server, api), on_event=events.append, limits=FAST)
        requests = server.requests

    assert result.status is JobStatus.COMPLETE
    assert all(r.stream for r in requests), "every answer is streamed, so a server stops generating when the client leaves"
    assert {agent_of(r): r.max_tokens for r in requests} == {"market": 2000, "competitor": 3000, "customer": 3000,
                                                             "section": 1500, "summary": 2500}, "every request has an output limit"
    assert len(requests) == 7 and sorted(filter(None, map(section_of, requests))) == ["competitor", "customer", "market"]
    assert all(r.api == api and r.authorization == "Bearer sk-test-not-real" for r in requests)
    assert sum(1 for e in events if e.key == SUMMARY_KEY and e.text) > 3, "the summary text arrives in pieces"
    assert result.usage.output_tokens > 0 and result.summary.usage.output_tokens > 0
    assert all(o.usage.output_tokens > 0 for o in result.sections.values())
    report = render_markdown(result)
    assert "## Executive Summary" in report and result.summary.result.executive_summary in report
    assert all(o.result.prose in report for o in result.sections.values())
    assert result.provider == f"OpenAI-compatible server at {server.base_url} ({'Chat Completions' if api == 'chat_completions' else 'Responses API'})"
    assert result.model == "stub-model"


async def test_three_requests_in_flight_and_the_run_takes_the_critical_path() -> None:
    """Research agents start together; a section is asked for as soon as its agent lands (while slower agents
    still run); the summary as soon as the last agent lands, alongside the last section, not after it."""
    arrivals: list[tuple[str, int]] = []  # (step, requests in flight at the server when it arrived), in order
    lock, server_of = threading.Lock(), {}

    def note(request) -> None:
        step = f"section:{section_of(request)}" if agent_of(request) == "section" else agent_of(request)
        with lock:
            arrivals.append((step, server_of["server"].in_flight))

    # Every request ends at least 0.5 s away from any other's start, so the counts below are not races.
    plan = Plan(latency={"market": 0.5, "competitor": 1.5, "customer": 2.5, "section": 0.5, "summary": 0.7},
                gate=note)
    with serve(plan) as server:
        server_of["server"] = server
        result = await run_market_research("plant-based dairy", settings_for(server), limits=FAST)
        requests = server.requests
        max_in_flight = server.max_in_flight

    assert result.status is JobStatus.COMPLETE
    steps = [step for step, _ in arrivals]
    in_flight = dict(arrivals)
    assert len(steps) == 7 and set(steps[:3]) == {"market", "competitor", "customer"}, steps
    assert in_flight[steps[2]] == 3 and max_in_flight == 3, "the three research agents run at once"
    assert steps[3:5] == ["section:market", "section:competitor"], "sections follow their agents, fastest first"
    assert in_flight["section:market"] == 3, "the market section is written while two agents still run"
    assert in_flight["section:competitor"] == 2, "the competitor section is written while the customer agent runs"
    assert set(steps[5:]) == {"section:customer", "summary"}, "the summary waits for the last agent only"
    assert in_flight[steps[6]] == 2, "the summary and the last section are written at the same time"
    started = {agent_of(r): r.started_at for r in requests if agent_of(r) in ("market", "competitor", "customer")}
    summary = next(r.started_at for r in requests if agent_of(r) == "summary")
    assert summary > max(started.values())


async def test_retry_after_is_honoured() -> None:
    plan = Plan(before={"market": [Reply(status=429, headers={"Retry-After": "1"})]})
    with serve(plan) as server:
        events: list[StatusEvent] = []
        result = await run_market_research("plant-based dairy", settings_for(server), on_event=events.append, limits=FAST)
        market = [r.started_at for r in server.requests if agent_of(r) == "market"]

    assert result.market.ok and result.market.attempts == 2
    assert len(market) == 2 and market[1] - market[0] >= 1.0, "retried sooner than Retry-After allows"
    retry = next(e for e in events if e.key == agent_key("market") and e.state is StepState.RETRYING)
    assert retry.message.startswith("rate limited (HTTP 429); retrying in 1.")


async def test_an_agent_that_always_fails_gives_a_partial_report() -> None:
    plan = Plan(always={"customer": lambda r: Reply(status=500)})
    with serve(plan) as server:
        result = await run_market_research("plant-based dairy", settings_for(server), limits=FAST)
        customer_calls = sum(1 for r in server.requests if agent_of(r) == "customer")

    assert result.status is JobStatus.PARTIAL
    assert customer_calls == 3
    assert result.customer.error == "server error (HTTP 500)"
    assert "Customer data unavailable** — server error (HTTP 500)" in render_markdown(result)


async def test_a_hanging_agent_times_out() -> None:
    plan = Plan(always={"competitor": lambda r: Reply(hang=True)})
    limits = Limits(attempt_timeout=0.5, max_retries=1, backoff_initial=0.01, backoff_max=0.05)
    with serve(plan) as server:
        result = await run_market_research("plant-based dairy", settings_for(server), limits=limits)

    assert result.competitor.state is StepState.TIMED_OUT
    assert result.competitor.error == "timed out: no data from the model server for 0.5 s"
    assert result.competitor.attempts == 2
    assert result.status is JobStatus.PARTIAL


async def test_malformed_json_gets_one_repair_then_the_section_is_unavailable() -> None:
    plan = Plan(always={"market": lambda r: Reply(content='{"market_size": {"value": -')})
    with serve(plan) as server:
        result = await run_market_research("plant-based dairy", settings_for(server), limits=FAST)
        market = [r for r in server.requests if agent_of(r) == "market"]

    assert len(market) == 2
    assert "Your previous answer lacked usable values for: growth, market_size." in market[1].user_text
    assert result.market.state is StepState.FAILED
    assert result.market.error == "the model gave no usable answer, even after being asked again"


async def test_model_is_discovered_from_the_server_when_unset() -> None:
    with serve() as server:
        server.model_ids = ["local-llama", "other"]
        settings = Settings(base_url=server.base_url, api="chat_completions")
        result = await run_market_research("plant-based dairy", settings, limits=FAST)
        models_used = {r.model for r in server.requests}

    assert result.model == "local-llama"
    assert models_used == {"local-llama"}


async def test_the_key_never_appears_in_errors_or_the_report() -> None:
    key = "sk-secret-1234567890abcdef"
    echo = Reply(status=401, error_body={"error": {"message": f"Incorrect API key provided: {key}", "type": "invalid_request_error", "code": "invalid_api_key"}})
    plan = Plan(always={k: (lambda r: echo) for k in ("market", "competitor", "customer")})
    with serve(plan) as server:
        settings = Settings(api_key=key, base_url=server.base_url, api="responses", model="stub-model")
        result = await run_market_research("plant-based dairy", settings, limits=FAST)

    assert result.status is JobStatus.FAILED
    assert result.market.error == "the model server rejected the API key (HTTP 401)"
    for text in (render_markdown(result), result.model_dump_json(), repr(settings)):
        assert key not in text
