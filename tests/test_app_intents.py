"""What a user's intent gets: one job per click, the right page and topic for a link, retries of what failed."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from stub import Plan, agent_of, app_served, serve

from research.config import Settings
from research.inputs import CompanyRequest
from research.jobs.service import JobService
from research.workflows.market import MarketRequest
from tests.support.openai_server import Reply
from ui import runtime

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture
def server(monkeypatch, tmp_path):
    with app_served(Plan(latency={"market": 0.3, "competitor": 0.3, "customer": 0.3}), monkeypatch, tmp_path) as stub:
        yield stub


def generate(at: AppTest) -> AppTest:
    return next(b for b in at.button if b.label == "Generate report").click().run()


def job_of(at: AppTest) -> str:
    job = at.query_params["job"]
    return job[0] if isinstance(job, list) else job


def test_three_quick_clicks_start_one_job(server) -> None:
    held = threading.Event()  # the job stays running until the clicks are done
    plan = server.responder
    server.responder = lambda request: (held.wait(30), plan(request))[1]
    sessions = [AppTest.from_file(APP, default_timeout=30).run() for _ in range(3)]  # clicks that land before
    for at in sessions:                                                             # the page has moved on
        at.text_input(key="topic").input("plant-based dairy")
        generate(at)
    held.set()
    first = job_of(sessions[0])
    assert [job_of(at) for at in sessions] == [first] * 3, "the identical running job is reattached"
    assert runtime.jobs().wait(first, 30)
    assert sum(1 for r in server.requests if agent_of(r) == "market") == 1, "one job reached the model server"


def test_a_link_opens_the_report_first_and_new_research_shows_an_empty_form(server) -> None:
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.text_input(key="topic").input("oat milk in the Nordics")
    generate(at)
    job = job_of(at)
    assert runtime.jobs().wait(job, 30)
    reloaded = AppTest.from_file(APP, default_timeout=30)
    reloaded.query_params["job"] = job
    reloaded.run()
    assert not [t for t in reloaded.text_input if t.key == "topic"], "the report comes first, no form above it"
    assert [m.label for m in reloaded.metric][:2] == ["Market size (2025)", "Growth (CAGR)"], "headline figures first"
    next(b for b in reloaded.button if b.label == "New research").click().run()
    assert reloaded.text_input(key="topic").value == "" and "job" not in reloaded.query_params


def test_a_company_job_link_opens_on_the_companies_page(server) -> None:
    job = runtime.jobs().submit(CompanyRequest.parse(["Stripe", "Datadog"]), Settings(
        api_key="sk-test", base_url=server.base_url, api="chat_completions", model="stub-model"))
    assert runtime.jobs().wait(job, 30)
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["job"] = job
    at.run()
    assert any(t.value == "Company research" for t in at.title), "the job opened on its own workflow's page"


def test_retry_failed_parts_requests_only_what_failed() -> None:
    broken = {"customer": True}
    plan = Plan(gate=lambda r: Reply(status=500) if agent_of(r) == "customer" and broken["customer"] else None)
    with serve(plan) as server:
        settings = Settings(api_key="sk-test", base_url=server.base_url, api="chat_completions", model="stub-model",
                            max_retries=0)
        runner = JobService(settings, durable=False)
        first = runner.submit(MarketRequest.parse("plant-based dairy"), settings)
        assert runner.wait(first, 30)
        assert runner.snapshot(first).status.value == "partial"
        server.reset_stats()
        broken["customer"] = False
        retry = runner.retry_failed(first, settings)
        assert runner.wait(retry, 30)
        requests = sorted(agent_of(r) for r in server.requests)
        snapshot = runner.snapshot(retry)
        runner.close()
    assert requests == ["customer", "section", "summary"], "only the failed agent, its section and the summary ran"
    assert snapshot.status.value == "complete"
    assert snapshot.result.market.ok and snapshot.result.market.usage.total_tokens == 0, "kept from the earlier run"
