"""Budgets in the app (AppTest against the local stub server): the expected spend before a run, a run's own
budget from *Run options*, what a job has spent while it runs, and a spent daily budget said plainly."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from stub import Plan, app_served

from ui import runtime

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture
def server(monkeypatch, tmp_path):
    with app_served(Plan(latency={"section": 0.05, "summary": 0.05}), monkeypatch, tmp_path) as stub:
        yield stub


def job_of(at: AppTest) -> str:
    job = at.query_params["job"]
    return job[0] if isinstance(job, list) else job


def generate(at: AppTest, topic: str) -> AppTest:
    at.text_input(key="topic").input(topic)
    return next(b for b in at.button if b.label == "Generate report").click().run()


def test_the_form_says_what_a_report_is_expected_to_spend(server) -> None:
    at = AppTest.from_file(APP, default_timeout=30).run()
    spend = [c.value for c in at.caption if "Expected spend per report" in c.value]
    assert len(spend) == 1 and "k tokens" in spend[0] and "stub-model" in spend[0]
    assert server.requests == [], "estimating makes no request"


def test_a_token_budget_from_run_options_holds_the_run_to_it(server) -> None:
    at = AppTest.from_file(APP, default_timeout=30).run()
    next(n for n in at.number_input if n.label == "Token budget").set_value(6_000)
    generate(at, "plant-based dairy")
    job = job_of(at)
    assert runtime.jobs().wait(job, 30)
    snapshot = runtime.jobs().snapshot(job)
    assert snapshot.budget_tokens == 6_000
    assert snapshot.result.budget.spent_tokens <= 6_000
    at.run()
    page = "\n".join(m.value for m in at.markdown)
    assert "budget reached" in page, "the steps the budget held back say so"
    assert [s.label.split(" —")[0].split(" in ")[0] for s in at.status] == ["Partial report ready"], [s.label for s in at.status]


def test_a_spent_daily_budget_refuses_a_new_report_with_the_limit_and_the_reset(server, monkeypatch) -> None:
    monkeypatch.setenv("RESEARCH_DAILY_BUDGET_TOKENS", "1000")
    AppTest.from_file(APP, default_timeout=30).run()
    ledger = runtime.jobs().ledger  # earlier runs today spent the whole budget
    asyncio.run(ledger.settle(asyncio.run(ledger.hold(900, None)), 1_000, 0.0))

    again = AppTest.from_file(APP, default_timeout=30).run()
    generate(again, "oat milk")
    errors = [e.value for e in again.error]
    assert len(errors) == 1 and "daily budget of this deployment (1,000 tokens) is spent" in errors[0], errors
    assert "resets" in errors[0]
    assert "job" not in again.query_params
