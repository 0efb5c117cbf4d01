"""Every model request is bounded and honestly counted; refusals, cut-offs and stalls say what happened."""

from __future__ import annotations

import io
import json

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from stub import Plan, agent_of, serve
from test_cli import run_cli

from research.config import ConfigError, Settings, load_settings
from research.core.limits import Limits
from research.core.steps import StatusEvent, StepState
from research.inputs import CompanyRequest
from research.jobs.service import JobService
from research.jobs.snapshots import StepView
from research.progress import ProgressDisplay
from research.reports.companies import render_batch_csv, render_batch_markdown
from research.reports.market import render_markdown
from research.workflows.companies import COMPARISON_KEY, company_key, evidence_key, run_company_batch
from research.workflows.market import MARKET, agent_key, run_market_research
from tests.support.browser_harness import ROOT
from tests.support.imperfect import REFUSAL, refusing_responder
from tests.support.openai_server import Reply, StubOpenAIServer
from ui.status import describe

FAST = Limits(attempt_timeout=10, max_retries=2, backoff_initial=0.01, backoff_max=0.05)
LLAMA_CPP_REFUSAL = {"error": {"message": "Input should be 'text' or 'json_object'", "type": "invalid_request_error"}}


def settings_for(server, api: str = "chat_completions", **extra) -> Settings:
    return Settings(api_key="sk-test", base_url=server.base_url, api=api, model="stub-model", **extra)  # type: ignore[arg-type]


@pytest.mark.parametrize("json_mode", [False, True])
@pytest.mark.parametrize("api", ["chat_completions", "responses"])
async def test_a_refusal_is_shown_as_the_model_declining(api: str, json_mode: bool) -> None:
    refuse = refusing_responder("CompetitorReport")

    def respond(request):
        if json_mode and request.response_format_type == "json_schema":
            return Reply(status=400, error_body=LLAMA_CPP_REFUSAL)
        return refuse(request)

    with StubOpenAIServer(respond) as server:
        result = await run_market_research("plant-based dairy", settings_for(server, api), limits=FAST)
        asked = [r for r in server.requests if agent_of(r) == "competitor" and r.response_format_type != "json_schema"
                 or agent_of(r) == "competitor" and not json_mode]
    assert result.competitor.error == f"the model declined: {REFUSAL}"
    assert len(asked) == 1, "a refusal is not retried or repaired"
    assert f"Competitor data unavailable** — the model declined: {REFUSAL}" in render_markdown(result).replace("\\", "")


async def test_the_first_retry_reads_attempt_2_of_3_everywhere() -> None:
    plan = Plan(before={"competitor": [Reply(status=429, headers={"Retry-After": "0"})]})
    events: list[StatusEvent] = []
    with serve(plan) as server:
        result = await run_market_research("plant-based dairy", settings_for(server), on_event=events.append, limits=FAST)
    competitor = agent_key("competitor")
    retry = next(e for e in events if e.key == competitor and e.state is StepState.RETRYING)
    assert (retry.attempt, retry.max_attempts) == (2, 3)
    terminal = io.StringIO()
    ProgressDisplay([competitor], terminal, label=MARKET.step_label)(retry)
    assert terminal.getvalue().startswith("Competitor analysis ")
    assert "retrying (attempt 2 of 3): rate limited (HTTP 429); retrying in" in terminal.getvalue()
    card = describe(StepView(competitor, MARKET.step_label(competitor), retry.state, retry.attempt, retry.max_attempts,
                             retry.message))
    assert card[1].startswith("attempt 2 of 3: rate limited")
    assert result.competitor.ok and result.competitor.attempts == 2
    after = [e.state for e in events if e.key == competitor and not e.text]
    assert after[after.index(StepState.RETRYING) + 1] is StepState.RUNNING, "the card leaves 'retrying' once the retry runs"


async def test_tokens_of_rejected_answers_are_counted() -> None:
    plan = Plan(always={"market": lambda r: Reply(content='{"market_size": "huge"}', output_tokens=111, input_tokens=70)})
    with serve(plan) as server:
        result = await run_market_research("plant-based dairy", settings_for(server), limits=FAST)
    assert not result.market.ok
    assert (result.market.usage.requests, result.market.usage.output_tokens, result.market.usage.input_tokens) == (2, 222, 140)


async def test_a_404_on_the_responses_api_suggests_chat_completions() -> None:
    plan = Plan(gate=lambda r: Reply(status=404) if r.api == "responses" else None)
    with serve(plan) as server:
        result = await run_market_research("plant-based dairy", settings_for(server, "responses"), limits=FAST)
    assert result.status.value == "failed"
    assert result.market.error == ("the model or endpoint was not found (HTTP 404); this server may not offer the "
                                   "Responses API: set RESEARCH_API=chat_completions")


@pytest.mark.parametrize("api", ["chat_completions", "responses"])
async def test_every_request_carries_the_configured_output_limit(api: str) -> None:
    with serve() as server:
        result = await run_market_research("plant-based dairy", settings_for(server, api, max_output_tokens=777), limits=FAST)
        limits = {r.max_tokens for r in server.requests}
    assert result.status.value == "complete" and limits == {777}


def test_the_output_limit_is_read_from_the_environment() -> None:
    assert load_settings({"RESEARCH_DEMO": "1", "RESEARCH_MAX_OUTPUT_TOKENS": "1500"}, dotenv_path=None).max_output_tokens == 1500
    assert load_settings({"RESEARCH_DEMO": "1"}, dotenv_path=None).max_output_tokens is None


def valid_reply(request) -> Reply:
    """The test server's valid answer for this request."""
    return Plan()(request)


async def test_a_slow_but_working_stream_is_not_killed_and_a_stalled_one_is() -> None:
    def slowly(request) -> Reply:
        reply = valid_reply(request)
        reply.chunk_delay = 0.02  # the whole answer takes far longer than the timeout; no gap does
        return reply

    stalled = Reply(content='{"competitors": [{"name": "Acme", ', stall_after=2)
    limits = Limits(attempt_timeout=0.4, max_retries=1, backoff_initial=0.01, backoff_max=0.05)
    with serve(Plan(always={"market": slowly, "competitor": lambda r: stalled})) as server:
        result = await run_market_research("plant-based dairy", settings_for(server), limits=limits)
        market = [r for r in server.requests if agent_of(r) == "market"]
    assert result.market.ok and result.market.attempts == 1 and len(market) == 1
    assert result.market.elapsed > 0.4, "the answer streamed for longer than the inactivity timeout"
    assert result.competitor.state is StepState.TIMED_OUT and result.competitor.attempts == 2
    assert result.competitor.error == "timed out: no data from the model server for 0.4 s"


async def test_one_slot_servers_can_be_given_one_request_at_a_time() -> None:
    with serve(Plan(latency={"market": 0.2, "competitor": 0.2, "customer": 0.2})) as server:
        result = await run_market_research("plant-based dairy", settings_for(server, max_concurrency=1))
        peak = server.max_in_flight
    assert result.status.value == "complete" and peak == 1


def test_timeouts_that_cannot_fit_the_run_limit_are_warned_about() -> None:
    settings = load_settings({"OPENAI_API_KEY": "k", "RESEARCH_AGENT_TIMEOUT": "300", "RESEARCH_RUN_TIMEOUT": "600"},
                             dotenv_path=None)
    assert settings.warnings == ["RESEARCH_AGENT_TIMEOUT × attempts (300 s × 3) is more than RESEARCH_RUN_TIMEOUT "
                                 "(600 s): a slow agent's last retries cannot finish within the run's time limit"]
    assert load_settings({"OPENAI_API_KEY": "k"}, dotenv_path=None).warnings == []


def test_the_cli_keeps_the_sdks_log_lines_off_the_terminal(tmp_path) -> None:
    plan = Plan(always={"customer": lambda r: Reply(status=500)})
    with serve(plan) as server:
        done = run_cli("plant-based dairy", "--out", str(tmp_path / "r.md"), env={
            "OPENAI_API_KEY": "sk-test-secret-42", "OPENAI_BASE_URL": server.base_url, "RESEARCH_MODEL": "stub-model",
            "RESEARCH_MAX_RETRIES": "0", "RESEARCH_API": "responses", "RESEARCH_DATA_DIR": str(tmp_path / "data"),
            "RESEARCH_AGENT_TIMEOUT": "300", "RESEARCH_RUN_TIMEOUT": "200"})
    assert done.returncode == 3
    assert "Error getting response" not in done.stderr and "Error streaming response" not in done.stderr
    assert "research: warning: RESEARCH_AGENT_TIMEOUT × attempts (300 s × 1) is more than RESEARCH_RUN_TIMEOUT" in done.stderr
    log = (tmp_path / "data" / "research.log").read_text()
    assert "Error streaming response" in log and "sk-test-secret-42" not in log and "plant-based" not in log


async def test_companies_keep_the_names_the_user_asked_for() -> None:
    def one_name(request) -> Reply | None:
        if agent_of(request) != "company":
            return None
        profile = json.loads(valid_reply(request).content)
        return Reply(content=json.dumps({**profile, "name": "Acme Holdings"}))

    names = ["Stripe", "comparison", "stripe inc"]
    events: list[StatusEvent] = []
    with serve(Plan(gate=one_name)) as server:
        result = await run_company_batch(names, settings_for(server), on_event=events.append, limits=FAST)
        compare = next(r for r in server.requests if agent_of(r) == "comparison")
    assert [o.key for o in result.companies] == [company_key(n) for n in names]
    assert {e.key for e in events} == {*map(company_key, names), *map(evidence_key, names), COMPARISON_KEY}, \
        "a company called 'comparison' keeps its own row"
    report = render_batch_markdown(result)
    for name in names:
        assert f"### {name} (profiled as “Acme Holdings”)" in report
    csv_names = [line.split(",")[0] for line in render_batch_csv(result).splitlines()[1:]]
    assert csv_names == names
    for name in names:
        assert f'"{name}": {{' in compare.user_text, "the comparison sees the requested names"


def test_the_job_runner_shows_a_company_called_comparison_as_its_own_row(tmp_path) -> None:
    with serve() as server:
        runner = JobService(settings_for(server), durable=False)
        job = runner.submit(CompanyRequest.parse(["comparison", "Stripe"]), settings_for(server))
        assert runner.wait(job, 30)
        snapshot = runner.snapshot(job)
        runner.close()
    assert [s.key for s in snapshot.steps] == [evidence_key("comparison"), evidence_key("Stripe"),
                                               company_key("comparison"), company_key("Stripe"), COMPARISON_KEY]
    assert [s.label for s in snapshot.steps] == ["comparison: evidence", "Stripe: evidence", "comparison", "Stripe",
                                                 "Comparison"]
    assert all(s.state is StepState.DONE for s in snapshot.steps)


def test_the_app_warns_about_timeouts_that_cannot_fit_the_run_limit(monkeypatch) -> None:
    for name, value in {"OPENAI_API_KEY": "sk-test", "RESEARCH_AGENT_TIMEOUT": "300", "RESEARCH_RUN_TIMEOUT": "600"}.items():
        monkeypatch.setenv(name, value)
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    st.cache_resource.clear()
    assert [w.value for w in at.sidebar.warning] == [load_settings(dotenv_path=None).warnings[0]]


async def test_an_invalid_schema_is_a_loud_error_not_a_switch_to_json_mode() -> None:
    invalid = {"error": {"message": "Invalid schema for response_format 'MarketData': In context=(), 'minLength' is "
                                    "not permitted.", "type": "invalid_request_error", "param": "response_format"}}
    with StubOpenAIServer(lambda request: Reply(status=400, error_body=invalid)) as server:
        result = await run_market_research("plant-based dairy", settings_for(server), limits=FAST)
        formats = {r.response_format_type for r in server.requests}
    assert formats == {"json_schema"}, "never switched to JSON mode"
    assert {o.error for o in result.research} == {
        "the model server rejected the app's output schema (HTTP 400); please report this as a bug"}
    assert len(server.requests) == 3, "not retried"


def test_cost_is_estimated_where_the_price_is_known() -> None:
    from research.core.steps import TokenUsage
    from research.pricing import cost_label, estimated_cost

    usage = TokenUsage(requests=7, input_tokens=1_000_000, output_tokens=500_000)
    assert estimated_cost("gpt-4.1-mini", usage) == pytest.approx(1.20)
    assert estimated_cost("gpt-4.1-mini-2025-04-14", usage) == pytest.approx(1.20), "a dated snapshot costs as its family"
    assert estimated_cost("llama3.1", usage) is None and cost_label("llama3.1", usage) == ""
    prices = load_settings({"OPENAI_API_KEY": "k", "RESEARCH_PRICES": "llama3.1=0/0.5"}, dotenv_path=None).prices
    assert cost_label("llama3.1", usage, prices) == "≈ $0.2500 (estimate at your RESEARCH_PRICES)"
    with pytest.raises(ConfigError, match="RESEARCH_PRICES"):
        load_settings({"OPENAI_API_KEY": "k", "RESEARCH_PRICES": "cheap"}, dotenv_path=None)
