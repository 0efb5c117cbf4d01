"""The history of research jobs: SQLite in the data folder by default, or PostgreSQL (SQLAlchemy Core).

Each job is one row of ``jobs``: summary fields (kind, topic, status, timings,
provider, model, demo flag, the worker that ran it) plus the result JSON in its own
column. SQLite lives at ``data_dir / "research.sqlite3"`` in WAL mode with
``synchronous=FULL`` (it survives a process killed mid-write); other libraries'
tables in that file are never touched. A ``postgresql://`` URL puts the history in
that database (psycopg 3), which several app replicas can share. Opening a store
creates what is missing (tables, indexes, columns added later: ``elapsed``,
``worker``) even if another process does the same at once, and imports the earlier
releases' ``data_dir / "history.sqlite3"`` once (the file is left in place).

Every call takes its own pooled connection (one store serves any thread), every
write is a transaction, every value a bound parameter; no column can hold an API key.
"""

from __future__ import annotations

import builtins
import logging
import re
import secrets
import sqlite3
import time
from collections.abc import Iterable
from contextlib import closing
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, TypeAdapter

from research.core.runs import JobStatus
from research.inputs import MarketRequest, ResearchRequest, WorkflowKind
from research.owners import LOCAL_ID
from research.store_import import import_legacy

JOB_KINDS: frozenset[str] = frozenset(WorkflowKind)
JOB_STATUSES: frozenset[str] = frozenset(JobStatus)
DB_FILENAME = "research.sqlite3"
"""The SQLite database in the data folder (when no database URL is given)."""
LEGACY_FILENAME = "history.sqlite3"
"""The history database of earlier releases, imported once into the current database."""

_log = logging.getLogger(__name__)
_JOB_ID = re.compile(r"[0-9a-f]{12}")
_LIKE_ESCAPE = "\\"
_SECONDS = sa.Double().with_variant(sa.REAL(), "sqlite")  # REAL as before on SQLite; DOUBLE PRECISION on Postgres
_METADATA = sa.MetaData()
_JOBS = sa.Table(
    "jobs", _METADATA,
    sa.Column("id", sa.Text, primary_key=True), sa.Column("kind", sa.Text, nullable=False),
    sa.Column("topic", sa.Text, nullable=False), sa.Column("status", sa.Text, nullable=False),
    sa.Column("created_at", _SECONDS, nullable=False), sa.Column("finished_at", _SECONDS),
    sa.Column("provider", sa.Text, nullable=False), sa.Column("model", sa.Text, nullable=False),
    sa.Column("demo", sa.Integer, nullable=False), sa.Column("result_json", sa.Text),
    sa.Column("elapsed", _SECONDS),  # added by the second release
    sa.Column("worker", sa.Text),  # the executor id that ran the job; NULL in the rows of older releases
    sa.Column("request_json", sa.Text),  # the typed request; NULL in the rows of older releases
    sa.Column("intent", sa.Text),  # the request's ``intent``; NULL: a deliberate second run, or an older row
    sa.Column("tokens", sa.BigInteger),  # what the run spent; NULL in older rows and while it runs
    sa.Column("cost_usd", _SECONDS),  # its estimated cost where the model's price is known
    sa.Column("owner", sa.Text),  # who started it (research.owners); NULL in older rows: the local user's
    sa.Column("owner_name", sa.Text),  # how they were named when they started it (Owner.label); NULL: unknown
)
sa.Index("jobs_by_created", _JOBS.c.created_at.desc())
sa.Index("jobs_by_status", _JOBS.c.status)
sa.Index("jobs_by_owner", _JOBS.c.owner, _JOBS.c.created_at.desc())
_RUNNING_ROW = _JOBS.c.status == "running"
sa.Index("one_running_job_per_intent", _JOBS.c.intent, unique=True, sqlite_where=_RUNNING_ROW,
         postgresql_where=_RUNNING_ROW)
"""At most one running job per intent, across every process of a deployment: a double click makes one job."""
_META = sa.Table("store_meta", _METADATA, sa.Column("key", sa.Text, primary_key=True), sa.Column("value", sa.Text))
_REQUEST: TypeAdapter[ResearchRequest] = TypeAdapter(ResearchRequest)
_SUMMARY = [_JOBS.c[name] for name in
            ("id", "kind", "topic", "status", "created_at", "finished_at", "provider", "model", "demo", "elapsed",
             "worker", "tokens", "cost_usd", "owner", "owner_name")]


def _owned_by(owner: str) -> sa.ColumnElement[bool]:
    """The rows of ``owner`` (an :class:`research.owners.Owner` id; an older row without one is the local user's)."""
    if owner == LOCAL_ID:
        return sa.or_(_JOBS.c.owner == owner, _JOBS.c.owner.is_(None))
    return _JOBS.c.owner == owner


class DuplicateJob(Exception):
    """A job with the same intent is already running: ``job_id`` is that job."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"job {job_id} is already running this request")
        self.job_id = job_id


def is_valid_job_id(text: object) -> bool:
    """True when ``text`` is a job id: exactly 12 lowercase hexadecimal characters."""
    return isinstance(text, str) and _JOB_ID.fullmatch(text) is not None


def new_job_id() -> str:
    """A fresh random job id (12 lowercase hex characters)."""
    return secrets.token_hex(6)


def database_url_for(data_dir: Path, database_url: str | None = None) -> str:
    """The SQLAlchemy URL of the history database, for the store and anything sharing that database.

    None or blank: ``sqlite:///<absolute data_dir>/research.sqlite3``. A ``postgresql://``
    (or ``postgres://``) URL: the same with the ``postgresql+psycopg://`` scheme (psycopg 3).
    Raises ValueError for anything else (the message never repeats the URL).
    """
    url = (database_url or "").strip()
    if not url:
        return f"sqlite:///{Path(data_dir).resolve() / DB_FILENAME}"
    scheme, separator, rest = url.partition("://")
    if separator and scheme.lower() in ("postgresql", "postgres", "postgresql+psycopg"):
        return f"postgresql+psycopg://{rest}"
    what = f"URL scheme {scheme!r}" if separator else "URL"
    raise ValueError(f"unsupported database {what}: use postgresql://user@host:port/database (or leave it unset for SQLite)")


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
    worker: str | None = None
    """The worker (``RESEARCH_WORKER_ID``) that ran the job; None for jobs of older releases."""
    tokens: int | None = None
    """Input plus output tokens the run spent; None while it runs, and for jobs of older releases."""
    cost_usd: float | None = None
    """The run's estimated cost, where the model's price was known."""
    owner: str = LOCAL_ID
    """Who started it (an :class:`research.owners.Owner` id); jobs of older releases are the local user's."""
    owner_name: str | None = None
    """How the person who started it was named then (their name or e-mail address); None when unknown."""

    @property
    def duration(self) -> float | None:
        """Seconds the job took, or None while it has not finished.

        The run's own ``elapsed`` when it was saved (what the report and the job's
        status show), else the row's finish time minus its creation time.
        """
        if self.finished_at is None:
            return None
        return self.elapsed if self.elapsed is not None else self.finished_at - self.created_at


def _job_from_row(row: sa.Row[Any]) -> StoredJob:
    return StoredJob(**{**row._mapping, "demo": bool(row.demo), "owner": row.owner or LOCAL_ID})


def _like_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, its ``%``, ``_`` and escape characters taken literally."""
    escaped = text.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2).replace("%", _LIKE_ESCAPE + "%").replace("_", _LIKE_ESCAPE + "_")
    return f"%{escaped}%"


def _checked(values: Iterable[str] | None, allowed: frozenset[str], what: str) -> builtins.list[str]:
    """``values`` as a list of distinct strings, each one of ``allowed`` (ValueError otherwise)."""
    checked = list(dict.fromkeys(str(v) for v in values or ()))
    for value in checked:
        if value not in allowed:
            raise ValueError(f"unknown job {what} {value!r}")
    return checked


def _prepare_sqlite(dbapi_conn: sqlite3.Connection, _record: object) -> None:
    """Each new SQLite connection: WAL, FULL sync (a commit survives power loss), a 10 s busy wait, casefold()."""
    # Python's casefold: SQLite's own LIKE and lower() ignore case for ASCII letters only.
    dbapi_conn.create_function("casefold", 1, lambda v: v.casefold() if isinstance(v, str) else v, deterministic=True)
    with closing(dbapi_conn.cursor()) as cursor:
        for pragma in ("busy_timeout=10000", "journal_mode=WAL", "synchronous=FULL"):
            cursor.execute(f"PRAGMA {pragma}")


class ReportStore:
    """The job history: SQLite in ``data_dir`` by default, or the PostgreSQL database at ``database_url``.

    The folder (SQLite), tables, indexes and missing columns are created on open, and
    an earlier release's ``history.sqlite3`` in ``data_dir`` is imported once.
    Raises ValueError for an unsupported database URL. ``engine`` is the SQLAlchemy
    engine, ``path`` the SQLite file (None on PostgreSQL), ``is_postgres`` which it is.
    """

    url_for = staticmethod(database_url_for)
    jobs, meta = _JOBS, _META
    """The tables (SQLAlchemy Core)."""

    def __init__(self, data_dir: Path, database_url: str | None = None) -> None:
        url = database_url_for(data_dir, database_url)
        self.is_postgres = url.startswith("postgresql")
        self.path: Path | None = None if self.is_postgres else Path(data_dir).resolve() / DB_FILENAME
        if self.path is None:
            self.engine = sa.create_engine(url, pool_pre_ping=True)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.engine = sa.create_engine(url, connect_args={"timeout": 10})
            sa.event.listen(self.engine, "connect", _prepare_sqlite)
        try:
            self._create_schema()
            import_legacy(self, Path(data_dir) / LEGACY_FILENAME)
        except BaseException:
            self.engine.dispose()
            raise

    def close(self) -> None:
        """Close the pooled connections (a later call opens new ones)."""
        self.engine.dispose()

    def _create_schema(self, attempts: int = 5) -> None:
        """Create the missing tables, indexes and columns; another process may be doing the same meanwhile."""
        for attempt in range(attempts):
            try:
                with self.engine.begin() as conn:
                    _METADATA.create_all(conn, checkfirst=True)
                    present = {column["name"] for column in sa.inspect(conn).get_columns("jobs")}
                    for column in _JOBS.columns:  # a database of an older release: its rows keep NULL there
                        if column.name not in present and column.nullable:
                            sql_type = column.type.compile(self.engine.dialect)
                            conn.execute(sa.text(f"ALTER TABLE jobs ADD COLUMN {column.name} {sql_type}"))
                    for index in _JOBS.indexes:
                        index.create(conn, checkfirst=True)
                return
            except sa.exc.DBAPIError:  # e.g. "already exists": another process got there first, so check again
                if attempt == attempts - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))

    def record_started(self, job_id: str, *, request: ResearchRequest, provider: str, model: str, demo: bool,
                       created_at: float, worker: str = "local", intent: str | None = None,
                       owner: str = LOCAL_ID, owner_name: str | None = None) -> None:
        """Add a job with status "running" for the typed ``request``, run by the executor ``worker``, started by
        ``owner`` (an :class:`research.owners.Owner` id) named ``owner_name``.

        ``intent`` names what was asked (a request's ``intent``): while a job of the same intent
        is running, no second one is added and :class:`DuplicateJob` names the first
        (decided by the database, so it holds across sessions and processes). None: a
        deliberate second run. Raises ValueError for an invalid id, and
        :class:`sqlalchemy.exc.IntegrityError` when the id is already in the history.
        """
        if not is_valid_job_id(job_id):
            raise ValueError("invalid job id")
        try:
            with self.engine.begin() as conn:
                conn.execute(sa.insert(_JOBS).values(
                    id=job_id, kind=str(request.kind), topic=request.title, status=JobStatus.RUNNING.value,
                    created_at=float(created_at), finished_at=None, provider=provider, model=model,
                    demo=int(bool(demo)), result_json=None, worker=worker, request_json=request.model_dump_json(),
                    intent=intent, owner=owner, owner_name=owner_name))
        except sa.exc.IntegrityError:
            running = self.running_with_intent(intent) if intent is not None else None
            if running is None:
                raise
            raise DuplicateJob(running) from None

    def running_with_intent(self, intent: str) -> str | None:
        """The id of the running job of ``intent``, if any."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(_JOBS.c.id).where(_JOBS.c.intent == intent, _RUNNING_ROW)).scalar()

    def request_of(self, job_id: str) -> ResearchRequest | None:
        """The typed request the job was started with; None for an unknown id, or for a batch an older release
        saved with its title only (a title such as "Acme, Inc., Globex and 3 more" cannot be split back into
        names). An older release's market row is its topic, which is the whole request."""
        if not is_valid_job_id(job_id):
            return None
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(_JOBS.c.request_json, _JOBS.c.kind, _JOBS.c.topic)
                               .where(_JOBS.c.id == job_id)).first()
        if row is None:
            return None
        if row.request_json:
            return _REQUEST.validate_json(row.request_json)
        return MarketRequest(topic=row.topic) if row.kind == WorkflowKind.MARKET else None

    def record_finished(self, job_id: str, *, status: str, finished_at: float, result_json: str,
                        elapsed: float | None = None, tokens: int | None = None, cost_usd: float | None = None) -> None:
        """Store a job's final status, finish time, result JSON and run time, in one transaction.

        ``elapsed`` is the run's own wall-clock seconds (its result's ``elapsed``);
        None when there is no result (History then shows finish minus creation time).
        ``tokens`` and ``cost_usd`` are what the run spent (None: unknown).

        Does nothing if the job is not in the history (e.g. deleted while it ran).
        Raises ValueError for an invalid id or a status other than a final one.
        """
        if not is_valid_job_id(job_id):
            raise ValueError("invalid job id")
        if status not in JOB_STATUSES or status == "running":
            raise ValueError(f"not a final job status: {status!r}")
        with self.engine.begin() as conn:
            conn.execute(sa.update(_JOBS).where(_JOBS.c.id == job_id).values(
                status=str(status), finished_at=float(finished_at), result_json=result_json,
                elapsed=None if elapsed is None else float(elapsed), tokens=tokens, cost_usd=cost_usd))

    def name_of(self, owner: str) -> str | None:
        """How ``owner`` was last named beside a job of theirs (None when no job of theirs says)."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(_JOBS.c.owner_name).where(_owned_by(owner), _JOBS.c.owner_name.is_not(None))
                                .order_by(_JOBS.c.created_at.desc()).limit(1)).scalar()

    def latest_complete(self, kind: str, topic: str, *, before: float, owner: str = LOCAL_ID) -> StoredJob | None:
        """The newest complete job of ``owner``'s of ``kind`` on ``topic`` (whatever its case and spacing) created
        before ``before``, or None."""
        wanted = " ".join(topic.split()).lower()
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(*_SUMMARY).where(
                _JOBS.c.kind == str(kind), _JOBS.c.status == JobStatus.COMPLETE.value, _JOBS.c.created_at < before,
                sa.func.lower(_JOBS.c.topic) == wanted, _owned_by(owner))
                .order_by(_JOBS.c.created_at.desc()).limit(20)).all()
        # lower() in SQL folds ASCII on SQLite; spacing and other letters are compared here
        return next((_job_from_row(row) for row in rows if " ".join(row.topic.split()).lower() == wanted), None)

    def get(self, job_id: str, *, owner: str | None = None) -> StoredJob | None:
        """The job's summary, or None for an unknown or invalid id (or, with ``owner``, one of another owner's)."""
        if not is_valid_job_id(job_id):
            return None
        query = sa.select(*_SUMMARY).where(_JOBS.c.id == job_id)
        if owner is not None:
            query = query.where(_owned_by(owner))
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else _job_from_row(row)

    def result_json(self, job_id: str) -> str | None:
        """The job's stored result JSON, or None (unknown or invalid id, or not finished)."""
        if not is_valid_job_id(job_id):
            return None
        with self.engine.connect() as conn:
            return conn.execute(sa.select(_JOBS.c.result_json).where(_JOBS.c.id == job_id)).scalar_one_or_none()

    def list(self, limit: int = 200, *, search: str = "", statuses: Iterable[str] | None = None,
             kinds: Iterable[str] | None = None, owner: str | None = None) -> builtins.list[StoredJob]:
        """Up to ``limit`` job summaries, newest first (result JSON is not loaded); with ``owner``, only theirs.

        ``search`` keeps the jobs whose topic contains it, ignoring case (``%`` and
        ``_`` are plain characters; blank means every topic). ``statuses`` and
        ``kinds`` keep the jobs with one of the given values; None or empty means
        any. Raises ValueError for an unknown status or kind. The filtering is done
        by the database, with every value passed as a parameter.
        """
        # Equal creation times: the later insert first on SQLite; Postgres has no insertion order, so by id.
        tie = _JOBS.c.id.desc() if self.is_postgres else sa.literal_column("rowid").desc()
        query = sa.select(*_SUMMARY).order_by(_JOBS.c.created_at.desc(), tie).limit(max(0, int(limit)))
        needle = search.strip()
        if needle and self.is_postgres:
            pattern = sa.func.lower(sa.literal(_like_pattern(needle), sa.Text))
            query = query.where(sa.func.lower(_JOBS.c.topic).like(pattern, escape=_LIKE_ESCAPE))
        elif needle:  # the casefold() registered on each connection
            query = query.where(sa.func.casefold(_JOBS.c.topic).like(_like_pattern(needle.casefold()), escape=_LIKE_ESCAPE))
        if owner is not None:
            query = query.where(_owned_by(owner))
        for column, values in ((_JOBS.c.status, _checked(statuses, JOB_STATUSES, "status")),
                               (_JOBS.c.kind, _checked(kinds, JOB_KINDS, "kind"))):
            if values:
                query = query.where(column.in_(values))
        with self.engine.connect() as conn:
            return [_job_from_row(row) for row in conn.execute(query)]

    def delete(self, job_id: str, *, owner: str | None = None) -> bool:
        """Remove a job; True if it existed, False for an unknown or invalid id (or, with ``owner``, a job of
        another owner's, which is left alone)."""
        if not is_valid_job_id(job_id):
            return False
        query = sa.delete(_JOBS).where(_JOBS.c.id == job_id)
        if owner is not None:
            query = query.where(_owned_by(owner))
        with self.engine.begin() as conn:
            return conn.execute(query).rowcount > 0

    def mark_interrupted(self, worker: str = "local", keep: Iterable[str] = ()) -> int:
        """Turn the "running" jobs of ``worker`` into "interrupted", except the ids in ``keep``; how many changed.

        Call it at start-up: the process that ran those jobs is gone (``keep``: the
        jobs about to be resumed). Rows without a worker (from older releases) count
        as every worker's.
        """
        query = sa.update(_JOBS).where(_JOBS.c.status == JobStatus.RUNNING.value,
                                       sa.or_(_JOBS.c.worker == worker, _JOBS.c.worker.is_(None)))
        kept = builtins.list(dict.fromkeys(str(job_id) for job_id in keep))
        if kept:
            query = query.where(_JOBS.c.id.not_in(kept))
        with self.engine.begin() as conn:
            return conn.execute(query.values(status=JobStatus.INTERRUPTED.value)).rowcount
