"""A hard budget per run: over HTTP against the test server, a run never spends past it.

The test server reports input tokens as a tokenizer would count them (about one per four bytes of the
request), so the budget's conservative reservations (one token per three bytes) are tested against realistic
usage; a "dense" server counts one token per byte, beyond the conservative count, to test the bound.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from stub import agent_of
from test_cli import run_cli

from research.config import ConfigError, Settings, load_settings
from research.core.budget import BudgetReached, RunBudget, conservative_tokens
from research.core.limits import Limits
from research.core.runs import JobStatus
from research.core.steps import StepState
from research.inputs import CompanyRequest, MarketRequest
from research.jobs.service import DailyBudgetSpent
from research.owners import Access, Owner
from research.providers.demo_content import demo_output_for
from research.reports.market import render_markdown
from research.store import ReportStore
from research.workflows.estimate import estimate
from research.workflows.market import run_market_research
from tests.support.jobs import durable_service, stub_settings
from tests.support.openai_server import Reply, StubOpenAIServer, StubRequest
from tests.support.openai_wire import tokens
from tests.support.postgres import fresh_database
from tests.support.responders import schema_title

FAST = Limits(attempt_timeout=10, max_retries=2, backoff_initial=0.01, backoff_max=0.05)
JUNK = "{}"


class Metered:
    """A responder answering like a real server, and keeping what usage it reported (or would have)."""

    def __init__(self, *, report_usage: bool = True, first: dict[str, list[Reply]] | None = None,
                 bytes_per_token: int = 4) -> None:
        self.report_usage, self.first, self.bytes_per_token = report_usage, first or {}, bytes_per_token
        self.reported: list[tuple[int, int]] = []
        self._lock = threading.Lock()

    def __call__(self, request: StubRequest) -> Reply:
        with self._lock:
            queued = self.first.get(agent_of(request))
            reply = queued.pop(0) if queued else Reply(content=demo_output_for(schema_title(request),
                                                                                request.user_text))
            reply.input_tokens = len(json.dumps(request.body)) // self.bytes_per_token
            reply.report_usage = self.report_usage
            if reply.status == 200:
                self.reported.append(tokens(request, reply))
        return reply

    @property
    def total(self) -> int:
        """Input plus output tokens of every answer."""
        return sum(i + o for i, o in self.reported)


def settings_for(server: StubOpenAIServer, **changes) -> Settings:
    return Settings(api_key="sk-test", base_url=server.base_url, api="chat_completions",  # type: ignore[arg-type]
                    model="stub-model", prices={"stub-model": (1.0, 4.0)}, **changes)


async def full_run() -> tuple[int, int]:
    """Tokens and requests of a whole report without a budget."""
    meter = Metered()
    with StubOpenAIServer(meter) as server:
        result = await run_market_research("plant-based dairy", settings_for(server), limits=FAST)
        requests = len(server.requests)
    assert result.status is JobStatus.COMPLETE
    return meter.total, requests


# The budget itself.

async def test_a_reservation_waits_for_requests_in_flight_and_is_refused_when_alone() -> None:
    budget = RunBudget(tokens=1_000)
    first = await budget.reserve(600, 300)
    waiting = asyncio.ensure_future(budget.reserve(400, 200))  # 900 + 600 > 1,000 while the first is in flight
    await asyncio.sleep(0)
    assert not waiting.done()
    budget.settle(first, 150, 50, estimated=False)  # it spent 200: 200 + 600 fits
    second = await asyncio.wait_for(waiting, 5)
    budget.settle(second, 400, 100, estimated=False)
    with pytest.raises(BudgetReached, match="could need up to 400 tokens; 700 tokens of 1,000 tokens spent"):
        await budget.reserve(200, 200)  # 700 + 400 > 1,000, and nothing is in flight to give any back
    assert budget.facts().refused == 1 and budget.facts().requests == 2


def test_the_conservative_count_is_one_token_per_three_bytes_and_more() -> None:
    text = "Plant-based dairy — 植物性乳製品 {\"a\": 1}"
    assert conservative_tokens(text) >= len(text.encode("utf-8")) / 3 + 16


def test_a_usd_budget_needs_a_known_price() -> None:
    with pytest.raises(ConfigError, match="RESEARCH_BUDGET_USD needs the price of my-model"):
        load_settings({"OPENAI_API_KEY": "sk-x", "RESEARCH_MODEL": "my-model", "RESEARCH_BUDGET_USD": "0.05"})
    settings = load_settings({"OPENAI_API_KEY": "sk-x", "RESEARCH_MODEL": "my-model", "RESEARCH_BUDGET_USD": "0.05",
                              "RESEARCH_PRICES": "my-model=0.4/1.6"})
    assert settings.budget_usd == 0.05


# Over HTTP.

async def test_a_budget_below_a_reports_need_stops_sending_and_says_budget_reached() -> None:
    need, _ = await full_run()
    budget = need // 2
    meter = Metered()
    with StubOpenAIServer(meter) as server:
        result = await run_market_research("plant-based dairy", settings_for(server, budget_tokens=budget),
                                           limits=FAST)
        sent = len(server.requests)
    assert meter.total <= budget, "the server's own count of what the run spent stays within the budget"
    assert result.status is JobStatus.PARTIAL
    assert result.budget is not None and result.budget.reached and result.budget.requests == sent
    skipped = [o for o in result.all_outcomes if o.state is StepState.SKIPPED and "budget reached" in (o.error or "")]
    assert skipped, "the steps that did not fit say so"
    assert "budget reached" in render_markdown(result)


async def test_a_generous_budget_changes_nothing() -> None:
    need, requests = await full_run()
    meter = Metered()
    with StubOpenAIServer(meter) as server:
        result = await run_market_research("plant-based dairy", settings_for(server, budget_tokens=need * 20),
                                           limits=FAST)
        sent = len(server.requests)
    assert result.status is JobStatus.COMPLETE and sent == requests
    assert result.budget is not None and not result.budget.reached
    assert result.budget.spent_tokens == meter.total


async def test_retries_and_repairs_are_counted() -> None:
    first = {"competitor": [Reply(status=500)], "market": [Reply(content=JUNK)]}  # a retry, and a repair request
    meter = Metered(first=first)
    with StubOpenAIServer(meter) as server:
        result = await run_market_research("plant-based dairy", settings_for(server, budget_tokens=10_000_000),
                                           limits=FAST)
        sent = len(server.requests)
        asked = [agent_of(r) for r in server.requests]
    assert asked.count("market") == 2 and asked.count("competitor") == 2
    assert result.budget is not None and result.budget.requests == sent, "every request reserved first"
    assert result.budget.spent_tokens == meter.total, "the junk answer and the repair are spent too"


async def test_a_server_that_reports_no_usage_is_held_to_the_budget_by_estimates() -> None:
    need, _ = await full_run()
    budget = need * 2  # twice the real need, but the estimates count a token per three bytes
    meter = Metered(report_usage=False)
    with StubOpenAIServer(meter) as server:
        result = await run_market_research("plant-based dairy", settings_for(server, budget_tokens=budget),
                                           limits=FAST)
    assert result.budget is not None and result.budget.estimated
    assert result.budget.spent_tokens <= budget
    assert meter.total <= result.budget.spent_tokens, "the estimate is never below what the server would count"
    assert "partly estimated" in render_markdown(result)


async def test_a_usd_budget_is_kept_at_the_models_price() -> None:
    need, _ = await full_run()
    price_in, price_out = 1.0 / 1_000_000, 4.0 / 1_000_000
    budget_usd = need * price_in  # well under the cost of a whole report (output tokens cost 4x)
    meter = Metered()
    with StubOpenAIServer(meter) as server:
        result = await run_market_research("plant-based dairy", settings_for(server, budget_usd=budget_usd),
                                           limits=FAST)
    spent_usd = sum(i * price_in + o * price_out for i, o in meter.reported)
    assert spent_usd <= budget_usd
    assert result.status is JobStatus.PARTIAL and result.budget is not None and result.budget.reached


def test_a_durable_job_skips_what_does_not_fit_and_the_history_keeps_its_spend(tmp_path: Path) -> None:
    need, _ = asyncio.run(full_run())
    meter = Metered()
    with StubOpenAIServer(meter) as server:
        settings = stub_settings(server.base_url, tmp_path / "data", RESEARCH_BUDGET_TOKENS=str(need // 2))
        with durable_service(settings) as jobs:
            job = jobs.submit(MarketRequest.parse("plant-based dairy"))
            assert jobs.wait(job, 60)
        with durable_service(settings) as jobs:  # read back from the history
            snapshot = jobs.snapshot(job)
    assert meter.total <= need // 2
    assert snapshot is not None and snapshot.status is JobStatus.PARTIAL
    assert any(s.state is StepState.SKIPPED and "budget reached" in s.message for s in snapshot.steps)
    assert snapshot.result is not None and snapshot.result.budget is not None and snapshot.result.budget.reached
    assert snapshot.spend_label == f"{meter.total:,} of {need // 2:,} tokens", "the page shows spend against the budget"
    row = ReportStore(tmp_path / "data").get(job)
    assert row is not None and row.tokens == meter.total, "the history keeps each run's spend"


async def test_the_spend_exceeds_the_budget_by_no_more_than_the_servers_undercount() -> None:
    need, _ = await full_run()
    budget = need // 2
    meter = Metered(bytes_per_token=1)  # a tokenizer denser than the conservative count: a token per byte
    with StubOpenAIServer(meter) as server:
        result = await run_market_research("plant-based dairy", settings_for(server, budget_tokens=budget),
                                           limits=FAST)
    assert result.budget is not None and result.budget.undercount > 0
    assert meter.total <= budget + result.budget.undercount
    assert "may exceed the budget" in render_markdown(result)


def test_the_command_line_takes_a_budget_and_exits_3_with_a_partial_report(tmp_path: Path) -> None:
    need, _ = asyncio.run(full_run())
    meter = Metered()
    with StubOpenAIServer(meter) as server:
        done = run_cli("plant-based dairy", "--budget-tokens", str(need // 2), "--out", str(tmp_path / "r.md"),
                       env={"OPENAI_BASE_URL": server.base_url, "RESEARCH_MODEL": "stub-model",
                            "RESEARCH_API": "chat_completions", "RESEARCH_SEARCH": "none",
                            "RESEARCH_DATA_DIR": str(tmp_path / "data")})
    assert done.returncode == 3, done.stderr
    assert meter.total <= need // 2
    assert "budget reached" in (tmp_path / "r.md").read_text()
    bad = run_cli("plant-based dairy", "--budget-tokens", "lots", env={"RESEARCH_DEMO": "1",
                                                                     "RESEARCH_DATA_DIR": str(tmp_path / "d2")})
    assert bad.returncode == 2 and "RESEARCH_BUDGET_TOKENS must be a whole number" in bad.stderr


# The deployment's daily budget.

ROOT = Path(__file__).resolve().parents[1]


def cli_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RESEARCH_"))}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def daily_env(server: StubOpenAIServer, data_dir: Path, **extra: str) -> dict[str, str]:
    return {"OPENAI_BASE_URL": server.base_url, "RESEARCH_MODEL": "stub-model", "RESEARCH_API": "chat_completions",
            "RESEARCH_SEARCH": "none", "RESEARCH_DATA_DIR": str(data_dir), **extra}


def test_a_spent_daily_budget_refuses_new_jobs_and_names_the_limit_and_the_reset(tmp_path: Path) -> None:
    with StubOpenAIServer(Metered()) as server:
        settings = stub_settings(server.base_url, tmp_path / "data", RESEARCH_DAILY_BUDGET_TOKENS="5000")
        with durable_service(settings) as jobs:
            assert jobs.ledger is not None
            hold = asyncio.run(jobs.ledger.hold(5_000, None))
            asyncio.run(jobs.ledger.settle(hold, 5_000, 0.0))  # what earlier jobs spent today
            with pytest.raises(DailyBudgetSpent, match=r"daily budget of this deployment \(5,000 tokens\) is spent"
                                                       r".*resets at 00:00 UTC \(in \d+ h \d+ min\)"):
                jobs.submit(MarketRequest.parse("plant-based dairy"))
            assert jobs.history() == [], "nothing was recorded"
        assert server.requests == []


def test_the_daily_budget_holds_across_two_processes_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    need, _ = asyncio.run(full_run())
    daily = need * 3 // 2  # room for one and a half reports
    database = fresh_database(postgres_url, "daily")
    meter = Metered()
    with StubOpenAIServer(meter) as server:
        runs = [subprocess.Popen([sys.executable, "-m", "research", topic, "--out", str(tmp_path / f"{n}.md")],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                 env=cli_env(daily_env(server, tmp_path / f"d{n}", RESEARCH_DATABASE_URL=database,
                                                       RESEARCH_WORKER_ID=f"w{n}",
                                                       RESEARCH_DAILY_BUDGET_TOKENS=str(daily))))
                for n, topic in enumerate(["plant-based dairy", "vertical farming"])]
        codes = [run.wait(timeout=120) for run in runs]
    assert meter.total <= daily, "the two processes together stayed within the deployment's daily budget"
    assert 3 in codes, "at least one report was cut short by the daily budget"
    reports = [(tmp_path / f"{n}.md").read_text() for n in range(2) if (tmp_path / f"{n}.md").exists()]
    assert any("daily budget" in text for text in reports)


def test_the_estimate_before_a_run_is_a_range_priced_at_the_models_rate() -> None:
    openai_settings = load_settings({"OPENAI_API_KEY": "sk-x", "RESEARCH_SEARCH": "none"})
    market = estimate(MarketRequest.parse("plant-based dairy"), openai_settings)
    assert 0 < market.low_tokens < market.high_tokens
    assert market.low_usd is not None and market.high_usd is not None and market.low_usd < market.high_usd
    assert re.fullmatch(r"about [\d.]+–[\d.]+ k tokens, ≈ \$[\d.]+–[\d.]+ with gpt-4\.1-mini", market.label)
    batch = estimate(CompanyRequest.parse([f"Company {n}" for n in range(10)]), openai_settings)
    assert batch.high_tokens > market.high_tokens, "ten companies need more than one market report"
    local = estimate(MarketRequest.parse("plant-based dairy"), load_settings(
        {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "RESEARCH_MODEL": "llama"}))
    assert local.low_usd is None and local.label.endswith("k tokens with llama"), "no price, no dollars"
    searched = estimate(MarketRequest.parse("plant-based dairy"), load_settings({"OPENAI_API_KEY": "sk-x"}))
    assert searched.high_tokens > market.high_tokens, "evidence passages make the prompts longer"


# Each person's daily budget (with sign-in).

ALICE = Owner.signed_in("http://127.0.0.1:9400", "alice")
BOB = Owner.signed_in("http://127.0.0.1:9400", "bob")


def test_a_persons_daily_budget_holds_them_alone(tmp_path: Path) -> None:
    need, _ = asyncio.run(full_run())
    meter = Metered()
    with StubOpenAIServer(meter) as server:
        settings = stub_settings(server.base_url, tmp_path / "data", RESEARCH_USER_DAILY_BUDGET_TOKENS=str(need // 2))
        with durable_service(settings) as jobs:
            first = jobs.submit(MarketRequest.parse("plant-based dairy"), owner=ALICE)
            assert jobs.wait(first, 60)
            alices = jobs.snapshot(first, Access.of(ALICE))
            assert alices.status is JobStatus.PARTIAL, "half a report's need: Alice's report is cut short"
            assert "budget reached: your daily budget" in "\n".join(s.message for s in alices.steps)
            assert meter.total <= need // 2, "what the server reported stays within Alice's daily budget"

            personal = jobs.budget_for(ALICE.id).ledgers[-1]  # the rest of today's budget, spent elsewhere
            asyncio.run(personal.settle(asyncio.run(personal.hold(1, None)), need, 0.0))
            with pytest.raises(DailyBudgetSpent, match=r"daily budget of your account \([\d,]+ tokens\) is spent"):
                jobs.submit(MarketRequest.parse("vertical farming"), owner=ALICE)
            bobs = jobs.submit(MarketRequest.parse("vertical farming"), owner=BOB)
            assert jobs.wait(bobs, 60) and jobs.snapshot(bobs, Access.of(BOB)).status is JobStatus.PARTIAL
            local = jobs.submit(MarketRequest.parse("oat milk"))  # no sign-in, no personal budget
            assert jobs.wait(local, 60) and jobs.snapshot(local).status is JobStatus.COMPLETE
