"""The durable job workflow, the queued step workflow, and the executor that checkpoints each graph step.

A job (:func:`research_job`, workflow id = job id) runs its workflow's graph
as usual, but :class:`DurableSteps` carries out each step as a DBOS step of
the job, named by its step key. The graph starts steps in the order their
inputs finish, which differs from run to run, while DBOS numbers a workflow's
operations in call order; so the executor draws every step's place in the
job's log up front, in declaration order (``DBOS.reserve_step``). When a
restarted process runs the job again, a finished step returns its recorded
outcome at its place, whatever order the steps finished in the first time; a
step that had started runs again (at least once) and says so.

Everything a job or step hands to DBOS is plain JSON (:mod:`research.jobs.orders`).
Model-calling steps wait for a slot: the process's own
(:class:`~research.jobs.slots.ProviderSlots`) or, when the limit is
deployment-wide, the provider queue (:data:`~research.jobs.engine.PROVIDER_QUEUE`)
as the workflow :func:`research_step` with the id ``<job id>:<step key>``,
which any process of the deployment may run; the job's step records its outcome.
Run in the job's own process, that workflow then lends its slot to the process's
next waiting steps (:mod:`research.jobs.lending`), which run with no workflow of
their own.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from dbos import DBOS, SetEnqueueOptions, SetWorkflowID
from dbos import error as dbos_error
from pydantic import BaseModel

from research.config import Settings
from research.core.budget import BUDGET_REACHED, BudgetReached, SharedBudget
from research.core.errors import RecordedFailure, describe_error
from research.core.graph import Step, StepInputs
from research.core.steps import EventSink, StepContext, StepOutcome, StepState
from research.jobs.engine import BOOT_ID, PROVIDER_QUEUE, RESULT_POLL_SECONDS, RunState, deployment_wide, lends_slots
from research.jobs.lending import QueueShare, TurnKind
from research.jobs.orders import JobOrder, dump_outcome, load_outcome
from research.jobs.slots import ProviderSlots
from research.workflows import JobResult, workflow_for
from research.workflows.base import RunTools, run_tools, run_workflow

T = TypeVar("T")
RERUN_NOTE = "started again after a restart"
RECORDED_NOTE = "recorded before the restart"
QUEUED_NOTE = "queued (provider limit)"
_SHOW_QUEUED_AFTER = 0.05
"""Seconds a queued step may take to start before its card says it waits for the provider limit."""


class StepCall(BaseModel):
    """What a step workflow is started with: its job, its key, its inputs' outcomes (JSON) and where it waits."""

    order: JobOrder
    key: str
    inputs: dict[str, str]
    """The outcome of each input step, as :func:`~research.jobs.orders.dump_outcome` JSON."""
    deadline: float | None = None
    """When the job's time is up (seconds since the epoch): a step that starts later does not run."""
    rank: int = 1
    """The step's place among its job's model requests (lower ranks get a slot first)."""
    queued: bool = False
    """True: it waits in the provider queue; False: for one of this process's slots (or for none)."""
    calls_model: bool = True
    budget_tokens: int | None = None
    budget_usd: float | None = None
    """What was left of the run's budget when the step was queued (a step another process runs keeps to it)."""


@dataclass
class LocalJob:
    """A job running in this process: its steps use its tools, report to its page and see its cancel flag."""

    tools: RunTools
    publish: EventSink
    cancel: asyncio.Event
    started: dict[str, asyncio.Event] = field(default_factory=dict)
    """By step key: set when the step's workflow begins here."""
    outcomes: dict[str, asyncio.Future[StepOutcome[Any]]] = field(default_factory=dict)
    """By step key: the outcome of a step that ran here, handed over without a database read."""
    entries: set[str] = field(default_factory=set)
    """Keys of the steps whose queue entry counts in the process's :class:`~research.jobs.lending.QueueShare`."""
    begun: set[str] = field(default_factory=set)
    """Keys of the steps of :attr:`entries` whose workflow has begun here (no longer waiting in the queue)."""

    def began(self, key: str, share: QueueShare, owner: str) -> None:
        """The workflow of step ``key`` has begun here: the share stops counting it as waiting in the queue (once)."""
        if key in self.entries and key not in self.begun:
            self.begun.add(key)
            share.began(owner)

    def give_back(self, key: str, share: QueueShare, owner: str) -> None:
        """The queue entry of step ``key`` has ended: the owner's count in ``share`` drops (once)."""
        if key in self.entries:
            self.entries.discard(key)
            share.give_back(owner, waited=key not in self.begun)
            self.begun.discard(key)


class Attachment(Protocol):
    """A durable job's link to the process that runs it (see :meth:`JobHost.attach`)."""

    publish: EventSink
    cancel: asyncio.Event
    models: Any
    settings: Settings
    reuse: dict[str, StepOutcome[Any]] | None
    resumed: bool


class JobHost(Protocol):
    """The process's job service, as the workflows see it (:class:`research.jobs.service.JobService`)."""

    local_jobs: dict[str, LocalJob]
    slots: ProviderSlots
    settings: Settings
    steps_for_others: set[asyncio.Task[Any]]
    """Queued steps of other processes' jobs running here (the service finishes them before it stops)."""
    share: QueueShare
    """This process's entries in the provider queue, and the slots its queued steps lend (:mod:`~research.jobs.lending`)."""
    lenders: set[asyncio.Task[Any]]
    """Queued steps of this process's jobs that lend their slot on (they end when the service stops)."""

    def budget_for(self, owner: str) -> SharedBudget | None:
        """The daily budgets ``owner``'s requests must fit (the deployment's, and the person's), if any."""
        ...

    def with_secrets(self, settings: Settings) -> Settings:
        """``settings`` with this process's API keys."""
        ...

    def provider_queue(self) -> Any:
        """The provider queue of the started engine."""
        ...

    async def attach(self, order: JobOrder) -> Attachment:
        """Show the job, submitted here or resumed after a restart; its events, cancel flag, models, settings."""
        ...

    async def finished(self, job_id: str, result: JobResult) -> None:
        """Write the job's result to the history and show it."""
        ...

    async def submit_refresh(self, request: Any, owner: str) -> str | None:
        """Start a scheduled refresh of ``request`` as a new job; None when the daily budget is spent."""
        ...

    def snapshot(self, job_id: str) -> Any:
        """The job's current state (:class:`~research.jobs.snapshots.JobSnapshot`), or None."""
        ...


_host: JobHost | None = None


def serve_for(host: JobHost | None) -> None:
    """Make ``host`` the service the workflows of this process report to (None: no longer any)."""
    global _host
    _host = host


def serving() -> JobHost:
    """The job service of this process (RuntimeError when none serves)."""
    if _host is None:
        raise RuntimeError("no job service is running in this process")
    return _host


def step_workflow_id(job_id: str, key: str) -> str:
    """The stable id of a job's step: the job's id and the step's key."""
    return f"{job_id}:{key}"


def _boot() -> str:
    return BOOT_ID


async def _outside_the_job(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` with no DBOS context: a workflow it enqueues stands alone, tied to the job by its id."""
    return await asyncio.create_task(coro, context=contextvars.Context())


@DBOS.workflow(name="research.job")
async def research_job(order_json: str) -> str:
    """Run one research job durably and write its history row; returns its status.

    Resumed after a restart, its steps that had finished return their recorded
    outcomes and the rest run; its deadline counts from when it first began.
    """
    order = JobOrder.model_validate_json(order_json)
    service = serving()
    attachment = await service.attach(order)
    resumed, began = attachment.resumed, order.created_at  # a job starts as it is submitted: no step records it
    settings = attachment.settings
    deadline = began + settings.run_timeout
    try:
        result = await run_workflow(workflow_for(order.request.kind), order.request, settings,
                                    on_event=attachment.publish, cancel=attachment.cancel, models=attachment.models,
                                    reuse=attachment.reuse,
                                    executor=lambda tools: DurableSteps(order, tools, attachment, deadline, service, resumed),
                                    started_at=began, executor_keeps_time=True,
                                    shared_budget=service.budget_for(order.owner))
    finally:
        service.local_jobs.pop(order.id, None)
        service.share.forget(order.id)  # its steps still to come will not: no slot waits for them
    await service.finished(order.id, result)
    return result.status.value


class DurableSteps:
    """The graph executor of a durable job: each step is a DBOS step of the job at a place drawn up front."""

    def __init__(self, order: JobOrder, tools: RunTools, attachment: Any, deadline: float | None,
                 service: JobHost, resumed: bool) -> None:
        self.order, self.deadline, self.service = order, deadline, service
        self.local = service.local_jobs[order.id] = LocalJob(tools, attachment.publish, attachment.cancel)
        self.queued = deployment_wide(order.settings)
        self.lends = lends_slots(order.settings)
        self.resumed = resumed
        graph = workflow_for(order.request.kind).steps(order.request, None)
        calls = [step.key for step in graph if step.calls_model]
        self._ranks = {key: rank for rank, key in enumerate(calls, 1)}
        if self.lends:  # its queued steps' slots wait for its next ones
            service.share.expect(order.id, order.owner, len(calls))
        # Each step's place in the job's DBOS log, drawn now in declaration order: the steps start in the order
        # their inputs finish, which differs between runs, but a restarted job finds each outcome at its key's place.
        self._reserved = {step.key: DBOS.reserve_step() for step in graph}
        self._before_restart: set[str] = set()
        """The steps that finished before a restart: recorded, or replayable."""
        self._ran_here: dict[str, StepOutcome[Any]] = {}
        """By step key: the outcome of a step that ran in this process, until :meth:`__call__` takes it."""

    async def __call__(self, step: Step, inputs: StepInputs, ctx: StepContext) -> Any:
        if step.replayable:  # not worth a record: a resumed job runs it again, as it had before the restart
            if self.resumed:
                self._before_restart.add(step.key)
            return await step.work(inputs, ctx)
        queued = self.queued and step.calls_model
        call = StepCall(order=self.order, key=step.key, deadline=self.deadline,
                        # a step run in this process takes its inputs as they are; only an enqueued one needs JSON
                        inputs={key: dump_outcome(o) for key, o in inputs.outcomes.items()}
                        if queued and not self.lends else {},
                        rank=self._ranks.get(step.key, len(self._ranks) + 1),
                        queued=queued, calls_model=step.calls_model, **self._budget_left())
        left = None if self.deadline is None else self.deadline - time.time()
        checkpointed = self._reserved[step.key].run_async({"name": step.key}, self._carry_out, call, inputs, ctx)
        try:  # after the deadline, recorded steps still come back, and the rest end at once as out of time
            text = await asyncio.wait_for(checkpointed, left if left and left > 0 else None)
        except TimeoutError:
            limit = round(self.order.settings.run_timeout, 1)
            raise RecordedFailure(f"stopped: the run's time limit of {limit:g} s was reached", timed_out=True) from None
        outcome = self._ran_here.pop(step.key, None)  # its recorded JSON need not be read back
        if outcome is None:  # recorded before a restart, or run by another process
            outcome, extra = load_outcome(text)
            job_boot = extra.get("job_boot", extra.get("boot"))
            if job_boot != BOOT_ID:
                self._before_restart.add(step.key)
                outcome.note = outcome.note or RECORDED_NOTE  # finished before this process started
            if job_boot != BOOT_ID or extra.get("boot") != BOOT_ID:  # spent before, or elsewhere: the budget counts it
                self.local.tools.budget.count(outcome.usage.input_tokens, outcome.usage.output_tokens)
        ctx.outcome.attempts, ctx.outcome.usage, ctx.outcome.note = outcome.attempts, outcome.usage, outcome.note
        if outcome.ok:
            return outcome.result
        if outcome.state is StepState.SKIPPED:
            raise BudgetReached(outcome.error or BUDGET_REACHED)
        raise RecordedFailure(outcome.error or outcome.state.value, timed_out=outcome.state is StepState.TIMED_OUT)

    def _budget_left(self) -> dict[str, Any]:
        budget = self.local.tools.budget
        tokens = None if budget.tokens is None else max(budget.tokens - budget.spent_tokens, 1)
        usd = None if budget.usd is None else max(budget.usd - (budget.spent_usd or 0.0), 1e-9)
        return {"budget_tokens": tokens, "budget_usd": usd}

    async def _carry_out(self, call: StepCall, inputs: StepInputs, ctx: StepContext) -> str:
        """The step's outcome as JSON (the DBOS step's output): run here, or by whichever process dequeues it.

        An outcome that came to be in this process is also kept as it is, for :meth:`__call__` to take.
        """
        if call.queued:
            text = await _outside_the_job(self._queued(call, inputs, ctx))
            outcome, extra = load_outcome(text) if call.key not in self._ran_here else (self._ran_here[call.key], {})
            return dump_outcome(outcome, boot=extra.get("boot", BOOT_ID), job_boot=BOOT_ID)  # who ran it, recorded it
        outcome = await _run_step(call, self.local.tools, self.local.publish, self._again(inputs), self.local,
                                  self.service, inputs)
        self._ran_here[call.key] = outcome
        return dump_outcome(outcome, boot=BOOT_ID)

    def _again(self, inputs: StepInputs) -> bool:
        """Whether a step not recorded, in a job resumed after a restart, had started before: if its inputs were all
        ready before the restart, it had started then (or was waiting for a slot), so it starts again now."""
        return self.resumed and all(key in self._before_restart for key in inputs.outcomes)

    async def _queued(self, call: StepCall, inputs: StepInputs, ctx: StepContext) -> str:
        """Run the step in a slot of the provider queue: one this process's last step lends on, or the slot of the
        workflow ``<job id>:<step key>`` enqueued for it; its outcome as JSON."""
        owner, share = call.order.owner, self.service.share
        if self.lends:
            turn = await share.turn(owner, call.rank, on_wait=lambda: ctx._emit(StepState.QUEUED, QUEUED_NOTE),
                                    job=self.order.id)
            if turn.kind is TurnKind.LENT:
                try:
                    outcome = await _run_step(call, self.local.tools, self.local.publish, self._again(inputs),
                                              self.local, self.service, inputs)
                finally:
                    turn.finish()
                self._ran_here[call.key] = outcome
                return dump_outcome(outcome, boot=BOOT_ID)
            self.local.entries.add(call.key)
            call = call.model_copy(update={"inputs": {key: dump_outcome(o) for key, o in inputs.outcomes.items()}})
        workflow_id = step_workflow_id(self.order.id, call.key)
        started = self.local.started.setdefault(call.key, asyncio.Event())
        here = self.local.outcomes.setdefault(call.key, asyncio.get_running_loop().create_future())
        try:
            # partitioned by owner: RESEARCH_USER_CONCURRENCY holds one person's share of the queue's slots
            with SetWorkflowID(workflow_id), SetEnqueueOptions(priority=call.rank, queue_partition_key=owner):
                handle = await self.service.provider_queue().enqueue_async(research_step, call.model_dump_json())
            recorded = asyncio.ensure_future(handle.get_result(polling_interval_sec=RESULT_POLL_SECONDS))
            await _say_when_held_back(started, recorded, ctx)
            began_here = asyncio.ensure_future(started.wait())
            done, _ = await asyncio.wait({recorded, here, began_here}, return_when=asyncio.FIRST_COMPLETED)
            began_here.cancel()
            if recorded in done:  # run by another process
                return recorded.result()
            recorded.cancel()  # it runs here: its outcome is handed over, no need to read the database for it
            self._ran_here[call.key] = await here
            return dump_outcome(self._ran_here[call.key], boot=BOOT_ID)
        except asyncio.CancelledError:
            await asyncio.shield(DBOS.cancel_workflow_async(workflow_id))  # never resumed, nor run elsewhere
            raise
        finally:
            self.local.outcomes.pop(call.key, None)
            if not started.is_set():  # a workflow that began here gives its entry back when it stops lending
                self.local.give_back(call.key, share, owner)


async def _say_when_held_back(started: asyncio.Event, recorded: asyncio.Future[Any], ctx: StepContext) -> None:
    """Tell the step's card it waits for the provider limit, unless it starts (or ends) at once."""
    waiter = asyncio.ensure_future(started.wait())
    done, _ = await asyncio.wait({waiter, recorded}, timeout=_SHOW_QUEUED_AFTER, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if not done:
        ctx._emit(StepState.QUEUED, QUEUED_NOTE)


@DBOS.workflow(name="research.step")
async def research_step(call_json: str) -> str:
    """Run one queued step of a job; returns its outcome as JSON (a failure is an outcome too, so it is recorded).

    A step of a job of this process is recorded as it ends and handed to its job; then the workflow lends its
    slot to the process's next steps (:mod:`research.jobs.lending`) before it ends and frees the slot.
    """
    call = StepCall.model_validate_json(call_json)
    boot = await DBOS.run_step_async({"name": "began"}, _boot)
    service = serving()
    local = service.local_jobs.get(call.order.id)
    if local is None:
        return await _run_for_another_process(call, service, rerun=boot != BOOT_ID)
    local.started.setdefault(call.key, asyncio.Event()).set()
    local.began(call.key, service.share, call.order.owner)
    waiting = local.outcomes.get(call.key)
    task = asyncio.current_task()
    assert task is not None
    service.lenders.add(task)
    try:
        ran: list[StepOutcome[Any]] = []

        async def run() -> str:
            ran.append(await _run_step(call, local.tools, local.publish, boot != BOOT_ID, local, service))
            return dump_outcome(ran[0], boot=BOOT_ID)

        try:
            text = await DBOS.run_step_async({"name": "ran"}, run)
        except BaseException as exc:  # the job waits for this outcome here, so it hears of the failure too
            if waiting is not None and not waiting.done() and isinstance(exc, Exception):
                waiting.set_exception(exc)
            elif waiting is not None:
                waiting.cancel()
            raise
        if waiting is not None and not waiting.done():  # recorded: the job may take it now
            waiting.set_result(ran[0] if ran else load_outcome(text)[0])
        if lends_slots(call.order.settings):
            await _lend_slot(call.order.owner, local, service.share)
        return text
    finally:
        service.lenders.discard(task)
        local.give_back(call.key, service.share, call.order.owner)


async def _lend_slot(owner: str, local: LocalJob, share: QueueShare) -> None:
    """Lend this workflow's slot to the process's next steps of ``owner`` while nothing waits in the queue."""
    async with share.lending():
        while not local.cancel.is_set() and await share.lend(owner):
            pass


async def queue_waits() -> bool:
    """Whether any step waits in the provider queue (of any process, or of a person at their share)."""
    return bool(await DBOS.list_queued_workflows_async(queue_name=PROVIDER_QUEUE, status=RunState.ENQUEUED.value,
                                                       limit=1, load_input=False, load_output=False))


async def _run_for_another_process(call: StepCall, service: JobHost, rerun: bool) -> str:
    """Run a queued step of a job another process runs, with tools of its own; its outcome as JSON."""
    settings = call.order.settings.with_changes(budget_tokens=call.budget_tokens, budget_usd=call.budget_usd)
    task = asyncio.current_task()
    assert task is not None
    service.steps_for_others.add(task)
    try:
        async with run_tools(service.with_secrets(settings), shared_budget=service.budget_for(call.order.owner)) \
                as tools:
            outcome = await _run_step(call, tools, lambda _event: None, rerun, None, service)
    finally:
        service.steps_for_others.discard(task)
    return dump_outcome(outcome, boot=BOOT_ID)


async def _run_step(call: StepCall, tools: RunTools, publish: EventSink, rerun: bool, local: LocalJob | None,
                    service: JobHost, inputs: StepInputs | None = None) -> StepOutcome[Any]:
    """Run the step ``call`` names; ``inputs``: its inputs' outcomes, when not read from the call's JSON."""
    request = call.order.request
    workflow = workflow_for(request.kind)
    limits = workflow.limits(request, call.order.settings)
    outcome = StepOutcome(key=call.key, state=StepState.RUNNING, attempts=1, started_at=time.time(),
                          note=RERUN_NOTE if rerun else None)
    step = next(s for s in workflow.steps(request, tools) if s.key == call.key)
    ctx = StepContext(call.key, limits, outcome, publish)

    def held_back() -> None:
        ctx._emit(StepState.QUEUED, QUEUED_NOTE)

    async def work() -> None:
        stopped = await _job_stopped(call, local)
        if stopped is not None:  # the job ended while this step waited (or while the process was down)
            outcome.state, outcome.error, outcome.attempts = stopped
            return
        ctx._emit(StepState.RUNNING, "running again after a restart" if rerun else "")
        given = inputs if inputs is not None else StepInputs({key: load_outcome(text)[0] for key, text in call.inputs.items()})
        try:
            outcome.result = await step.work(given, ctx)
            outcome.state = StepState.DONE
        except BudgetReached as exc:  # a request that did not fit was never sent
            outcome.state, outcome.error = StepState.SKIPPED, str(exc)
        except Exception as exc:  # noqa: BLE001 - a failure is recorded like a result
            timed_out, outcome.error = describe_error(exc, limits.attempt_timeout)
            outcome.state = StepState.TIMED_OUT if timed_out else StepState.FAILED

    if call.calls_model and not call.queued:
        async with service.slots.take(call.rank, on_wait=held_back, owner=call.order.owner):
            await work()
    else:
        await work()
    outcome.finished_at = time.time()
    return outcome


async def _job_stopped(call: StepCall, local: LocalJob | None) -> tuple[StepState, str, int] | None:
    """Why the step must not run, if its job was cancelled or its time is up.

    A job running in this process is asked directly; of another one, the database is.
    """
    if call.deadline is not None and time.time() >= call.deadline:
        return StepState.TIMED_OUT, "stopped: the run's time limit was reached", 0
    if local is not None:
        cancelled = local.cancel.is_set()
    else:
        status = await DBOS.get_workflow_status_async(call.order.id)
        cancelled = status is not None and RunState(status.status) is RunState.CANCELLED
    return (StepState.CANCELLED, "cancelled", 0) if cancelled else None


async def start_job(order: JobOrder) -> str | None:
    """Start ``order`` as a durable workflow (id: the job's id) and wait for it; its status, or None if cancelled.

    Its result reaches the service through :meth:`~research.jobs.service.JobService.finished`.
    """
    with SetWorkflowID(order.id):
        handle = await DBOS.start_workflow_async(research_job, order.model_dump_json())
    try:
        return await handle.get_result()
    except dbos_error.DBOSAwaitedWorkflowCancelledError:
        return None


async def cancel_job(job_id: str) -> None:
    """Record that ``job_id`` is cancelled, so no restart resumes it."""
    await DBOS.cancel_workflow_async(job_id)


async def unfinished_jobs(worker: str | None = None) -> list[str]:
    """The ids of the jobs DBOS has yet to finish (of one ``worker``, or of all), oldest first."""
    statuses = await DBOS.list_workflows_async(name="research.job", status=[RunState.PENDING, RunState.ENQUEUED],
                                               load_input=False, load_output=False, executor_id=worker)
    return [status.workflow_id for status in statuses]


async def job_state(job_id: str) -> RunState | None:
    """How DBOS has the job: unfinished, or how it ended; None when it never ran durably."""
    status = await DBOS.get_workflow_status_async(job_id)
    return RunState(status.status) if status is not None else None
