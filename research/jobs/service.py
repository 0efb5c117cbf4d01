"""The job service: the one way the command line and the web app start, follow, cancel and resume jobs.

One :class:`JobService` per process owns one asyncio event loop in a daemon
thread; every job of the process runs there. Front ends never touch the loop:
they :meth:`~JobService.submit` a checked request, read
:meth:`~JobService.snapshot` (an immutable copy, safe from any thread),
:meth:`~JobService.watch` its events, :meth:`~JobService.cancel` it,
:meth:`~JobService.retry_failed` or :meth:`~JobService.run_again` it.

Jobs run durably (:mod:`research.jobs.durable`): each is a DBOS workflow that
stores its request and writes its history row, so a restarted process resumes
its unfinished jobs where they were, and *Run again* always has the full
request. A job run with a key pasted into one browser session is the
exception: the key is never stored, so such a job cannot be resumed and runs
in memory only. A request already running (asked twice by a double click, or
from two tabs) gives back the running job instead of a second one.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from research.config import Settings
from research.core.runs import JobStatus
from research.core.steps import EventSink, StepOutcome, StepState, TokenUsage
from research.inputs import CompanyRequest, MarketRequest, WorkflowKind
from research.jobs import durable as durable_workflows
from research.jobs.changes_writer import write_changes
from research.jobs.engine import DurableEngine
from research.jobs.lending import QueueShare
from research.jobs.orders import JobOrder
from research.jobs.slots import ProviderSlots
from research.jobs.snapshots import JobSnapshot, JobState, StepView, snapshot_from_store
from research.jobs.watch import Period, WatchedTopic, Watches  # also registers the scheduled refresh workflow
from research.ledger import DailyBudgetSpent, Ledgers, SpendLedger
from research.logs import route_library_logs
from research.owners import LOCAL, LOCAL_ACCESS, Access, Owner
from research.pricing import estimated_cost
from research.providers.source import ModelSource, open_models
from research.reports.batch_changes import BatchComparison, compare_batches, shares_companies
from research.reports.changes import RunComparison, compare_runs
from research.store import DuplicateJob, ReportStore, StoredJob, is_valid_job_id, new_job_id
from research.workflows import CompanyBatchResult, JobResult, MarketResearchResult, run_workflow, workflow_for
from research.workflows.estimate import Estimate, estimate
from research.workflows.legacy import upgrade_result

__all__ = ["CompanyBatchResult", "DailyBudgetSpent", "Estimate", "JobResult", "JobService", "JobSnapshot",
           "JobStatus", "MarketResearchResult", "Period", "StepState", "StepView", "StoredJob", "WatchedTopic"]
"""The service, and what pages read of jobs (re-exported so the UI imports no other engine module)."""

Request = MarketRequest | CompanyRequest
BATCHES_LOOKED_AT = 50
"""How many of a person's latest batches are searched for one that shares companies with a new batch."""


def _intent(request: Request, owner: str) -> str:
    """What a person asked for: the request's intent, the same request of two people being two intents."""
    return request.intent if owner == LOCAL.id else f"{owner}\n{request.intent}"
T = TypeVar("T")
JobWatcher = Callable[[JobSnapshot], EventSink | None]
"""Told of every job this process starts or resumes; may return a sink for the job's events."""


@dataclass
class Attachment:
    """A durable job's link to this process: where its events go, its cancel flag, models, settings and kept steps."""

    publish: EventSink
    cancel: asyncio.Event
    models: ModelSource | None
    """Models opened when the job was submitted here (the service closes them); None: the run opens its own."""
    settings: Settings
    """The job's settings with this process's keys."""
    reuse: dict[str, StepOutcome[Any]] | None
    resumed: bool
    """True when this process did not submit the job: DBOS resumed it after a restart."""


_running: JobService | None = None
"""The durable service of this process (DBOS runs one set of workflows per process)."""


class JobService:
    """Runs research jobs on one background event loop, durably, and keeps their state."""

    def __init__(self, settings: Settings, store: ReportStore | None = None, *, durable: bool = True,
                 keep_in_memory: int = 100, demo_speed: float = 1.0, on_job: JobWatcher | None = None,
                 serve_schedules: bool = True) -> None:
        """``settings``: the process's own (with its keys). ``durable`` False runs every job in memory;
        ``serve_schedules`` False leaves the watched topics' refreshes to other processes (a one-off command).

        ``demo_speed`` divides the demo model's latencies; ``on_job`` is told of
        each job as it starts here (also one resumed after a restart).
        """
        global _running
        self.settings, self.store = settings, store
        self.local_jobs: dict[str, durable_workflows.LocalJob] = {}
        """The durable jobs running on this loop, by id (their steps find their tools and page here)."""
        self.slots = ProviderSlots(settings.worker_concurrency or settings.max_concurrency, settings.user_concurrency)
        self.steps_for_others: set[asyncio.Task[Any]] = set()
        """Queued steps of other processes' jobs that this process is running."""
        self.share = QueueShare(min(settings.max_concurrency, settings.user_concurrency or settings.max_concurrency),
                                durable_workflows.queue_waits)
        """This process's entries in the provider queue and the slots its queued steps lend on (deployment-wide)."""
        self.lenders: set[asyncio.Task[Any]] = set()
        """Queued steps of this process's jobs, lending their slot on (they end when the service stops)."""
        self.ledger: SpendLedger | None = None
        """The deployment's daily budget (``RESEARCH_DAILY_BUDGET_*``) in the history's database, if set."""
        if store is not None and (settings.daily_budget_tokens or settings.daily_budget_usd):
            self.ledger = SpendLedger(store.engine, tokens=settings.daily_budget_tokens, usd=settings.daily_budget_usd)
        self._store_engine = store.engine if store is not None else None
        self._personal: dict[str, SpendLedger] = {}
        """Each signed-in person's daily budget (``RESEARCH_USER_DAILY_BUDGET_*``), once asked for."""
        self._keep, self._demo_speed, self._on_job = keep_in_memory, demo_speed, on_job
        self._jobs: dict[str, JobState] = {}
        self._lock = threading.Lock()
        self._added = threading.Condition(self._lock)
        """Notified when a job is added (a resumed job appears once DBOS recovery has started it)."""
        self._resuming: set[str] = set()
        self._models: dict[str, ModelSource] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="research-jobs", daemon=True)
        self._thread.start()
        self._engine: DurableEngine | None = None
        if durable:
            if _running is not None:
                raise RuntimeError("one durable job service per process")
            _running = self
            durable_workflows.serve_for(self)
            self._engine = DurableEngine(settings)
            try:
                self._call(self._engine.start(serve_schedules=serve_schedules))  # and recovers jobs
            except BaseException:
                _running = None
                durable_workflows.serve_for(None)
                self._stop_loop()
                raise
        self._resuming = set(self.unfinished())
        if store is not None:
            store.mark_interrupted(settings.worker_id, keep=self._resuming)

    # What front ends call (from any thread).

    def submit(self, request: Request, settings: Settings | None = None, *, again: bool = False,
               retry_of: str | None = None, owner: Owner = LOCAL) -> str:
        """Start researching a checked ``request``; returns the job id at once.

        While a job of the same request is running (in this process or another
        of the deployment) its id is returned and nothing starts, unless
        ``again``: a deliberate second run. ``retry_of`` keeps what succeeded in
        that earlier job and runs the rest. The job belongs to ``owner``; "the same
        request" is the same owner's. Raises :class:`research.config.ConfigError`
        when no model can be selected, and :class:`DailyBudgetSpent` when the
        deployment's (or the owner's) daily budget is spent (nothing is recorded then).
        """
        return self._call(self._submit(request, settings or self.settings, again or retry_of is not None, retry_of,
                                       owner))

    def run_again(self, job_id: str, settings: Settings | None = None, access: Access = LOCAL_ACCESS) -> str | None:
        """Start the job's request again as a new job of ``access``'s owner; None when the request is unknown
        (an older release's row) or the job is not theirs to change."""
        snapshot = self.snapshot(job_id, access)
        if snapshot is None or snapshot.request is None or not access.may_change(snapshot.owner):
            return None
        return self.submit(snapshot.request, settings, again=True, owner=access.owner)

    def retry_failed(self, job_id: str, settings: Settings | None = None, access: Access = LOCAL_ACCESS) -> str | None:
        """Run again only what failed or did not finish in job ``job_id``, keeping what succeeded.

        Returns the new job's id, or None when the job is unknown, not ``access``'s to change, still running or
        has no result.
        """
        snapshot = self.snapshot(job_id, access)
        if snapshot is None or not snapshot.finished or snapshot.request is None or snapshot.result is None \
                or not access.may_change(snapshot.owner):
            return None
        if self.store is None and job_id not in self._jobs:
            return None
        return self.submit(snapshot.request, settings, retry_of=job_id, owner=access.owner)

    async def submit_refresh(self, request: Request, owner: str = LOCAL.id) -> str | None:
        """A scheduled refresh of ``request`` for ``owner`` (who watches it): a new job with this process's
        settings (on the jobs' loop); None when the daily budget is spent."""
        person = LOCAL if owner == LOCAL.id else Owner(id=owner, name=await asyncio.to_thread(self._name_of, owner))
        try:  # started outside the refresh workflow's context: the job is a workflow of its own
            return await asyncio.create_task(self._submit(request, self.settings, True, None, person),
                                             context=contextvars.Context())
        except DailyBudgetSpent:
            return None

    def watch_topic(self, job_id: str, every: Period, access: Access = LOCAL_ACCESS) -> WatchedTopic | None:
        """Refresh the topic of market report ``job_id`` ``every`` period for ``access``'s owner (their reports,
        each opening with what changed); None when the job is not theirs or not a market report."""
        request = self._watchable(job_id, access)
        return None if request is None else Watches(self.settings).add(request, every, access.owner.id)

    def unwatch_topic(self, job_id: str, access: Access = LOCAL_ACCESS) -> bool:
        """Stop refreshing the topic of ``job_id`` for ``access``'s owner; False when they did not watch it."""
        request = self._watchable(job_id, access)
        return request is not None and Watches(self.settings).remove(request, access.owner.id)

    def watched_topic(self, job_id: str, access: Access = LOCAL_ACCESS) -> WatchedTopic | None:
        """How often ``access``'s owner has the topic of ``job_id`` refreshed, if they do."""
        request = self._watchable(job_id, access)
        return None if request is None else Watches(self.settings).watching(request, access.owner.id)

    def _watchable(self, job_id: str, access: Access) -> MarketRequest | None:
        snapshot = self.snapshot(job_id, access)
        if snapshot is None or not access.may_change(snapshot.owner) or not isinstance(snapshot.request, MarketRequest):
            return None
        return snapshot.request

    def budget_for(self, owner: str) -> Ledgers | None:
        """The daily budgets a request of ``owner``'s jobs must fit: the deployment's (``RESEARCH_DAILY_BUDGET_*``)
        and, for a signed-in person, their own (``RESEARCH_USER_DAILY_BUDGET_*``); None when neither is set."""
        ledgers = [self.ledger] if self.ledger is not None else []
        personal = self.settings.user_daily_budget_tokens or self.settings.user_daily_budget_usd
        if personal and owner != LOCAL.id and self._store_engine is not None:
            if owner not in self._personal:
                self._personal[owner] = SpendLedger(self._store_engine, tokens=self.settings.user_daily_budget_tokens,
                                                    usd=self.settings.user_daily_budget_usd, person=owner)
            ledgers.append(self._personal[owner])
        return Ledgers(*ledgers) if ledgers else None

    def estimate(self, request: Request, settings: Settings | None = None) -> Estimate:
        """What researching ``request`` is expected to spend (a token range, and USD at the model's price)."""
        return estimate(request, settings or self.settings)

    def snapshot(self, job_id: str, access: Access = LOCAL_ACCESS) -> JobSnapshot | None:
        """The job's current state, from memory or from the saved history; None for an unknown id and for a
        job ``access`` may not see (another person's: "not found", never "not yours")."""
        snapshot = self._snapshot(job_id)
        return snapshot if snapshot is not None and access.may_see(snapshot.owner) else None

    def _snapshot(self, job_id: str) -> JobSnapshot | None:
        """Any job's current state, whoever owns it (for the service itself)."""
        if not is_valid_job_id(job_id):
            return None
        with self._lock:
            job = self._jobs.get(job_id)
        if job is not None:
            return job.snapshot()
        if self.store is None:
            return None
        return snapshot_from_store(self.store, job_id, self._running_elsewhere if self._engine else None)

    def compare(self, job_a: str, job_b: str, access: Access = LOCAL_ACCESS) -> RunComparison:
        """What changed between two market reports of the history, the one that started first as the earlier.

        ValueError, naming the job, when the two are the same job or either is not a finished market report
        with its result (e.g. "no market report '0123456789ab' in the history").
        """
        return self.compare_snapshots(lambda job_id: self.snapshot(job_id, access), job_a, job_b)

    @staticmethod
    def compare_snapshots(snapshot: Callable[[str], JobSnapshot | None], job_a: str, job_b: str) -> RunComparison:
        """:meth:`compare`, reading each job through ``snapshot`` (e.g. from the store alone, without a service:
        ``python -m research compare``)."""
        if job_a == job_b:
            raise ValueError(f"{job_a!r} twice: choose two different reports")
        reports: list[tuple[MarketResearchResult, float, str]] = []
        for job_id in (job_a, job_b):
            found = snapshot(job_id)
            if found is None or found.kind is not WorkflowKind.MARKET:
                raise ValueError(f"no market report {job_id!r} in the history")
            if not found.status.finished:
                raise ValueError(f"the market report {job_id!r} is still running")
            if not isinstance(found.result, MarketResearchResult):
                raise ValueError(f"the market report {job_id!r} has no saved result to compare (it failed before "
                                 "any research, or an earlier release saved it without one)")
            reports.append((found.result, found.created_at, job_id))
        (earlier, _, earlier_id), (later, _, later_id) = sorted(reports, key=lambda report: (report[0].started_at,
                                                                                             report[1]))
        return compare_runs(earlier, later, earlier_id=earlier_id, later_id=later_id)

    def watch(self, job_id: str, sink: EventSink) -> bool:
        """Pass the job's further events to ``sink`` (called on the jobs' thread); False for a job not running here."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or job.done.is_set():
            return False
        job.sinks.append(sink)
        return True

    def cancel(self, job_id: str, access: Access = LOCAL_ACCESS) -> bool:
        """Ask a running job of ``access``'s owner to stop; it ends as cancelled with what finished."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or job.done.is_set() or not access.may_change(job.owner):
            return False
        self._loop.call_soon_threadsafe(self._request_cancel, job)
        return True

    def wait(self, job_id: str, timeout: float | None = None) -> bool:
        """Block until the job has finished (True) or ``timeout`` seconds have passed (False).

        A job this process resumes is waited for from before DBOS recovery has started it; a job this process
        neither runs nor resumes has nothing to wait for (True).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while job_id not in self._jobs and job_id in self._resuming:
                left = None if deadline is None else deadline - time.monotonic()
                if (left is not None and left <= 0) or not self._added.wait(left):
                    return False
            job = self._jobs.get(job_id)
        if job is None:
            return True
        return job.done.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))

    def unfinished(self) -> list[str]:
        """The ids of this worker's jobs DBOS has yet to finish (being resumed by this process), oldest first."""
        if self._engine is None:
            return []
        return self._call(durable_workflows.unfinished_jobs(self.settings.worker_id))

    def close(self) -> None:
        """Stop the loop thread (running jobs stop with it: durable ones resume at the next start).

        Steps this process took from the provider queue for other processes' jobs are finished first (within
        the run's time limit): their jobs wait for them, and no restart of another worker would resume them.
        """
        global _running
        if self._engine is not None:
            with contextlib.suppress(Exception):
                self._call(self._finish_steps_for_others(self.settings.run_timeout))
            self._engine.close()
            if _running is self:
                _running = None
                durable_workflows.serve_for(None)
        self._stop_loop()

    async def _finish_steps_for_others(self, limit: float) -> None:
        await self.share.close()  # idle lenders end now, so DBOS records their workflows' ends before it stops
        deadline = time.monotonic() + limit
        while self.steps_for_others and time.monotonic() < deadline:
            await asyncio.wait(set(self.steps_for_others), timeout=deadline - time.monotonic())
        lenders = {task for task in self.lenders if not task.done()}
        if lenders and not self.local_jobs:  # with no job left here to lend to, every lender ends at once
            await asyncio.wait(lenders, timeout=max(0.0, min(deadline - time.monotonic(), 1.0)))

    # Called by the durable workflows, on the jobs' loop.

    def with_secrets(self, settings: Settings) -> Settings:
        """``settings`` with this process's API keys."""
        return settings.with_changes(api_key=self.settings.api_key, tavily_key=self.settings.tavily_key)

    def provider_queue(self) -> Any:
        """The provider queue of the started engine."""
        if self._engine is None or self._engine.queue is None:
            raise RuntimeError("the durable engine is not started")
        return self._engine.queue

    async def attach(self, order: JobOrder) -> Attachment:
        """Show a durable job: one submitted here, or one this process resumed after a restart."""
        with self._lock:
            state = self._jobs.get(order.id)
            recovered = state is None
            if state is None:
                state = JobState(order.id, order.request, self.with_secrets(order.settings), retry_of=order.retry_of,
                                 created_at=order.created_at, resumed=True, owner=order.owner,
                                 owner_name=order.owner_name)
                self._jobs[order.id] = state
                self._resuming.discard(order.id)
                self._added.notify_all()
        if recovered:
            self._told(state)
        if state.cancel_event is None:
            state.cancel_event = asyncio.Event()
        reuse = await self._reuse(order.retry_of)
        return Attachment(state.on_event, state.cancel_event, self._models.get(order.id), state.settings, reuse,
                          resumed=recovered)

    async def finished(self, job_id: str, result: JobResult) -> None:
        """Write a job's result to the history and show it on its page (a market report with what changed since
        the latest earlier complete report on its topic)."""
        if self.store is not None and isinstance(result, MarketResearchResult) and result.status.has_report \
                and result.changes is None:
            result.changes = await asyncio.to_thread(self._changes_since_last, job_id, result)
            if result.changes is not None:
                await self._write_changes(job_id, result, result.changes)
        if self.store is not None and isinstance(result, CompanyBatchResult) and result.succeeded \
                and result.changes is None:
            result.changes = await asyncio.to_thread(self._batch_changes_since_last, job_id, result)
        if self.store is not None:
            usage = result.usage
            await asyncio.to_thread(self.store.record_finished, job_id, status=result.status,
                                    finished_at=result.finished_at, result_json=result.model_dump_json(),
                                    elapsed=result.elapsed, tokens=usage.total_tokens if usage.reported else None,
                                    cost_usd=estimated_cost(result.model, usage, self.settings.prices)
                                    if usage.reported and not result.demo else None)
        with self._lock:
            state = self._jobs.get(job_id)
        if state is not None:
            with state.lock:
                state.result = result
            if job_id not in self._models:  # a job submitted here is done when its run ends (and DBOS recorded it)
                state.done.set()

    # Inside.

    async def _write_changes(self, job_id: str, result: MarketResearchResult, comparison: RunComparison) -> None:
        """The section writer's paragraph on ``comparison``, with the job's own settings and models."""
        with self._lock:
            state = self._jobs.get(job_id)
        if state is None:
            return
        written = await write_changes(comparison, result, state.settings, models=self._models.get(job_id),
                                      shared_budget=self.budget_for(state.owner))
        result.changes_text = written
        if written.result is not None:
            comparison.summary, comparison.summary_notes = written.result.prose, list(written.result.notes)

    def _changes_since_last(self, job_id: str, result: MarketResearchResult) -> RunComparison | None:
        assert self.store is not None
        owner = self._snapshot(job_id)
        earlier = self.store.latest_complete(result.request.kind, result.topic, before=result.started_at,
                                             owner=owner.owner if owner is not None else LOCAL.id)
        if earlier is None or earlier.id == job_id:
            return None
        snapshot = snapshot_from_store(self.store, earlier.id)
        if snapshot is None or not isinstance(snapshot.result, MarketResearchResult):
            return None
        return compare_runs(snapshot.result, result, earlier_id=earlier.id, later_id=job_id)

    def _batch_changes_since_last(self, job_id: str, result: CompanyBatchResult) -> BatchComparison | None:
        """What changed since the owner's latest earlier batch (complete or partial) sharing a company with it."""
        assert self.store is not None
        owner = self._snapshot(job_id)
        earlier = self.store.list(BATCHES_LOOKED_AT, kinds=[WorkflowKind.COMPANIES],
                                  statuses=[JobStatus.COMPLETE, JobStatus.PARTIAL],
                                  owner=owner.owner if owner is not None else LOCAL.id)
        for row in earlier:
            if row.id == job_id or row.created_at >= result.started_at:
                continue
            snapshot = snapshot_from_store(self.store, row.id)
            if snapshot is not None and isinstance(snapshot.result, CompanyBatchResult) and \
                    shares_companies(snapshot.result.request.names, result.request.names):
                return compare_batches(snapshot.result, result, earlier_id=row.id, later_id=job_id)
        return None

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the jobs' loop and wait for its value."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def _told(self, state: JobState) -> None:
        if self._on_job is not None:
            sink = self._on_job(state.snapshot())
            if sink is not None:
                state.sinks.append(sink)

    def _durable(self, settings: Settings) -> bool:
        """Durable unless the job's key is not the process's own (a key pasted into one session)."""
        return self._engine is not None and settings.key == self.settings.key

    def _running_with(self, intent: str) -> str | None:
        with self._lock:
            return next((job.id for job in self._jobs.values()
                         if not job.done.is_set() and _intent(job.request, job.owner) == intent), None)

    async def _submit(self, request: Request, settings: Settings, again: bool, retry_of: str | None,
                      owner: Owner) -> str:
        intent = None if again else _intent(request, owner.id)
        running = self._running_with(intent) if intent else None
        if running is not None:
            return running
        budget = self.budget_for(owner.id)
        if budget is not None and not settings.demo:  # DailyBudgetSpent: nothing is recorded
            await asyncio.to_thread(budget.check_open)
        job = JobState(new_job_id(), request, settings, retry_of=retry_of, owner=owner.id, owner_name=owner.label)
        job.cancel_event = asyncio.Event()
        with self._lock:  # claimed before the first await: a second submit on this loop finds it
            self._jobs[job.id] = job
        try:
            source = await open_models(settings, demo_speed=self._demo_speed)  # ConfigError: nothing recorded
        except BaseException:
            self._forget(job.id)
            raise
        try:
            if self.store is not None:  # the database decides across processes: one running job per intent
                await asyncio.to_thread(self.store.record_started, job.id, request=request, provider=source.label,
                                        model=source.model_name, demo=source.is_demo, created_at=job.created_at,
                                        worker=self.settings.worker_id, intent=intent, owner=owner.id,
                                        owner_name=owner.label)
        except BaseException as exc:
            self._forget(job.id)
            await source.aclose()
            if isinstance(exc, DuplicateJob):
                return exc.job_id
            raise
        with self._lock:
            self._evict_finished()
        self._told(job)
        task = asyncio.get_running_loop().create_task(self._run(job, source))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job.id

    def _name_of(self, owner: str) -> str | None:
        """How ``owner`` is named beside their jobs (a scheduled refresh has no signed-in person to ask)."""
        return self.store.name_of(owner) if self.store is not None else None

    def _forget(self, job_id: str) -> None:
        with self._lock:
            self._jobs.pop(job_id, None)

    async def _run(self, job: JobState, source: ModelSource) -> None:
        self._models[job.id] = source  # :meth:`attach` hands them to a durable job; :meth:`finished` to its paragraph
        try:
            if self._durable(job.settings):
                order = JobOrder.of(job.id, job.request, job.settings, job.retry_of, job.created_at, job.owner,
                                    job.owner_name)
                if await durable_workflows.start_job(order) is None and job.result is None:  # cancelled early
                    await self._fail(job, "the job was cancelled before it began", JobStatus.CANCELLED)
                return
            result = await run_workflow(job.workflow, job.request, job.settings, on_event=job.on_event,
                                        cancel=job.cancel_event, models=source, reuse=await self._reuse(job.retry_of),
                                        shared_budget=self.budget_for(job.owner))
            await self.finished(job.id, result)
        except Exception as exc:  # noqa: BLE001 - the page must learn of any failure
            await self._fail(job, f"the job stopped unexpectedly ({type(exc).__name__})")
        finally:
            self._models.pop(job.id, None)
            await source.aclose()
            job.settings = job.settings.with_changes(api_key=None)  # a session's key lives no longer than its job
            job.done.set()

    async def _fail(self, job: JobState, error: str, status: JobStatus = JobStatus.FAILED) -> None:
        with job.lock:
            job.error = error
        if self.store is not None:
            with contextlib.suppress(Exception):  # the store itself may be what failed
                await asyncio.to_thread(self.store.record_finished, job.id, status=status, finished_at=time.time(),
                                        result_json="")

    async def _reuse(self, job_id: str | None) -> dict[str, StepOutcome[Any]] | None:
        """The step outcomes of the earlier job ``job_id`` (what a retry keeps); its tokens were counted there."""
        if job_id is None:
            return None
        result: Any
        with self._lock:
            kept = self._jobs.get(job_id)
        if kept is not None and kept.result is not None:
            result = kept.result
        elif self.store is not None:
            row, raw = await asyncio.to_thread(lambda: (self.store.get(job_id), self.store.result_json(job_id)))
            if row is None or not raw:
                return None
            result = workflow_for(row.kind).result_type.model_validate(upgrade_result(row.kind, raw))
        else:
            return None
        return {o.key: o.model_copy(update={"usage": TokenUsage()}) for o in result.all_outcomes}

    def _request_cancel(self, job: JobState) -> None:
        job.cancel_requested = True
        if job.cancel_event is not None:
            job.cancel_event.set()
        if self._durable(job.settings):  # recorded: a cancelled job is never resumed
            task = self._loop.create_task(durable_workflows.cancel_job(job.id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _running_elsewhere(self, job_id: str) -> bool:
        """True when DBOS has the job unfinished: another process of the deployment runs it."""
        state = self._call(durable_workflows.job_state(job_id))
        return state is not None and state.unfinished

    def _evict_finished(self) -> None:
        finished = [j for j in self._jobs.values() if j.done.is_set()]
        for job in finished[: max(0, len(self._jobs) - self._keep)]:
            del self._jobs[job.id]


    # For the web app's pages (which import only this module, :mod:`research.reports`, inputs and config).

    @classmethod
    def open(cls, settings: Settings, **options: Any) -> JobService:
        """The service of a server process: the library logs go to ``settings.data_dir``, the jobs to its history.

        The history is SQLite under ``RESEARCH_DATA_DIR``, or ``RESEARCH_DATABASE_URL``'s Postgres; ``options``
        are :class:`JobService`'s own (``durable``, ``demo_speed``, ...).
        """
        route_library_logs(settings.data_dir)
        return cls(settings, ReportStore(settings.data_dir, settings.database_url), **options)

    def history(self, limit: int = 200, *, search: str = "", statuses: Iterable[str] | None = None,
                kinds: Iterable[str] | None = None, access: Access = LOCAL_ACCESS) -> list[StoredJob]:
        """Up to ``limit`` saved jobs ``access`` may see, newest first, as :meth:`research.store.ReportStore.list`
        filters them (their owner's own; everyone's in a shared history or for an admin). Empty without a history.
        """
        if self.store is None:
            return []
        owner = None if access.sees_everyone else access.owner.id
        return self.store.list(limit, search=search, statuses=statuses, kinds=kinds, owner=owner)

    def delete(self, job_id: str, access: Access = LOCAL_ACCESS) -> bool:
        """Remove a saved job of ``access``'s owner (any job for an admin) from the history; True if it existed
        and was theirs to delete."""
        owner = None if access.admin else access.owner.id
        if self.store is None or not self.store.delete(job_id, owner=owner):
            return False
        with self._lock:  # a finished job kept in memory is gone too (a running one ends as it would)
            job = self._jobs.get(job_id)
            if job is not None and job.done.is_set():
                del self._jobs[job_id]
        return True
