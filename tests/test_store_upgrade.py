"""Upgrading from the SQLite-only release: its ``history.sqlite3`` is imported once, on SQLite and on PostgreSQL.

``fixtures/history-v1.sql`` is the SQL dump of a history written by that release's
own code (see ``fixtures/make_history_v1.py``): real demo reports, a cancelled run,
a failed job without result, an interrupted job and one still running. The tests
rebuild the release's SQLite file from it.
"""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from research.agents.common import FigureStatus
from research.core.runs import JobStatus
from research.inputs import MarketRequest
from research.jobs.snapshots import snapshot_from_store
from research.store import DB_FILENAME, LEGACY_FILENAME, ReportStore, StoredJob, new_job_id
from research.workflows import workflow_for
from research.workflows.legacy import recheck_figures, upgrade_result

DUMP = Path(__file__).resolve().parent / "fixtures" / "history-v1.sql"
SUMMARY = ("id", "kind", "topic", "status", "created_at", "finished_at", "provider", "model", "demo", "elapsed")


@pytest.fixture(scope="module")
def release_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The release's SQLite history file, rebuilt from its dump."""
    path = tmp_path_factory.mktemp("release") / LEGACY_FILENAME
    with closing(sqlite3.connect(path)) as conn:
        conn.executescript(DUMP.read_text(encoding="utf-8"))
    return path


def release_rows(path: Path) -> list[dict[str, Any]]:
    """Every row of the SQLite history at ``path``, newest first, read without touching the file."""
    with closing(sqlite3.connect(f"{path.as_uri()}?immutable=1", uri=True)) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute("SELECT * FROM jobs ORDER BY created_at DESC")]


@pytest.fixture
def data_dir(tmp_path: Path, release_db: Path) -> Path:
    """A data folder holding the release's history, as an upgraded installation has it."""
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copyfile(release_db, folder / LEGACY_FILENAME)
    return folder


def test_the_fixture_holds_what_it_should(release_db: Path) -> None:
    rows = release_rows(release_db)
    assert sorted(row["status"] for row in rows) == ["cancelled", "complete", "complete", "failed", "interrupted",
                                                     "running"]
    assert {row["kind"] for row in rows} == {"market", "companies"}
    assert sum(1 for row in rows if row["result_json"]) == 3 and all(row["elapsed"] is not None for row in rows
                                                                     if row["result_json"])


def test_every_report_of_the_release_opens_intact(database_url: str | None, data_dir: Path, release_db: Path) -> None:
    expected = release_rows(release_db)
    store = ReportStore(data_dir, database_url)
    try:
        assert [job.id for job in store.list()] == [row["id"] for row in expected], "newest first"
        for row in expected:
            assert store.get(row["id"]) == StoredJob(**{**{name: row[name] for name in SUMMARY}, "demo": bool(row["demo"])})
            raw = store.result_json(row["id"])
            assert raw == row["result_json"], "the result JSON is byte-identical"
            if raw:
                result = workflow_for(row["kind"]).result_type.model_validate(upgrade_result(row["kind"], raw))
                assert result.status == row["status"] and result.elapsed == pytest.approx(row["elapsed"])
            snapshot = snapshot_from_store(store, row["id"])
            assert snapshot is not None and snapshot.title == row["topic"]
            assert (snapshot.result is not None) == bool(raw)
            if raw:  # intact, its figures checked again by today's rules (a demo's are illustrative, never verified)
                assert snapshot.result.model_dump_json() == recheck_figures(result).model_dump_json()
                if row["demo"]:
                    statuses = {f.status for data, _ in snapshot.result.grounded() for f in data.figures}
                    assert FigureStatus.VERIFIED not in statuses
            want = JobStatus.INTERRUPTED if row["status"] == JobStatus.RUNNING else JobStatus(row["status"])
            assert snapshot.status == want
        assert [job.topic for job in store.list(search="DAIRY")] == ["plant-based dairy"]
        assert store.mark_interrupted("worker-9") == 1, "the release's running job has no worker: anyone's to close"
        with store.engine.connect() as conn:
            keys = conn.execute(sa.text("SELECT key FROM store_meta")).scalars().all()
        assert keys == [f"imported:{(data_dir / LEGACY_FILENAME).resolve()}"]
    finally:
        store.close()
    assert (data_dir / LEGACY_FILENAME).read_bytes() == release_db.read_bytes(), "the old file is left as it was"
    assert (data_dir / DB_FILENAME).exists() == (database_url is None)


def test_the_history_is_imported_once_so_a_deleted_report_stays_deleted(database_url: str | None, data_dir: Path,
                                                                      release_db: Path) -> None:
    ids = [row["id"] for row in release_rows(release_db)]
    first = ReportStore(data_dir, database_url)
    assert first.delete(ids[1]) is True
    first.close()
    again = ReportStore(data_dir, database_url)
    try:
        assert again.get(ids[1]) is None
        assert [job.id for job in again.list()] == [i for i in ids if i != ids[1]]
    finally:
        again.close()


def test_rows_already_present_are_left_alone_and_a_later_file_is_imported(database_url: str | None, tmp_path: Path,
                                                                        release_db: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    expected = release_rows(release_db)
    store = ReportStore(folder, database_url)  # no old history yet
    taken = expected[0]["id"]
    store.record_started(taken, request=MarketRequest(topic="already here"), provider="p", model="m", demo=False,
                         created_at=1.0, worker="w1")
    store.close()
    shutil.copyfile(release_db, folder / LEGACY_FILENAME)  # e.g. restored from a backup
    store = ReportStore(folder, database_url)
    try:
        assert store.get(taken).topic == "already here"  # type: ignore[union-attr]
        assert {job.id for job in store.list()} == {row["id"] for row in expected}
    finally:
        store.close()


def test_a_first_release_history_without_elapsed_is_imported(database_url: str | None, tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    with closing(sqlite3.connect(folder / LEGACY_FILENAME)) as conn, conn:  # the first release's table
        conn.execute("CREATE TABLE jobs (id TEXT PRIMARY KEY, kind TEXT NOT NULL, topic TEXT NOT NULL, status TEXT NOT NULL,"
                     " created_at REAL NOT NULL, finished_at REAL, provider TEXT NOT NULL, model TEXT NOT NULL,"
                     " demo INTEGER NOT NULL, result_json TEXT)")
        conn.execute("INSERT INTO jobs VALUES ('0123456789ab', 'market', 'old', 'complete', 1.5, 4.0, 'p', 'm', 1, '')")
    store = ReportStore(folder, database_url)
    try:
        assert store.get("0123456789ab") == StoredJob(id="0123456789ab", kind="market", topic="old", status="complete",
                                                      created_at=1.5, finished_at=4.0, provider="p", model="m", demo=True)
        assert store.get("0123456789ab").duration == 2.5  # type: ignore[union-attr]
        job_id = new_job_id()
        store.record_started(job_id, request=MarketRequest(topic="new"), provider="p", model="m", demo=False, created_at=9.0)
        assert [job.id for job in store.list()] == [job_id, "0123456789ab"]
    finally:
        store.close()


def test_an_unreadable_old_history_does_not_stop_the_store(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / LEGACY_FILENAME).write_bytes(b"not a database" * 100)
    store = ReportStore(folder)
    try:
        assert store.list() == []
        with store.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM store_meta")).scalar() == 0, "tried again next time"
    finally:
        store.close()
