"""The job history on SQLite and on PostgreSQL: round trips, ordering, ids, restarts, crash safety, workers, races."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest
import sqlalchemy as sa

from research.config import Settings
from research.core.runs import JobStatus
from research.core.steps import StepState
from research.inputs import CompanyRequest, MarketRequest
from research.jobs.service import JobService
from research.providers.demo_model import DemoModel
from research.providers.source import ModelSource
from research.reports.companies import render_batch_csv, render_batch_markdown
from research.reports.market import render_markdown
from research.store import DB_FILENAME, ReportStore, StoredJob, database_url_for, is_valid_job_id, new_job_id
from research.workflows.companies import CompanyBatchResult
from research.workflows.market import MarketResearchResult, run_market_research
from tests.support.requests import request_for

ROOT = Path(__file__).resolve().parents[1]
BAD_IDS = ["../../etc", "<script>", "", "ABCDEF123456", "abcdef12345", "abcdef1234567", "abcdef12345g", "abcdef123456\n"]


@pytest.fixture(scope="module")
def demo_result() -> MarketResearchResult:
    """One real pipeline result from the fast offline demo model."""
    source = ModelSource("demo", "offline-demo", "demo", None, {}, DemoModel(speed=100))
    return asyncio.run(run_market_research("plant-based dairy", Settings(demo=True), models=source))


@pytest.fixture
def open_store(database_url: str | None, tmp_path: Path) -> Iterator[Callable[..., ReportStore]]:
    """Opens stores on this test's database (SQLite in ``data_dir``, or its fresh PostgreSQL database); closes them after."""
    stores: list[ReportStore] = []

    def open_(data_dir: Path = tmp_path) -> ReportStore:
        stores.append(ReportStore(data_dir, database_url))
        return stores[-1]

    yield open_
    for store in stores:
        store.close()


def start(store: ReportStore, job_id: str, created_at: float, topic: str = "topic", worker: str = "local") -> None:
    store.record_started(job_id, request=MarketRequest(topic=topic), provider="p", model="m", demo=True, created_at=created_at,
                         worker=worker)


def test_job_ids() -> None:
    ids = {new_job_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(is_valid_job_id(i) for i in ids)
    assert not any(is_valid_job_id(bad) for bad in BAD_IDS)
    assert not is_valid_job_id(None)


def test_database_urls(tmp_path: Path) -> None:
    assert database_url_for(tmp_path) == f"sqlite:///{tmp_path.resolve() / DB_FILENAME}"
    assert database_url_for(tmp_path, "  ") == ReportStore.url_for(tmp_path, None) == database_url_for(tmp_path)
    assert database_url_for(tmp_path, "postgresql://u:pw@db:5432/research") == "postgresql+psycopg://u:pw@db:5432/research"
    assert database_url_for(tmp_path, "postgres://db/x") == "postgresql+psycopg://db/x"
    for bad in ("mysql://u:secret@db/x", "sqlite:///elsewhere.db", "u:secret@db/x"):
        with pytest.raises(ValueError) as caught:
            ReportStore(tmp_path / "other", bad)
        assert "secret" not in str(caught.value)
    assert not (tmp_path / "other").exists()


def test_round_trip_of_a_demo_result(open_store, database_url, tmp_path: Path, demo_result: MarketResearchResult) -> None:
    store = open_store(tmp_path / "data")
    if database_url is None:
        assert (tmp_path / "data" / DB_FILENAME).is_file() and store.path == (tmp_path / "data" / DB_FILENAME).resolve()
    else:
        assert store.path is None and not (tmp_path / "data" / DB_FILENAME).exists()
    job_id = new_job_id()
    store.record_started(
        job_id, request=MarketRequest(topic=demo_result.topic), provider=demo_result.provider,
        model=demo_result.model, demo=demo_result.demo, created_at=demo_result.started_at,
    )
    running = store.get(job_id)
    assert running is not None
    assert running.status == "running"
    assert running.finished_at is None and running.duration is None
    assert store.result_json(job_id) is None

    store.record_finished(job_id, status=demo_result.status.value, finished_at=demo_result.finished_at,
                          result_json=demo_result.model_dump_json())
    job = store.get(job_id)
    assert job == StoredJob(
        id=job_id, kind="market", topic="plant-based dairy", status=demo_result.status.value,
        created_at=demo_result.started_at, finished_at=demo_result.finished_at,
        provider=demo_result.provider, model=demo_result.model, demo=True, worker="local",
    )
    assert job.status == JobStatus.COMPLETE
    assert job.duration == pytest.approx(demo_result.elapsed)

    text = store.result_json(job_id)
    assert text is not None
    restored = MarketResearchResult.model_validate_json(text)
    assert restored.model_dump() == demo_result.model_dump()


def test_list_is_newest_first_and_limited(open_store) -> None:
    store = open_store()
    ids = [new_job_id() for _ in range(5)]
    for n, job_id in enumerate(ids):
        start(store, job_id, created_at=1000.0 + n, topic=f"topic {n}")
    store.record_finished(ids[0], status="failed", finished_at=2000.0, result_json="{}")
    assert [job.id for job in store.list()] == ids[::-1]
    assert [job.id for job in store.list(limit=2)] == [ids[4], ids[3]]
    assert store.list(limit=0) == []
    assert store.list()[-1].status == "failed"


def test_list_does_not_load_the_result_column(open_store) -> None:
    store = open_store()
    job_id = new_job_id()
    start(store, job_id, created_at=1.0)
    store.record_finished(job_id, status="complete", finished_at=2.0, result_json='{"big": 1}')
    statements: list[str] = []
    sa.event.listen(store.engine, "before_cursor_execute", lambda _c, _cur, statement, *_: statements.append(statement))
    assert [job.id for job in store.list()] == [job_id]
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert selects and not any("result_json" in s for s in selects)


def test_delete(open_store) -> None:
    store = open_store()
    keep, drop = new_job_id(), new_job_id()
    start(store, keep, created_at=1.0)
    start(store, drop, created_at=2.0)
    assert store.delete(drop) is True
    assert store.get(drop) is None and store.result_json(drop) is None
    assert store.delete(drop) is False
    assert [job.id for job in store.list()] == [keep]


def test_invalid_ids_are_refused(open_store) -> None:
    store = open_store()
    start(store, new_job_id(), created_at=1.0)
    for bad in BAD_IDS:
        assert store.get(bad) is None
        assert store.result_json(bad) is None
        assert store.delete(bad) is False
        with pytest.raises(ValueError):
            start(store, bad, created_at=1.0)
        with pytest.raises(ValueError):
            store.record_finished(bad, status="complete", finished_at=1.0, result_json="{}")
    assert len(store.list()) == 1
    assert store.get(new_job_id()) is None  # valid but unknown


def test_bad_status_is_refused(open_store) -> None:
    store = open_store()
    job_id = new_job_id()
    start(store, job_id, created_at=1.0)
    for status in ("running", "done", ""):
        with pytest.raises(ValueError):
            store.record_finished(job_id, status=status, finished_at=2.0, result_json="{}")
    with pytest.raises(sa.exc.IntegrityError):
        start(store, job_id, created_at=3.0)
    assert store.get(job_id).status == "running"  # type: ignore[union-attr]


def test_topic_provider_and_model_are_stored_as_given(open_store) -> None:
    store = open_store()
    job_id = new_job_id()
    topic = "Robert'); DROP TABLE jobs;-- <b>café</b>"
    store.record_started(job_id, request=CompanyRequest(names=(topic,)), provider="OpenAI · x (y)", model="m'1",
                         demo=False, created_at=5.0)
    job = store.get(job_id)
    assert job is not None
    assert (job.topic, job.provider, job.model, job.kind, job.demo) == (topic, "OpenAI · x (y)", "m'1", "companies", False)


def test_mark_interrupted(open_store) -> None:
    store = open_store()
    running, done = [new_job_id(), new_job_id()], new_job_id()
    for n, job_id in enumerate([*running, done]):
        start(store, job_id, created_at=float(n))
    store.record_finished(done, status="partial", finished_at=10.0, result_json="{}")
    assert store.mark_interrupted() == 2
    assert {store.get(j).status for j in running} == {"interrupted"}  # type: ignore[union-attr]
    assert store.get(done).status == "partial"  # type: ignore[union-attr]
    assert store.result_json(done) == "{}"
    assert store.mark_interrupted() == 0


def test_mark_interrupted_touches_only_its_workers_jobs_and_spares_the_kept_ones(open_store) -> None:
    store = open_store()
    mine, resumed, theirs, legacy = (new_job_id() for _ in range(4))
    start(store, mine, created_at=1.0, worker="w1")
    start(store, resumed, created_at=2.0, worker="w1")
    start(store, theirs, created_at=3.0, worker="w2")
    start(store, legacy, created_at=4.0)
    with store.engine.begin() as conn:  # a row saved by an older release has no worker
        conn.execute(sa.text("UPDATE jobs SET worker = NULL WHERE id = :id"), {"id": legacy})
    assert store.mark_interrupted("w1", keep=[resumed, "not-an-id"]) == 2
    assert {j.id: j.status for j in store.list()} == {mine: "interrupted", resumed: "running", theirs: "running",
                                                      legacy: "interrupted"}
    assert store.mark_interrupted("w2", keep=()) == 1 and store.get(theirs).status == "interrupted"  # type: ignore[union-attr]
    assert store.mark_interrupted("w1") == 1 and store.get(resumed).status == "interrupted"  # type: ignore[union-attr]


def test_a_restarted_store_sees_the_same_data(open_store, database_url, tmp_path: Path) -> None:
    first = open_store()
    job_id = new_job_id()
    start(first, job_id, created_at=1.0)
    first.record_finished(job_id, status="cancelled", finished_at=3.0, result_json='{"a": 1}')
    first.close()
    second = open_store()
    assert second.get(job_id) == first.get(job_id), "a closed store reconnects when used again"
    assert second.get(job_id).duration == 2.0  # type: ignore[union-attr]
    assert second.result_json(job_id) == '{"a": 1}'
    if database_url is None:
        with closing(sqlite3.connect(tmp_path / DB_FILENAME)) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        with second.engine.connect() as conn:
            pragmas = [conn.exec_driver_sql(f"PRAGMA {name}").scalar() for name in ("synchronous", "busy_timeout")]
        assert pragmas == [2, 10_000], "synchronous=FULL, a 10 s busy timeout"


def test_other_tables_in_the_sqlite_file_are_left_alone(tmp_path: Path) -> None:
    with closing(sqlite3.connect(tmp_path / DB_FILENAME)) as conn, conn:  # e.g. a workflow library's own tables
        conn.execute("CREATE TABLE workflow_status (workflow_uuid TEXT PRIMARY KEY, status TEXT)")
        conn.execute("INSERT INTO workflow_status VALUES ('wf-1', 'PENDING')")
    store = ReportStore(tmp_path)
    start(store, new_job_id(), created_at=1.0)
    store.close()
    with closing(sqlite3.connect(tmp_path / DB_FILENAME)) as conn:
        assert conn.execute("SELECT * FROM workflow_status").fetchall() == [("wf-1", "PENDING")]
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"workflow_status", "jobs", "store_meta"}


def test_stores_opening_a_new_database_at_the_same_moment_all_work(open_store) -> None:
    barrier, errors, stores = threading.Barrier(6), [], []

    def open_one() -> None:
        barrier.wait()
        try:
            stores.append(open_store())
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors and len(stores) == 6
    ids = [new_job_id() for _ in stores]
    for n, (store, job_id) in enumerate(zip(stores, ids)):
        start(store, job_id, created_at=float(n))
    assert [job.id for job in stores[0].list()] == ids[::-1]


CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from research.inputs import MarketRequest
    from research.store import ReportStore, new_job_id

    store = ReportStore(Path(sys.argv[1]), sys.argv[2] or None)
    payload = '{"text": "' + "x" * 50_000 + '"}'
    while True:
        job_id = new_job_id()
        store.record_started(job_id, request=MarketRequest(topic="crash test"), provider="p", model="m",
                             demo=True, created_at=time.time())
        print("started", job_id, flush=True)
        store.record_finished(job_id, status="complete", finished_at=time.time(), result_json=payload)
        print("done", job_id, flush=True)
""")


def test_the_database_survives_kill_9_during_writes(open_store, database_url, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path), database_url or ""], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    committed: list[str] = []
    half_done = ""
    try:
        assert proc.stdout is not None
        while not half_done:
            line = proc.stdout.readline()
            if not line:
                pytest.fail(f"writer exited early: {proc.stderr.read() if proc.stderr else ''}")
            word, job_id = line.split()
            if word == "done":
                committed.append(job_id)
            elif len(committed) >= 20:
                half_done = job_id  # its record_started is committed; record_finished is under way
    finally:
        proc.kill()  # SIGKILL, while the writer is in the middle of its loop
        proc.wait(timeout=10)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
    assert proc.returncode == -9

    store = open_store()
    if database_url is None:
        with closing(sqlite3.connect(tmp_path / DB_FILENAME)) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    for job_id in committed:
        job = store.get(job_id)
        assert job is not None and job.status == "complete" and job.finished_at is not None
        assert json.loads(store.result_json(job_id) or "")["text"] == "x" * 50_000
    cut = store.get(half_done)
    assert cut is not None and cut.status in {"running", "complete"}
    store.mark_interrupted()  # a pair cut in half is now "interrupted", never left "running"
    statuses = {job.id: job.status for job in store.list(limit=10_000)}
    assert set(statuses.values()) <= {"complete", "interrupted"}
    assert statuses[half_done] == ("interrupted" if cut.status == "running" else "complete")
    fresh = new_job_id()
    start(store, fresh, created_at=1.0)  # still writable after the crash
    assert store.get(fresh) is not None


# A market run and a company batch exactly as the previous release stored them (before the graph
# executor): three research agents plus one "synthesis" step holding every prose section, and a
# batch keyed by the bare company names with a "comparison" step.
PREVIOUS_RELEASE_MARKET = """{
 "status": "partial", "error": null, "started_at": 1763780000.0, "finished_at": 1763780014.5,
 "provider": "OpenAI · gpt-4.1-mini (Responses API)", "model": "gpt-4.1-mini", "demo": false,
 "topic": "oat milk in the Nordics",
 "market": {"key": "market", "state": "done", "error": null, "attempts": 1,
  "started_at": 1763780000.1, "finished_at": 1763780004.0,
  "usage": {"requests": 1, "input_tokens": 310, "output_tokens": 420},
  "result": {"sources": [{"title": "Nordic Dairy Review 2025", "url": "https://example.org/ndr"}],
   "as_of": "2025-11-20",
   "market_size": {"value": 1.4, "currency": "EUR", "scale": "billion", "year": 2025},
   "growth": {"cagr_percent": 7.5, "start_year": 2025, "end_year": 2030},
   "key_trends": ["Barista editions in cafes"], "drivers": ["Lactose intolerance"], "risks": ["Price wars"]}},
 "competitor": {"key": "competitor", "state": "done", "error": null, "attempts": 2,
  "started_at": 1763780000.1, "finished_at": 1763780006.0,
  "usage": {"requests": 2, "input_tokens": 600, "output_tokens": 900},
  "result": {"sources": [], "as_of": null, "competitors": [
   {"name": "Oatly", "market_share_percent": 41.0, "positioning": "Category pioneer",
    "strengths": ["Brand"], "weaknesses": ["Price"]},
   {"name": "Planti", "market_share_percent": 12.0, "positioning": "Swedish challenger",
    "strengths": ["Local sourcing"], "weaknesses": ["Small range"]},
   {"name": "Private labels", "market_share_percent": 20.0, "positioning": "Discount shelves",
    "strengths": ["Price"], "weaknesses": ["No brand"]}]}},
 "customer": {"key": "customer", "state": "failed", "result": null, "attempts": 3,
  "error": "server error (HTTP 500)", "started_at": 1763780000.1, "finished_at": 1763780009.0,
  "usage": {"requests": 3, "input_tokens": 0, "output_tokens": 0}},
 "synthesis": {"key": "synthesis", "state": "done", "error": null, "attempts": 1,
  "started_at": 1763780009.1, "finished_at": 1763780014.4,
  "usage": {"requests": 1, "input_tokens": 1500, "output_tokens": 800},
  "result": {
   "executive_summary": "Old summary: oat drinks are a growing niche in the Nordics.",
   "market_overview": "Old overview: the market is worth about EUR 1.4 billion.",
   "competitive_landscape": "Old landscape: Oatly leads, Planti follows.",
   "customer_segments": "Old segments: customer data is unavailable (server error).",
   "strategic_recommendations": ["Old advice: launch a barista edition", "Old advice: price below Oatly"],
   "follow_up_questions": ["Old question: how loyal are Oatly buyers?"]}}
}"""

PREVIOUS_RELEASE_BATCH = """{
 "kind": "companies", "names": ["Stripe", "Adyen", "Klarna"], "concurrency": 2,
 "status": "partial", "error": null, "started_at": 1763790000.0, "finished_at": 1763790021.0,
 "provider": "OpenAI · gpt-4.1-mini (Responses API)", "model": "gpt-4.1-mini", "demo": false,
 "companies": [
  {"key": "Stripe", "state": "done", "error": null, "attempts": 1, "started_at": 1763790000.1,
   "finished_at": 1763790005.0, "usage": {"requests": 1, "input_tokens": 200, "output_tokens": 300},
   "result": {"sources": [], "as_of": "2025-11-01", "name": "Stripe", "industry": "Payments",
    "market_position": "Old profile: developer-first payments leader.", "key_products": ["Payments API"],
    "recent_developments": ["Stablecoin accounts"], "competitive_advantages": ["Developer experience"],
    "founded_year": 2010, "employees_estimate": 8000, "revenue_estimate_usd_millions": 5100.0}},
  {"key": "Adyen", "state": "done", "error": null, "attempts": 1, "started_at": 1763790000.1,
   "finished_at": 1763790006.0, "usage": {"requests": 1, "input_tokens": 200, "output_tokens": 300},
   "result": {"sources": [], "as_of": null, "name": "Adyen N.V.", "industry": "Payments",
    "market_position": "Old profile: enterprise acquiring platform.", "key_products": ["Unified commerce"],
    "recent_developments": ["US expansion"], "competitive_advantages": ["Single platform"],
    "founded_year": 2006, "employees_estimate": 4000, "revenue_estimate_usd_millions": null}},
  {"key": "Klarna", "state": "timed out", "result": null, "attempts": 3,
   "error": "timed out after 60 s", "started_at": 1763790000.1, "finished_at": 1763790020.0,
   "usage": {"requests": 3, "input_tokens": 0, "output_tokens": 0}}],
 "comparison": {"key": "comparison", "state": "done", "error": null, "attempts": 1,
  "started_at": 1763790020.1, "finished_at": 1763790021.0,
  "usage": {"requests": 1, "input_tokens": 700, "output_tokens": 400},
  "result": {"overview": "Old comparison: Stripe and Adyen split the market by customer size.",
   "differentiators": ["Old point: Stripe wins developers"], "watch_points": ["Old watch: Klarna is missing"]}}
}"""


def test_reports_saved_by_the_previous_release_still_open_in_full(open_store, tmp_path: Path) -> None:
    store = open_store(tmp_path / "data")
    market_id, batch_id = new_job_id(), new_job_id()
    for job_id, kind, title, raw in ((market_id, "market", "oat milk in the Nordics", PREVIOUS_RELEASE_MARKET),
                                     (batch_id, "companies", "Stripe, Adyen, Klarna", PREVIOUS_RELEASE_BATCH)):
        data = json.loads(raw)
        store.record_started(job_id, request=request_for(kind, title), provider=data["provider"], model=data["model"],
                             demo=False, created_at=data["started_at"])
        store.record_finished(job_id, status=data["status"], finished_at=data["finished_at"], result_json=raw)

    runner = JobService(Settings(), store, durable=False)
    try:
        market, batch = runner.snapshot(market_id), runner.snapshot(batch_id)
    finally:
        runner.close()

    assert (market.status, market.title, market.error) == (JobStatus.PARTIAL, "oat milk in the Nordics", None)
    result = market.result
    assert isinstance(result, MarketResearchResult) and result.topic == "oat milk in the Nordics"
    report = render_markdown(result)
    old = json.loads(PREVIOUS_RELEASE_MARKET)["synthesis"]["result"]
    for heading, prose in (("Executive Summary", old["executive_summary"]), ("Market Overview", old["market_overview"]),
                           ("Competitive Landscape", old["competitive_landscape"]),
                           ("Customer Segments", old["customer_segments"])):
        section = report.split(f"## {heading}\n\n", 1)[1].split("\n## ", 1)[0]
        assert prose in section, f"{heading} lost its prose"
    for line in (*old["strategic_recommendations"], *old["follow_up_questions"]):
        assert line in report
    assert "Customer data unavailable** — server error (HTTP 500)" in report
    assert "| Oatly | 41 % (estimate) | Category pioneer |" in report and "| Market size (2025) | 1.40 billion EUR (estimate) |" in report
    assert "[Nordic Dairy Review 2025](<https://example.org/ndr>)" in report
    assert result.usage.total_tokens == 730 + 1500 + 2300, "tokens are counted once, not once per section"
    assert [s.label for s in market.steps] == ["Market analysis", "Competitor analysis", "Customer analysis",
                                               "Market Overview", "Competitive Landscape", "Customer Segments",
                                               "Executive summary"]

    assert (batch.status, batch.title) == (JobStatus.PARTIAL, "Stripe, Adyen, Klarna")
    companies = batch.result
    assert isinstance(companies, CompanyBatchResult) and companies.request.names == ("Stripe", "Adyen", "Klarna")
    assert companies.concurrency == 2 and (companies.total, companies.succeeded, companies.failed) == (3, 2, 1)
    assert companies.companies[2].state is StepState.TIMED_OUT
    batch_report = render_batch_markdown(companies)
    for text in ("### Stripe", "Old profile: developer-first payments leader.", "### Adyen (profiled as “Adyen N.V.”)",
                 "Old profile: enterprise acquiring platform.", "### Klarna\n\n> ⚠️ **Not researched** — timed out after 60 s.",
                 "Old comparison: Stripe and Adyen split the market by customer size.", "Old watch: Klarna is missing",
                 "**3 companies: 2 succeeded, 1 failed.**"):
        assert text in batch_report
    assert [line.split(",")[0] for line in render_batch_csv(companies).splitlines()[1:]] == ["Stripe", "Adyen", "Klarna"]
    assert [s.label for s in batch.steps] == ["Stripe", "Adyen", "Klarna", "Comparison"]
