"""The history of research jobs, kept in SQLite under the data folder.

Each job is one row: summary fields (kind, topic, status, timings, provider,
model, demo flag) plus the finished result as JSON text in its own column.
``elapsed`` (the run's own wall-clock seconds) was added later: an older
database gains the column when a store opens it, and its rows keep NULL there.
The database lives at ``data_dir / "history.sqlite3"`` in WAL mode, so it
survives server restarts and a process killed in the middle of a write.

Every call opens its own connection and closes it again, so one
:class:`ReportStore` can be used from any thread without shared state. Every
write runs in a transaction and every statement is parameterised. There is no
column for an API key, so none can be stored.
"""

from __future__ import annotations

import builtins
import re
import secrets
import sqlite3
from collections.abc import Iterable
from contextlib import closing
from pathlib import Path

from pydantic import BaseModel

from research.core.runs import JobStatus
from research.inputs import WorkflowKind

JOB_KINDS: frozenset[str] = frozenset(WorkflowKind)
JOB_STATUSES: frozenset[str] = frozenset(JobStatus)
DB_FILENAME = "history.sqlite3"

_JOB_ID = re.compile(r"[0-9a-f]{12}")
_SUMMARY_COLUMNS = "id, kind, topic, status, created_at, finished_at, provider, model, demo, elapsed"
_LIKE_ESCAPE = "\\"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    topic TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    finished_at REAL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    demo INTEGER NOT NULL,
    result_json TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_created ON jobs (created_at DESC);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status);
"""
_ADDED_COLUMNS = {"elapsed": "REAL"}
"""Columns added after the first release, with their types: added to an older database when it is opened."""


def is_valid_job_id(text: object) -> bool:
    """True when ``text`` is a job id: exactly 12 lowercase hexadecimal characters."""
    return isinstance(text, str) and _JOB_ID.fullmatch(text) is not None


def new_job_id() -> str:
    """A fresh random job id (12 lowercase hex characters)."""
    return secrets.token_hex(6)


class StoredJob(BaseModel):
    """One job of the history, without its result JSON."""

    id: str
    kind: WorkflowKind
    topic: str
    status: JobStatus
    created_at: float
    finished_at: float | None = None
    provider: str
    model: str
    demo: bool
    elapsed: float | None = None
    """The run's own wall-clock seconds (its result's ``elapsed``), when the job was saved with it."""

    @property
    def duration(self) -> float | None:
        """Seconds the job took, or None while it has not finished.

        The run's own ``elapsed`` when it was saved (what the report and the job's
        status show), else the row's finish time minus its creation time.
        """
        if self.finished_at is None:
            return None
        return self.elapsed if self.elapsed is not None else self.finished_at - self.created_at


def _job_from_row(row: sqlite3.Row) -> StoredJob:
    return StoredJob(
        id=row["id"],
        kind=row["kind"],
        topic=row["topic"],
        status=row["status"],
        created_at=row["created_at"],
        finished_at=row["finished_at"],
        provider=row["provider"],
        model=row["model"],
        demo=bool(row["demo"]),
        elapsed=row["elapsed"],
    )


def _like_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, its ``%``, ``_`` and escape characters taken literally."""
    escaped = text.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2).replace("%", _LIKE_ESCAPE + "%").replace("_", _LIKE_ESCAPE + "_")
    return f"%{escaped}%"


def _casefold(value: object) -> object:
    return value.casefold() if isinstance(value, str) else value


def _checked(values: Iterable[str] | None, allowed: frozenset[str], what: str) -> builtins.list[str]:
    """``values`` as a list of distinct strings, each one of ``allowed`` (ValueError otherwise)."""
    checked = list(dict.fromkeys(str(v) for v in values or ()))
    for value in checked:
        if value not in allowed:
            raise ValueError(f"unknown job {what} {value!r}")
    return checked


class ReportStore:
    """The job history in ``data_dir / "history.sqlite3"`` (folder and schema created if missing)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / DB_FILENAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            with conn:
                conn.executescript(_SCHEMA)
            self._add_missing_columns(conn)

    @staticmethod
    def _add_missing_columns(conn: sqlite3.Connection) -> None:
        """Upgrade a database made by an older release: add the columns it lacks (NULL in its rows)."""
        for name, sql_type in _ADDED_COLUMNS.items():
            present = {row["name"] for row in conn.execute("PRAGMA table_info(jobs)")}
            if name in present:
                continue
            try:
                with conn:
                    conn.execute(f"ALTER TABLE jobs ADD COLUMN {name} {sql_type}")
            except sqlite3.OperationalError:  # another process added it meanwhile
                if name not in {row["name"] for row in conn.execute("PRAGMA table_info(jobs)")}:
                    raise

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=10)
        conn.row_factory = sqlite3.Row
        # FULL: a committed job stays committed even if the machine loses power.
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    def record_started(
        self,
        job_id: str,
        *,
        kind: WorkflowKind,
        topic: str,
        provider: str,
        model: str,
        demo: bool,
        created_at: float,
    ) -> None:
        """Add a job with status "running".

        Raises ValueError for an invalid id or kind, and sqlite3.IntegrityError
        when the id is already in the history.
        """
        if not is_valid_job_id(job_id):
            raise ValueError("invalid job id")
        if kind not in JOB_KINDS:
            raise ValueError(f"unknown job kind {kind!r}")
        with closing(self._connect()) as conn, conn:
            conn.execute(
                "INSERT INTO jobs (id, kind, topic, status, created_at, finished_at, provider, model, demo, result_json)"
                " VALUES (?, ?, ?, 'running', ?, NULL, ?, ?, ?, NULL)",
                (job_id, kind, topic, created_at, provider, model, int(demo)),
            )

    def record_finished(
        self, job_id: str, *, status: str, finished_at: float, result_json: str, elapsed: float | None = None,
    ) -> None:
        """Store a job's final status, finish time, result JSON and run time, in one transaction.

        ``elapsed`` is the run's own wall-clock seconds (its result's ``elapsed``);
        None when there is no result (History then shows finish minus creation time).

        Does nothing if the job is not in the history (e.g. deleted while it ran).
        Raises ValueError for an invalid id or a status other than a final one.
        """
        if not is_valid_job_id(job_id):
            raise ValueError("invalid job id")
        if status not in JOB_STATUSES or status == "running":
            raise ValueError(f"not a final job status: {status!r}")
        with closing(self._connect()) as conn, conn:
            conn.execute(
                "UPDATE jobs SET status = ?, finished_at = ?, result_json = ?, elapsed = ? WHERE id = ?",
                (status, finished_at, result_json, None if elapsed is None else float(elapsed), job_id),
            )

    def get(self, job_id: str) -> StoredJob | None:
        """The job's summary, or None for an unknown or invalid id."""
        if not is_valid_job_id(job_id):
            return None
        with closing(self._connect()) as conn:
            row = conn.execute(f"SELECT {_SUMMARY_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else _job_from_row(row)

    def result_json(self, job_id: str) -> str | None:
        """The job's stored result JSON, or None (unknown or invalid id, or not finished)."""
        if not is_valid_job_id(job_id):
            return None
        with closing(self._connect()) as conn:
            row = conn.execute("SELECT result_json FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else row["result_json"]

    def list(
        self,
        limit: int = 200,
        *,
        search: str = "",
        statuses: Iterable[str] | None = None,
        kinds: Iterable[str] | None = None,
    ) -> builtins.list[StoredJob]:
        """Up to ``limit`` job summaries, newest first (result JSON is not loaded).

        ``search`` keeps the jobs whose topic contains it, ignoring case (``%`` and
        ``_`` are plain characters; blank means every topic). ``statuses`` and
        ``kinds`` keep the jobs with one of the given values; None or empty means
        any. Raises ValueError for an unknown status or kind. The filtering is done
        by SQLite, with every value passed as a parameter.
        """
        clauses: builtins.list[str] = []
        params: builtins.list[object] = []
        needle = search.strip().casefold()
        if needle:
            clauses.append(f"casefold(topic) LIKE ? ESCAPE '{_LIKE_ESCAPE}'")
            params.append(_like_pattern(needle))
        for column, values in (("status", _checked(statuses, JOB_STATUSES, "status")),
                               ("kind", _checked(kinds, JOB_KINDS, "kind"))):
            if values:
                clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
                params.extend(values)
        where = f"WHERE {' AND '.join(clauses)} " if clauses else ""
        with closing(self._connect()) as conn:
            # Python's casefold: SQLite's own LIKE and lower() ignore case for ASCII letters only.
            conn.create_function("casefold", 1, _casefold, deterministic=True)
            rows = conn.execute(
                f"SELECT {_SUMMARY_COLUMNS} FROM jobs {where}ORDER BY created_at DESC, rowid DESC LIMIT ?",
                (*params, max(0, int(limit))),
            ).fetchall()
        return [_job_from_row(row) for row in rows]

    def delete(self, job_id: str) -> bool:
        """Remove a job; True if it existed, False for an unknown or invalid id."""
        if not is_valid_job_id(job_id):
            return False
        with closing(self._connect()) as conn, conn:
            cursor = conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
        return cursor.rowcount > 0

    def mark_interrupted(self) -> int:
        """Turn every "running" job into "interrupted"; returns how many changed.

        Call it at start-up: the process that ran those jobs is gone.
        """
        with closing(self._connect()) as conn, conn:
            cursor = conn.execute("UPDATE jobs SET status = 'interrupted' WHERE status = 'running'")
        return cursor.rowcount
