"""The job service, durable on SQLite, over HTTP to the test server: one job per intent, retries after a cancel or
a failure, and *Run again* with the full request the job stored.

These are the bugs users met: a double click or a second tab made two jobs; *Retry failed parts* after a Cancel
always failed (the kept steps could not be handed to DBOS); *Run again* of a batch saved without its result
split its title on commas ("Acme, Inc." became two companies, "… and 2 more" one).
"""

from __future__ import annotations

import threading
from pathlib import Path

import sqlalchemy as sa
from stub import Plan, agent_of, serve

from research.config import Settings
from research.core.runs import JobStatus
from research.inputs import CompanyRequest, MarketRequest
from research.store import DuplicateJob, ReportStore, new_job_id
from tests.support.crash import wait_until
from tests.support.held_server import HeldServer, held_server
from tests.support.jobs import durable_service, stub_settings
from tests.support.openai_server import Reply

WAIT = 60
BATCH = ["Stripe", "Acme, Inc.", "Datadog", "Cloudflare", "Vercel"]


def held(stub: HeldServer, tmp_path: Path) -> Settings:
    return stub_settings(stub.server.base_url, tmp_path / "data")


def test_the_same_request_from_eight_threads_at_once_makes_one_job(tmp_path: Path) -> None:
    with held_server({"MarketData"}) as stub, durable_service(held(stub, tmp_path)) as jobs:
        start = threading.Barrier(8)
        ids: list[str] = []

        def click(topic: str) -> None:
            start.wait()
            ids.append(jobs.submit(MarketRequest.parse(topic)))

        threads = [threading.Thread(target=click, args=(topic,))
                   for topic in ["plant-based dairy", "Plant-based  dairy ", "PLANT-BASED DAIRY"] * 2 +
                   ["plant-based dairy"] * 2]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT)
        stub.release()
        assert len(set(ids)) == 1, ids
        assert jobs.wait(ids[0], WAIT)
        again = jobs.run_again(ids[0])  # a deliberate second run is a new job
        assert again not in (None, ids[0]) and jobs.wait(again, WAIT)
    assert stub.titles()["MarketData"] == 2
    assert len(ReportStore(tmp_path / "data").list()) == 2


def test_two_processes_recording_the_same_request_keep_one_running_row(tmp_path: Path) -> None:
    stores = [ReportStore(tmp_path / "data") for _ in range(2)]  # as two replicas open the database
    request = CompanyRequest.parse(BATCH)
    start, outcomes = threading.Barrier(2), []

    def record(store: ReportStore) -> None:
        job_id = new_job_id()
        start.wait()
        try:
            store.record_started(job_id, request=request, provider="p", model="m", demo=False, created_at=1.0,
                                 intent=request.intent)
            outcomes.append(("started", job_id))
        except DuplicateJob as duplicate:
            outcomes.append(("duplicate", duplicate.job_id))

    threads = [threading.Thread(target=record, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert sorted(kind for kind, _ in outcomes) == ["duplicate", "started"]
    assert len({job_id for _, job_id in outcomes}) == 1, "the duplicate names the running job"
    started = outcomes[0][1]
    stores[0].record_finished(started, status="complete", finished_at=2.0, result_json="")
    stores[1].record_started(new_job_id(), request=request, provider="p", model="m", demo=False, created_at=3.0,
                             intent=request.intent)  # once it has finished, the same request may start again


def test_retry_failed_parts_after_a_cancel_completes_the_report(tmp_path: Path) -> None:
    with held_server({"CustomerReport"}) as stub, durable_service(held(stub, tmp_path)) as jobs:
        first = jobs.submit(MarketRequest.parse("plant-based dairy"))
        wait_until(lambda: [s.key for s in jobs.snapshot(first).steps if s.state.value == "done"][-2:]
                   == ["section:market", "section:competitor"], "the market and competitor sections written")
        assert jobs.cancel(first) and jobs.wait(first, WAIT)
        cancelled = jobs.snapshot(first)
        assert cancelled.status is JobStatus.CANCELLED and cancelled.result is not None
        stub.release()
        before = stub.titles()
        retry = jobs.retry_failed(first)
        assert retry is not None and jobs.wait(retry, WAIT)
        snapshot = jobs.snapshot(retry)
        asked = stub.titles() - before
    assert snapshot.status is JobStatus.COMPLETE, snapshot.error
    assert asked["MarketData"] == 0 and asked["CompetitorReport"] == 0, "what finished before the cancel is kept"
    assert asked["CustomerReport"] == 1 and asked["ExecutiveSummary"] == 1
    assert snapshot.result.market.ok and snapshot.result.market.usage.total_tokens == 0
    assert ReportStore(tmp_path / "data").get(retry).status == "complete"


def test_retry_failed_parts_after_a_failure_and_after_a_restart(tmp_path: Path) -> None:
    broken = {"customer": True}
    plan = Plan(gate=lambda r: Reply(status=500) if agent_of(r) == "customer" and broken["customer"] else None)
    with serve(plan) as server:
        settings = stub_settings(server.base_url, tmp_path / "data", RESEARCH_MAX_RETRIES="0")
        with durable_service(settings) as jobs:
            first = jobs.submit(MarketRequest.parse("plant-based dairy"))
            assert jobs.wait(first, WAIT) and jobs.snapshot(first).status is JobStatus.PARTIAL
        broken["customer"] = False
        server.reset_stats()
        with durable_service(settings) as jobs:  # the app started again: the failed job is read from the history
            retry = jobs.retry_failed(first)
            assert retry is not None and jobs.wait(retry, WAIT)
            snapshot = jobs.snapshot(retry)
        asked = sorted(agent_of(r) for r in server.requests)
    assert snapshot.status is JobStatus.COMPLETE
    assert asked == ["customer", "section", "summary"], "only the failed agent, its section and the summary ran"


def test_run_again_of_an_interrupted_batch_researches_exactly_its_companies(tmp_path: Path) -> None:
    with serve() as server:
        settings = stub_settings(server.base_url, tmp_path / "data")
        store = ReportStore(settings.data_dir)
        interrupted = new_job_id()  # what a process killed mid-batch leaves: a running row, no result
        request = CompanyRequest.parse(BATCH)
        store.record_started(interrupted, request=request, provider="p", model="m", demo=False, created_at=1.0,
                             worker=settings.worker_id, intent=request.intent)
        with durable_service(settings) as jobs:
            shown = jobs.snapshot(interrupted)
            assert shown.status is JobStatus.INTERRUPTED and shown.title == "Stripe, Acme, Inc., Datadog and 2 more"
            again = jobs.run_again(interrupted)
            assert again is not None and jobs.wait(again, WAIT)
            snapshot = jobs.snapshot(again)
        profiled = sorted(r.user_text for r in server.requests if agent_of(r) == "company")
    assert snapshot.request.names == tuple(BATCH)
    assert [o.key for o in snapshot.result.companies] == [f"company:{name}" for name in BATCH]
    assert len(profiled) == 5 and all(any(f'"{name}"' in text for text in profiled) for name in BATCH)


def test_a_batch_an_older_release_saved_without_its_names_is_not_guessed(tmp_path: Path) -> None:
    store = ReportStore(tmp_path / "data")
    job_id = new_job_id()
    store.record_started(job_id, request=CompanyRequest.parse(BATCH), provider="p", model="m", demo=False,
                         created_at=1.0)
    with store.engine.begin() as conn:  # as the previous release left it: the title only
        conn.execute(sa.update(store.jobs).where(store.jobs.c.id == job_id).values(request_json=None))
    with durable_service(Settings(data_dir=tmp_path / "data", demo=True)) as jobs:
        snapshot = jobs.snapshot(job_id)
        assert snapshot.status is JobStatus.INTERRUPTED and snapshot.request is None
        assert jobs.run_again(job_id) is None and jobs.retry_failed(job_id) is None
