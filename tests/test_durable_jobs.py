"""The job service with durable jobs: jobs take turns at the provider limit; a restarted
runner resumes a job a killed process left, and its page says so.

Everything goes over HTTP to the OpenAI-compatible test server; the runner is
the one the app uses (``JobService(settings, store)``).
"""

from __future__ import annotations

from pathlib import Path

from dbos import DBOS

from research.config import Settings
from research.core.runs import JobStatus
from research.core.steps import StepState
from research.inputs import CompanyRequest, MarketRequest
from research.jobs.durable import RERUN_NOTE
from research.jobs.service import JobService
from research.store import ReportStore
from tests.support.crash import kill_when, wait_until
from tests.support.held_server import held_server
from tests.support.jobs import durable_service, stub_settings
from tests.support.responders import schema_title

WAIT = 60


def test_a_new_job_takes_its_turn_before_a_long_batch_has_finished(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with held_server({"CompanyProfile"}) as stub:
        settings = stub_settings(stub.server.base_url, data_dir, RESEARCH_MAX_CONCURRENCY="1")  # one request at a time
        with durable_service(settings) as runner:
            batch = runner.submit(CompanyRequest.parse(["Acme", "Globex", "Initech", "Umbrella"], 4), settings)
            wait_until(lambda: stub.server.in_flight == 1, "the first company in flight")
            companies = ("Acme", "Globex", "Initech", "Umbrella")

            def waiting(job: str, keys: list[str]) -> int:
                messages = {s.key: s.message for s in runner.snapshot(job).steps}
                return sum(messages[key] == "queued (provider limit)" for key in keys)

            wait_until(lambda: waiting(batch, [f"company:{name}" for name in companies]) == 3,
                       "three companies' cards saying they wait for the provider limit")
            market = runner.submit(MarketRequest.parse("plant-based dairy"), settings)
            wait_until(lambda: waiting(market, ["agent:market"]) == 1, "the market card saying why it waits")
            stub.release()
            assert runner.wait(batch, WAIT) and runner.wait(market, WAIT)
            assert runner.snapshot(batch).status is JobStatus.COMPLETE
            assert runner.snapshot(market).status is JobStatus.COMPLETE
    order = [schema_title(r) for r in stub.server.requests]
    # Queued after three companies but first in its job, the market agent goes ahead of at least two of
    # them (the batch's first company, ranked first too, may go before it); in arrival order it would be 5th.
    assert order.index("MarketData") <= 2, order
    assert stub.server.max_in_flight == 1


def test_a_restarted_runner_resumes_the_job_and_says_so(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with held_server({"CompetitorReport", "CustomerReport"}) as stub:
        job = kill_when(data_dir, stub, ["agent:market"], 2, RESEARCH_WORKER_ID="app-1")
        stub.release()
        settings = stub_settings(stub.server.base_url, data_dir, RESEARCH_WORKER_ID="app-1")
        with durable_service(settings) as runner:  # the app starting again with the same worker id
            wait_until(lambda: runner.snapshot(job) is not None and runner.snapshot(job).resumed, "the job resumed")
            assert runner.wait(job, WAIT)
            snapshot = runner.snapshot(job)
    assert snapshot.status is JobStatus.COMPLETE
    steps = {s.key: s for s in snapshot.steps}
    assert steps["agent:market"].state is StepState.DONE and steps["agent:market"].message == "recorded before the restart"
    assert steps["agent:competitor"].message == RERUN_NOTE and steps["agent:customer"].message == RERUN_NOTE
    titles = stub.titles()
    assert titles["MarketData"] == 1 and titles["CompetitorReport"] == 2
    assert ReportStore(data_dir).get(job).status == "complete"


def test_a_job_records_its_answers_but_not_evidence_it_can_gather_again_for_nothing(tmp_path: Path) -> None:
    """Every record is a database write on the report's way. Without web search each agent's evidence is empty:
    a restarted job gathers it again instead. The demo's passages are dated, so they stay recorded."""
    def recorded(settings: Settings, demo_speed: float = 1.0) -> set[str]:
        jobs = JobService(settings, ReportStore(settings.data_dir), demo_speed=demo_speed)
        try:
            job = jobs.submit(MarketRequest.parse("plant-based dairy"))
            assert jobs.wait(job, WAIT) and jobs.snapshot(job).status is JobStatus.COMPLETE
            return {step["function_name"] for step in DBOS.list_workflow_steps(job, load_output=False)}
        finally:
            jobs.close()

    answers = {"agent:market", "agent:competitor", "agent:customer", "section:market", "section:competitor",
               "section:customer", "report:summary"}
    evidence = {"evidence:market", "evidence:competitor", "evidence:customer"}
    with held_server(set()) as stub:
        assert recorded(stub_settings(stub.server.base_url, tmp_path / "stub")) == answers
    assert recorded(stub_settings("http://127.0.0.1:9/v1", tmp_path / "demo", RESEARCH_DEMO="1"), demo_speed=50) \
        == answers | evidence


def test_the_rate_limit_holds_back_requests_and_the_page_says_why(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with held_server(set()) as stub:  # every answer at once: only the limit of 2 per minute holds requests back
        settings = stub_settings(stub.server.base_url, data_dir, RESEARCH_RATE_LIMIT="2")
        with durable_service(settings) as runner:
            batch = runner.submit(CompanyRequest.parse(["Acme", "Globex", "Initech"], 3), settings)

            def steps() -> dict[str, str]:
                return {s.key: f"{s.state.value} {s.message}".strip() for s in runner.snapshot(batch).steps}

            wait_until(lambda: sorted(steps()[f"company:{n}"] for n in ("Acme", "Globex", "Initech"))
                       == ["done", "done", "queued queued (provider limit)"], "two companies done, one held back")
            assert [schema_title(r) for r in stub.server.requests] == ["CompanyProfile"] * 2
            assert runner.cancel(batch) and runner.wait(batch, WAIT)
    assert runner.snapshot(batch).status is JobStatus.CANCELLED
