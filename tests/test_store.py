"""The SQLite job history: round trips, ordering, ids, restarts and crash safety."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from contextlib import closing
from pathlib import Path

import pytest

from research.config import Settings
from research.core.runs import RunStatus
from research.providers.demo_model import DemoModel
from research.providers.source import ModelSource
from research.store import DB_FILENAME, ReportStore, StoredJob, is_valid_job_id, new_job_id
from research.workflows.market import MarketResearchResult, run_market_research

ROOT = Path(__file__).resolve().parents[1]
BAD_IDS = ["../../etc", "<script>", "", "ABCDEF123456", "abcdef12345", "abcdef1234567", "abcdef12345g", "abcdef123456\n"]


@pytest.fixture(scope="module")
def demo_result() -> MarketResearchResult:
    """One real pipeline result from the fast offline demo model."""
    source = ModelSource("demo", "offline-demo", "demo", None, {}, DemoModel(speed=100))
    return asyncio.run(run_market_research("plant-based dairy", Settings(demo=True), models=source))


def start(store: ReportStore, job_id: str, created_at: float, topic: str = "topic") -> None:
    store.record_started(job_id, kind="market", topic=topic, provider="p", model="m", demo=True, created_at=created_at)


def test_job_ids() -> None:
    ids = {new_job_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(is_valid_job_id(i) for i in ids)
    assert not any(is_valid_job_id(bad) for bad in BAD_IDS)
    assert not is_valid_job_id(None)


def test_round_trip_of_a_demo_result(tmp_path: Path, demo_result: MarketResearchResult) -> None:
    store = ReportStore(tmp_path / "data")
    assert (tmp_path / "data" / DB_FILENAME).is_file()
    job_id = new_job_id()
    store.record_started(
        job_id, kind="market", topic=demo_result.topic, provider=demo_result.provider,
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
        provider=demo_result.provider, model=demo_result.model, demo=True,
    )
    assert job.status == RunStatus.COMPLETE
    assert job.duration == pytest.approx(demo_result.elapsed)

    text = store.result_json(job_id)
    assert text is not None
    restored = MarketResearchResult.model_validate_json(text)
    assert restored.model_dump() == demo_result.model_dump()


def test_list_is_newest_first_and_limited(tmp_path: Path) -> None:
    store = ReportStore(tmp_path)
    ids = [new_job_id() for _ in range(5)]
    for n, job_id in enumerate(ids):
        start(store, job_id, created_at=1000.0 + n, topic=f"topic {n}")
    store.record_finished(ids[0], status="failed", finished_at=2000.0, result_json="{}")
    assert [job.id for job in store.list()] == ids[::-1]
    assert [job.id for job in store.list(limit=2)] == [ids[4], ids[3]]
    assert store.list(limit=0) == []
    assert store.list()[-1].status == "failed"


def test_list_does_not_load_the_result_column(tmp_path: Path) -> None:
    store = ReportStore(tmp_path)
    job_id = new_job_id()
    start(store, job_id, created_at=1.0)
    store.record_finished(job_id, status="complete", finished_at=2.0, result_json='{"big": 1}')
    statements: list[str] = []
    real_connect = store._connect

    def traced() -> sqlite3.Connection:
        conn = real_connect()
        conn.set_trace_callback(statements.append)
        return conn

    store._connect = traced  # type: ignore[method-assign]
    assert [job.id for job in store.list()] == [job_id]
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert selects and not any("result_json" in s for s in selects)


def test_delete(tmp_path: Path) -> None:
    store = ReportStore(tmp_path)
    keep, drop = new_job_id(), new_job_id()
    start(store, keep, created_at=1.0)
    start(store, drop, created_at=2.0)
    assert store.delete(drop) is True
    assert store.get(drop) is None and store.result_json(drop) is None
    assert store.delete(drop) is False
    assert [job.id for job in store.list()] == [keep]


def test_invalid_ids_are_refused(tmp_path: Path) -> None:
    store = ReportStore(tmp_path)
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


def test_bad_kind_and_status_are_refused(tmp_path: Path) -> None:
    store = ReportStore(tmp_path)
    job_id = new_job_id()
    with pytest.raises(ValueError):
        store.record_started(job_id, kind="stocks", topic="t", provider="p", model="m",  # type: ignore[arg-type]
                             demo=False, created_at=1.0)
    start(store, job_id, created_at=1.0)
    for status in ("running", "done", ""):
        with pytest.raises(ValueError):
            store.record_finished(job_id, status=status, finished_at=2.0, result_json="{}")
    with pytest.raises(sqlite3.IntegrityError):
        start(store, job_id, created_at=3.0)
    assert store.get(job_id).status == "running"  # type: ignore[union-attr]


def test_topic_provider_and_model_are_stored_as_given(tmp_path: Path) -> None:
    store = ReportStore(tmp_path)
    job_id = new_job_id()
    topic = "Robert'); DROP TABLE jobs;-- <b>café</b>"
    store.record_started(job_id, kind="companies", topic=topic, provider="OpenAI · x (y)", model="m'1",
                         demo=False, created_at=5.0)
    job = store.get(job_id)
    assert job is not None
    assert (job.topic, job.provider, job.model, job.kind, job.demo) == (topic, "OpenAI · x (y)", "m'1", "companies", False)


def test_mark_interrupted(tmp_path: Path) -> None:
    store = ReportStore(tmp_path)
    running, done = [new_job_id(), new_job_id()], new_job_id()
    for n, job_id in enumerate([*running, done]):
        start(store, job_id, created_at=float(n))
    store.record_finished(done, status="partial", finished_at=10.0, result_json="{}")
    assert store.mark_interrupted() == 2
    assert {store.get(j).status for j in running} == {"interrupted"}  # type: ignore[union-attr]
    assert store.get(done).status == "partial"  # type: ignore[union-attr]
    assert store.result_json(done) == "{}"
    assert store.mark_interrupted() == 0


def test_a_restarted_store_sees_the_same_data(tmp_path: Path) -> None:
    first = ReportStore(tmp_path)
    job_id = new_job_id()
    start(first, job_id, created_at=1.0)
    first.record_finished(job_id, status="cancelled", finished_at=3.0, result_json='{"a": 1}')
    second = ReportStore(tmp_path)
    assert second.get(job_id) == first.get(job_id)
    assert second.get(job_id).duration == 2.0  # type: ignore[union-attr]
    assert second.result_json(job_id) == '{"a": 1}'
    with closing(sqlite3.connect(tmp_path / DB_FILENAME)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from research.store import ReportStore, new_job_id

    store = ReportStore(Path(sys.argv[1]))
    payload = '{"text": "' + "x" * 50_000 + '"}'
    while True:
        job_id = new_job_id()
        store.record_started(job_id, kind="market", topic="crash test", provider="p", model="m",
                             demo=True, created_at=time.time())
        print("started", job_id, flush=True)
        store.record_finished(job_id, status="complete", finished_at=time.time(), result_json=payload)
        print("done", job_id, flush=True)
""")


def test_the_database_survives_kill_9_during_writes(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path)], env=env, cwd=ROOT,
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

    store = ReportStore(tmp_path)
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
