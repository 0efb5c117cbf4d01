"""Background research jobs for a long-lived process such as the web app.

One :class:`JobRunner` per process owns one asyncio event loop in a daemon
thread; every session's jobs run there side by side. Front ends never touch
the loop: they call :meth:`JobRunner.submit`, poll :meth:`JobRunner.snapshot`
(an immutable copy, safe to read from any thread) and may :meth:`cancel`.
Finished jobs are saved to the :class:`~research.store.ReportStore`, so a job
id keeps working after the process restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace

from pydantic import BaseModel

from research.config import ConfigError, Settings
from research.core.executor import EventSink, StatusEvent, TaskState
from research.inputs import validate_company_names, validate_topic
from research.providers.source import ModelSource, open_models
from research.store import ReportStore, is_valid_job_id, new_job_id
from research.workflows.companies import COMPARISON_KEY, CompanyBatchResult, batch_title, company_key, run_company_batch
from research.workflows.market import AGENT_KEYS, MarketResearchResult, run_market_research

JobResult = MarketResearchResult | CompanyBatchResult  # both are research.core.runs.RunResult
StartRun = Callable[[Settings, ModelSource, EventSink, asyncio.Event], Awaitable[JobResult]]
RESULT_TYPES: dict[str, type[JobResult]] = {"market": MarketResearchResult, "companies": CompanyBatchResult}
AGGREGATE_KEYS = {"synthesis", COMPARISON_KEY}

RUNNING = "running"
INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class AgentView:
    """What a page shows for one agent."""

    key: str
    state: TaskState = TaskState.QUEUED
    attempt: int = 0
    max_attempts: int = 1
    message: str = ""
    started_at: float | None = None
    finished_at: float | None = None
    tokens: int = 0
    requests: int = 0
    """Model requests made so far (retries and repair requests included)."""
    notes: tuple[str, ...] = ()
    """The data notes of the agent's result: what was fixed or dropped in the model's answer."""

    @property
    def elapsed(self) -> float | None:
        """Seconds since the agent started (until it finished)."""
        if self.started_at is None:
            return None
        return (self.finished_at or time.time()) - self.started_at


@dataclass(frozen=True)
class JobSnapshot:
    """An immutable copy of a job's state at one moment."""

    id: str
    topic: str
    created_at: float
    status: str
    agents: tuple[AgentView, ...]
    synthesis_text: str = ""
    partial: dict[str, BaseModel] = field(default_factory=dict)
    result: JobResult | None = None
    error: str | None = None
    kind: str = "market"

    @property
    def finished(self) -> bool:
        """True once the job will not change any more."""
        return self.status != RUNNING


class _Job:
    """Mutable job state, written by the loop thread, copied under a lock."""

    def __init__(self, kind: str, title: str, keys: Iterable[str], settings: Settings, start: StartRun) -> None:
        self.id, self.kind, self.topic, self.settings, self.start = new_job_id(), kind, title, settings, start
        self.created_at = time.time()
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.agents = {key: AgentView(key) for key in keys}
        self.text: list[str] = []
        self.partial: dict[str, BaseModel] = {}
        self.result: JobResult | None = None
        self.error: str | None = None
        self.cancel_requested = False
        self.cancel_event: asyncio.Event | None = None

    def on_event(self, event: StatusEvent) -> None:
        with self.lock:
            if event.text:
                if event.key in AGGREGATE_KEYS:
                    self.text.append(event.text)
                return
            view = self.agents.get(event.key, AgentView(event.key))
            if event.key in AGGREGATE_KEYS and event.state is TaskState.RETRYING:
                self.text.clear()  # the streamed answer starts over
            self.agents[event.key] = replace(
                view,
                state=event.state,
                attempt=event.attempt,
                max_attempts=event.max_attempts,
                message=event.message,
                started_at=view.started_at or (event.at if event.state is TaskState.RUNNING else None),
                finished_at=event.at if event.state.finished else None,
                tokens=event.usage.total_tokens if event.usage else view.tokens,
                requests=event.usage.requests if event.usage else view.requests,
                notes=tuple(getattr(event.result, "notes", ())) or view.notes,
            )
            if event.result is not None and event.key not in AGGREGATE_KEYS:
                self.partial[event.key] = event.result

    def snapshot(self) -> JobSnapshot:
        with self.lock:
            status = self.result.status.value if self.result else ("failed" if self.error else RUNNING)
            return JobSnapshot(self.id, self.topic, self.created_at, status, tuple(self.agents.values()),
                               "".join(self.text), dict(self.partial), self.result, self.error, self.kind)


def snapshot_from_store(store: ReportStore, job_id: str) -> JobSnapshot | None:
    """Rebuild the snapshot of a job that is not in memory (e.g. after a restart)."""
    row = store.get(job_id)
    if row is None:
        return None
    raw = store.result_json(job_id)
    result = RESULT_TYPES[row.kind].model_validate_json(raw) if raw else None
    agents = tuple(AgentView(o.key, o.state, 1, 1, o.error or "", o.started_at, o.finished_at, o.usage.total_tokens,
                             o.usage.requests, tuple(getattr(o.result, "notes", ())))
                   for o in (result.all_outcomes if result else []))
    status = row.status if row.status != RUNNING else INTERRUPTED
    error = "the server stopped while this job was running" if status == INTERRUPTED else None
    return JobSnapshot(row.id, row.topic, row.created_at, status, agents, result=result, error=error, kind=row.kind)


class JobRunner:
    """Runs research jobs on one background event loop and keeps their state."""

    def __init__(self, store: ReportStore | None = None, *, keep_in_memory: int = 100) -> None:
        self._store = store
        self._keep = keep_in_memory
        self._jobs: dict[str, _Job] = {}
        self._jobs_lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="research-jobs", daemon=True)
        self._thread.start()
        if store is not None:
            store.mark_interrupted()

    def submit(self, topic: str, settings: Settings) -> str:
        """Start researching the market ``topic``; returns the job id at once.

        Raises :class:`research.inputs.InputError` for a bad topic
        (nothing is started).
        """
        topic = validate_topic(topic)
        return self._submit(_Job("market", topic, AGENT_KEYS, settings, lambda s, source, sink, cancel:
                                 run_market_research(topic, s, on_event=sink, cancel=cancel, models=source)))

    def submit_companies(self, names: Iterable[str], settings: Settings, concurrency: int | None = None) -> str:
        """Start profiling the companies ``names``; returns the job id at once.

        Raises :class:`research.inputs.InputError` for bad names (nothing is started).
        """
        cleaned = validate_company_names(names)
        return self._submit(_Job("companies", batch_title(cleaned), [*map(company_key, cleaned), COMPARISON_KEY], settings, lambda s, source, sink, cancel:
                                 run_company_batch(cleaned, s, concurrency=concurrency, on_event=sink, cancel=cancel,
                                                   models=source)))

    def _submit(self, job: _Job) -> str:
        with self._jobs_lock:
            self._jobs[job.id] = job
            self._evict_finished()
        asyncio.run_coroutine_threadsafe(self._run(job), self._loop)
        return job.id

    def snapshot(self, job_id: str) -> JobSnapshot | None:
        """The job's current state, from memory or from the saved history."""
        if not is_valid_job_id(job_id):
            return None
        with self._jobs_lock:
            job = self._jobs.get(job_id)
        if job is not None:
            return job.snapshot()
        return snapshot_from_store(self._store, job_id) if self._store else None

    def cancel(self, job_id: str) -> bool:
        """Ask a running job to stop; it ends as cancelled with what finished."""
        with self._jobs_lock:
            job = self._jobs.get(job_id)
        if job is None or job.done.is_set():
            return False
        self._loop.call_soon_threadsafe(self._request_cancel, job)
        return True

    def wait(self, job_id: str, timeout: float | None = None) -> bool:
        """Block until the job has finished; False on timeout or unknown id."""
        with self._jobs_lock:
            job = self._jobs.get(job_id)
        return job.done.wait(timeout) if job is not None else False

    def close(self) -> None:
        """Stop the loop thread (running jobs stop with it; their rows become interrupted)."""
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    @staticmethod
    def _request_cancel(job: _Job) -> None:
        job.cancel_requested = True
        if job.cancel_event is not None:
            job.cancel_event.set()

    def _evict_finished(self) -> None:
        finished = [j for j in self._jobs.values() if j.done.is_set()]
        for job in finished[: max(0, len(self._jobs) - self._keep)]:
            del self._jobs[job.id]

    async def _run(self, job: _Job) -> None:
        job.cancel_event = asyncio.Event()
        if job.cancel_requested:
            job.cancel_event.set()
        try:
            source = await open_models(job.settings)
        except ConfigError as exc:
            with job.lock:
                job.error = str(exc)
            job.done.set()
            return
        try:
            if self._store is not None:  # SQLite waits on the disk: keep it off the loop
                await asyncio.to_thread(self._store.record_started, job.id, kind=job.kind, topic=job.topic,
                                        provider=source.label, model=source.model_name, demo=source.is_demo,
                                        created_at=job.created_at)
            result = await job.start(job.settings, source, job.on_event, job.cancel_event)
            if self._store is not None:
                await asyncio.to_thread(self._store.record_finished, job.id, status=result.status.value,
                                        finished_at=result.finished_at, result_json=result.model_dump_json())
            with job.lock:
                job.result = result
        except Exception as exc:  # noqa: BLE001 - the page must learn of any failure
            with job.lock:
                job.error = f"the job stopped unexpectedly ({type(exc).__name__})"
            if self._store is not None:
                with contextlib.suppress(Exception):  # the store itself may be what failed
                    await asyncio.to_thread(self._store.record_finished, job.id, status="failed",
                                            finished_at=time.time(), result_json="")
        finally:
            await source.aclose()
            job.settings = replace(job.settings, api_key=None)  # a session's key lives no longer than its job
            job.done.set()
