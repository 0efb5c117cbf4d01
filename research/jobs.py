"""Background research jobs for a long-lived process such as the web app.

One :class:`JobRunner` per process owns one asyncio event loop in a daemon
thread; every session's jobs run there side by side. Front ends never touch
the loop: they :meth:`JobRunner.submit` a checked request, poll
:meth:`JobRunner.snapshot` (an immutable copy, safe to read from any thread)
and may :meth:`cancel`. Finished jobs are saved to the
:class:`~research.store.ReportStore`, so a job id keeps working after the
process restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel

from research.config import ConfigError, Settings
from research.core.runs import JobStatus
from research.core.steps import StatusEvent, StepState, elapsed
from research.inputs import CompanyRequest, MarketRequest, WorkflowKind
from research.providers.source import open_models
from research.store import ReportStore, is_valid_job_id, new_job_id
from research.workflows import JobResult, run_workflow, workflow_for
from research.workflows.legacy import upgrade_result


@dataclass(frozen=True)
class StepView:
    """What a page shows for one step of a job."""

    key: str
    label: str
    state: StepState = StepState.QUEUED
    attempt: int = 1
    max_attempts: int = 1
    message: str = ""
    started_at: float | None = None
    finished_at: float | None = None
    tokens: int = 0
    requests: int = 0
    """Model requests made so far (retries and repair requests included)."""
    notes: tuple[str, ...] = ()
    """The data notes of the step's result: what was fixed or dropped in the model's answer."""

    @property
    def elapsed(self) -> float | None:
        """Seconds since the step started (until it finished)."""
        return elapsed(self.started_at, self.finished_at)


@dataclass(frozen=True)
class JobSnapshot:
    """An immutable copy of a job's state at one moment."""

    id: str
    request: MarketRequest | CompanyRequest
    created_at: float
    status: JobStatus
    steps: tuple[StepView, ...]
    streamed: dict[str, str] = field(default_factory=dict)
    """Text each unfinished step has streamed so far, by step key."""
    partial: dict[str, BaseModel] = field(default_factory=dict)
    """The results of the steps that have finished, by step key."""
    result: JobResult | None = None
    error: str | None = None

    @property
    def kind(self) -> WorkflowKind:
        """Which workflow the job runs."""
        return self.request.kind

    @property
    def title(self) -> str:
        """The job as lists name it: the topic, or the companies."""
        return self.request.title

    @property
    def finished(self) -> bool:
        """True once the job will not change any more."""
        return self.status.finished

    @property
    def problems(self) -> dict[str, str]:
        """Why each step that ended without a result has none, by step key."""
        return {s.key: s.message or s.state.value for s in self.steps if s.state.finished and s.state is not StepState.DONE}


class _Job:
    """Mutable job state, written by the loop thread, copied under a lock."""

    def __init__(self, request: MarketRequest | CompanyRequest, settings: Settings,
                 reuse: dict[str, Any] | None = None) -> None:
        self.id, self.request, self.settings, self.reuse = new_job_id(), request, settings, reuse
        self.workflow = workflow_for(request.kind)
        self.created_at = time.time()
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.steps = {key: StepView(key, self.workflow.step_label(key)) for key in self.workflow.step_keys(request)}
        self.texts: dict[str, list[str]] = {}
        self.partial: dict[str, BaseModel] = {}
        self.result: JobResult | None = None
        self.error: str | None = None
        self.cancel_requested = False
        self.cancel_event: asyncio.Event | None = None

    def on_event(self, event: StatusEvent) -> None:
        with self.lock:
            if event.text:
                self.texts.setdefault(event.key, []).append(event.text)
                return
            if event.state is StepState.RETRYING or event.state.finished:
                self.texts.pop(event.key, None)  # the streamed answer starts over, or is complete
            view = self.steps.get(event.key) or StepView(event.key, self.workflow.step_label(event.key))
            self.steps[event.key] = replace(
                view, state=event.state, attempt=event.attempt, max_attempts=event.max_attempts, message=event.message,
                started_at=view.started_at or (event.at if event.state is StepState.RUNNING else None),
                finished_at=event.at if event.state.finished else None,
                tokens=event.usage.total_tokens if event.usage else view.tokens,
                requests=event.usage.requests if event.usage else view.requests,
                notes=tuple(getattr(event.result, "notes", ())) or view.notes,
            )
            if event.result is not None:
                self.partial[event.key] = event.result

    def snapshot(self) -> JobSnapshot:
        with self.lock:
            status = self.result.status if self.result else (JobStatus.FAILED if self.error else JobStatus.RUNNING)
            return JobSnapshot(self.id, self.request, self.created_at, status, tuple(self.steps.values()),
                               {key: "".join(parts) for key, parts in self.texts.items()}, dict(self.partial),
                               self.result, self.error)


def snapshot_from_store(store: ReportStore, job_id: str) -> JobSnapshot | None:
    """Rebuild the snapshot of a job that is not in memory (e.g. after a restart)."""
    row = store.get(job_id)
    if row is None:
        return None
    workflow = workflow_for(row.kind)
    raw = store.result_json(job_id)
    result: Any = workflow.result_type.model_validate(upgrade_result(row.kind, raw)) if raw else None
    request = result.request if result else _request_of(row.kind, row.topic)
    steps = tuple(StepView(o.key, workflow.step_label(o.key), o.state, 1, 1, o.error or "", o.started_at, o.finished_at,
                           o.usage.total_tokens, o.usage.requests, tuple(getattr(o.result, "notes", ())))
                  for o in (result.all_outcomes if result else []))
    status = JobStatus(row.status) if row.status != JobStatus.RUNNING else JobStatus.INTERRUPTED
    error = "the server stopped while this job was running" if status is JobStatus.INTERRUPTED else None
    partial = {o.key: o.result for o in (result.all_outcomes if result else []) if o.ok}
    return JobSnapshot(row.id, request, row.created_at, status, steps, partial=partial, result=result, error=error)


def _request_of(kind: str, title: str) -> MarketRequest | CompanyRequest:
    """The request of a stored job that has no result (its title is all that was saved)."""
    if kind == WorkflowKind.COMPANIES:
        return CompanyRequest(names=tuple(name.strip() for name in title.split(",")))
    return MarketRequest(topic=title)


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

    def submit(self, request: MarketRequest | CompanyRequest, settings: Settings,
               reuse: dict[str, Any] | None = None) -> str:
        """Start researching a checked ``request``; returns the job id at once.

        ``reuse`` holds an earlier run's step outcomes by key; what succeeded
        there is kept and only the rest runs (see :meth:`retry_failed`).
        """
        job = _Job(request, settings, reuse)
        with self._jobs_lock:
            self._jobs[job.id] = job
            self._evict_finished()
        asyncio.run_coroutine_threadsafe(self._run(job), self._loop)
        return job.id

    def retry_failed(self, job_id: str, settings: Settings) -> str | None:
        """Run again only what failed or did not finish in job ``job_id``, keeping what succeeded.

        Returns the new job's id, or None when the job is unknown or still running.
        """
        snapshot = self.snapshot(job_id)
        if snapshot is None or not snapshot.finished:
            return None
        reuse = {o.key: o for o in snapshot.result.all_outcomes} if snapshot.result else None
        return self.submit(snapshot.request, settings, reuse)

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
                await asyncio.to_thread(self._store.record_started, job.id, kind=job.request.kind,
                                        topic=job.request.title, provider=source.label, model=source.model_name,
                                        demo=source.is_demo, created_at=job.created_at)
            result = await run_workflow(job.workflow, job.request, job.settings, on_event=job.on_event,
                                        cancel=job.cancel_event, models=source, reuse=job.reuse)
            if self._store is not None:
                await asyncio.to_thread(self._store.record_finished, job.id, status=result.status,
                                        finished_at=result.finished_at, result_json=result.model_dump_json(),
                                        elapsed=result.elapsed)
            with job.lock:
                job.result = result
        except Exception as exc:  # noqa: BLE001 - the page must learn of any failure
            with job.lock:
                job.error = f"the job stopped unexpectedly ({type(exc).__name__})"
            if self._store is not None:
                with contextlib.suppress(Exception):  # the store itself may be what failed
                    await asyncio.to_thread(self._store.record_finished, job.id, status=JobStatus.FAILED,
                                            finished_at=time.time(), result_json="")
        finally:
            await source.aclose()
            job.settings = job.settings.with_changes(api_key=None)  # a session's key lives no longer than its job
            job.done.set()
