"""Background research jobs for a long-lived process such as the web app.

One :class:`JobRunner` per process owns one asyncio event loop in a daemon
thread; every session's jobs run there side by side. Front ends never touch
the loop: they :meth:`JobRunner.submit` a checked request, poll
:meth:`JobRunner.snapshot` (an immutable copy, safe to read from any thread)
and may :meth:`cancel`. Finished jobs are saved to the
:class:`~research.store.ReportStore`, so a job id keeps working after the
process restarts.

With ``durable`` settings every job runs as a DBOS workflow
(:mod:`research.durable`): a restarted process resumes its unfinished jobs
where they were, and the runner is the host that shows them again. A job
run with a key pasted into one browser session is the exception: the key
is never stored, so such a job cannot be resumed and runs in memory only.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from typing import Any

from research.config import ConfigError, Settings
from research.core.runs import JobStatus
from research.core.steps import TokenUsage
from research.durable.host import Attachment, DurableJob, without_secrets
from research.inputs import CompanyRequest, MarketRequest
from research.job_state import JobSnapshot, JobState, StepView, snapshot_from_store
from research.providers.source import ModelSource, open_models
from research.store import ReportStore, is_valid_job_id
from research.workflows import JobResult, run_workflow

__all__ = ["JobRunner", "JobSnapshot", "StepView", "snapshot_from_store"]


class JobRunner:
    """Runs research jobs on one background event loop and keeps their state."""

    def __init__(self, store: ReportStore | None = None, *, keep_in_memory: int = 100,
                 durable: Settings | None = None) -> None:
        """``durable``: the process's settings (and its keys) to run every job durably with; None: in memory."""
        self._store = store
        self._keep = keep_in_memory
        self._jobs: dict[str, JobState] = {}
        self._jobs_lock = threading.Lock()
        self._base = durable
        self._models: dict[str, ModelSource] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="research-jobs", daemon=True)
        self._thread.start()
        self._engine: Any = None
        if durable is not None:
            from research.durable.engine import start_engine

            self._engine = asyncio.run_coroutine_threadsafe(start_engine(durable, self), self._loop).result()
        if store is not None:
            store.mark_interrupted(durable.worker_id if durable else "local", keep=self._resumable())

    def submit(self, request: MarketRequest | CompanyRequest, settings: Settings,
               reuse: dict[str, Any] | None = None) -> str:
        """Start researching a checked ``request``; returns the job id at once.

        ``reuse`` holds an earlier run's step outcomes by key; what succeeded
        there is kept and only the rest runs (see :meth:`retry_failed`).
        """
        job = JobState(request, settings, reuse)
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
        # What is kept cost nothing this time: its tokens were counted by the earlier job.
        reuse = {o.key: o.model_copy(update={"usage": TokenUsage()}) for o in snapshot.result.all_outcomes} \
            if snapshot.result else None
        return self.submit(snapshot.request, settings, reuse)

    def snapshot(self, job_id: str) -> JobSnapshot | None:
        """The job's current state, from memory or from the saved history."""
        if not is_valid_job_id(job_id):
            return None
        with self._jobs_lock:
            job = self._jobs.get(job_id)
        if job is not None:
            return job.snapshot()
        if self._store is None:
            return None
        return snapshot_from_store(self._store, job_id, self._running_elsewhere if self._engine else None)

    @staticmethod
    def _running_elsewhere(job_id: str) -> bool:
        """True when DBOS has the job unfinished: another process of the deployment runs it."""
        from dbos import DBOS

        status = DBOS.get_workflow_status(job_id)
        return status is not None and status.status in ("PENDING", "ENQUEUED")

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
        """Stop the loop thread (running jobs stop with it: durable ones resume at the next start)."""
        if self._engine is not None:
            self._engine.close()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def _request_cancel(self, job: JobState) -> None:
        job.cancel_requested = True
        if self._is_durable(job):  # recorded first: a cancelled job is never resumed
            from research.durable.workflows import cancel_job

            cancel_job(job.id)
        if job.cancel_event is not None:
            job.cancel_event.set()

    def _is_durable(self, job: JobState) -> bool:
        """Durable unless the job's key is not the process's own (a key pasted into one session)."""
        return self._base is not None and job.settings.key == self._base.key

    def _resumable(self) -> set[str]:
        """The ids of this worker's jobs that DBOS will resume (their history rows stay "running")."""
        if self._engine is None:
            return set()
        from research.durable.workflows import unfinished_jobs

        return set(asyncio.run_coroutine_threadsafe(unfinished_jobs(), self._loop).result())

    def _evict_finished(self) -> None:
        finished = [j for j in self._jobs.values() if j.done.is_set()]
        for job in finished[: max(0, len(self._jobs) - self._keep)]:
            del self._jobs[job.id]

    async def _run(self, job: JobState) -> None:
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
                                        demo=source.is_demo, created_at=job.created_at,
                                        worker=self._base.worker_id if self._base else "local")
            if self._is_durable(job):
                from research.durable.workflows import run_job

                self._models[job.id] = source  # :meth:`attach` hands them to the job
                await run_job(DurableJob(job.id, job.request, without_secrets(job.settings), job.reuse))
                return  # :meth:`finished` has kept the result
            result = await run_workflow(job.workflow, job.request, job.settings, on_event=job.on_event,
                                        cancel=job.cancel_event, models=source, reuse=job.reuse)
            await self._keep_result(job, result)
        except Exception as exc:  # noqa: BLE001 - the page must learn of any failure
            await self._record_failure(job, exc)
        finally:
            self._models.pop(job.id, None)
            await source.aclose()
            job.settings = job.settings.with_changes(api_key=None)  # a session's key lives no longer than its job
            job.done.set()

    async def _keep_result(self, job: JobState, result: JobResult) -> None:
        if self._store is not None:
            await asyncio.to_thread(self._store.record_finished, job.id, status=result.status,
                                    finished_at=result.finished_at, result_json=result.model_dump_json(),
                                    elapsed=result.elapsed)
        with job.lock:
            job.result = result

    async def _record_failure(self, job: JobState, exc: Exception) -> None:
        with job.lock:
            job.error = f"the job stopped unexpectedly ({type(exc).__name__})"
        if self._store is not None:
            with contextlib.suppress(Exception):  # the store itself may be what failed
                await asyncio.to_thread(self._store.record_finished, job.id, status=JobStatus.FAILED,
                                        finished_at=time.time(), result_json="")

    # The host of durable jobs (research.durable.host.JobHost), called on the loop thread.

    def with_secrets(self, settings: Settings) -> Settings:
        """``settings`` with this process's API keys."""
        base = self._base or settings
        return settings.with_changes(api_key=base.api_key, tavily_key=base.tavily_key)

    async def attach(self, job: DurableJob, resumed: bool) -> Attachment:
        """Show a durable job: one submitted here, or one this process resumed after a restart."""
        with self._jobs_lock:
            state = self._jobs.get(job.id)
            if state is None:
                state = JobState(job.request, self.with_secrets(job.settings), job.reuse, job_id=job.id, resumed=True)
                self._jobs[job.id] = state
        state.resumed = state.resumed or resumed
        if state.cancel_event is None:
            state.cancel_event = asyncio.Event()
        return Attachment(state.on_event, state.cancel_event, self._models.get(job.id))

    async def finished(self, job: DurableJob, result: object) -> None:
        """Keep a durable job's result in the history and on its page."""
        with self._jobs_lock:
            state = self._jobs.get(job.id)
        if state is None:
            return
        await self._keep_result(state, result)  # type: ignore[arg-type]
        state.done.set()
