"""The two durable workflows, a job and a step, and the executor that runs graph steps as steps.

A job (:func:`research_job`, workflow id = job id) runs its workflow's graph
as usual, but :class:`DurableSteps` carries out each step as its own
workflow (:func:`research_step`) with the id ``<job id>:<step key>``. DBOS
keeps each step's outcome under that id, so when a restarted process runs
the job again every finished step returns its recorded outcome at once,
whatever order the steps finished in the first time, and a step that was
running when the process died runs again (at least once) and says so.

Steps that send requests to the model server wait in the provider queue
(:data:`~research.durable.engine.PROVIDER_QUEUE`), whose concurrency cap and
rate limit hold across every process sharing the database; any of those
processes may run them. The graph code itself never runs inside a DBOS step:
DBOS calls made while waiting for steps run outside the job's workflow
context (:func:`_detached`), so the job replays the same way however its
steps interleave.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from dbos import DBOS, SetEnqueueOptions, SetWorkflowID
from dbos._error import DBOSAwaitedWorkflowCancelledError

from research.core.errors import RecordedFailure, describe_error
from research.core.graph import Step, StepInputs
from research.core.steps import EventSink, StepContext, StepOutcome, StepState
from research.durable.engine import BOOT_ID, provider_queue
from research.durable.host import Attachment, DurableJob, current_host
from research.inputs import CompanyRequest, MarketRequest
from research.workflows import workflow_for
from research.workflows.base import RunTools, run_tools, run_workflow

T = TypeVar("T")
RERUN_NOTE = "ran again after a restart"
RECORDED_NOTE = "recorded before the restart"
QUEUED_NOTE = "queued (provider limit)"
_WAITING = ("ENQUEUED", "DELAYED")
_ENDED = ("SUCCESS", "ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED")
_STATUS_POLL_SECONDS = 0.5


@dataclass(frozen=True)
class StepCall:
    """What a step workflow is started with: the job's request and settings (no secrets), the step and its inputs."""

    job_id: str
    request: MarketRequest | CompanyRequest
    settings: Any
    key: str
    inputs: dict[str, StepOutcome[Any]]
    deadline: float | None = None
    """When the job's time is up (seconds since the epoch): a step dequeued later does not run."""


@dataclass
class _LocalJob:
    """A job running in this process: its steps use its tools, report to its page and see its cancel flag."""

    tools: RunTools
    publish: EventSink
    cancel: asyncio.Event


_local_jobs: dict[str, _LocalJob] = {}
_step_ended: dict[str, asyncio.Event] = {}
_step_tasks: dict[str, asyncio.Task[Any]] = {}
_background: set[asyncio.Task[Any]] = set()


def step_workflow_id(job_id: str, key: str) -> str:
    """The stable id of a job's step: the job's id and the step's key."""
    return f"{job_id}:{key}"


def _boot() -> str:
    return BOOT_ID


def _began() -> tuple[str, float]:
    return BOOT_ID, time.time()


async def _detached(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` outside any workflow context, so DBOS does not record it as an operation of the job."""
    return await asyncio.create_task(coro, context=contextvars.Context())


@DBOS.workflow(name="research.job")
async def research_job(job: DurableJob) -> str:
    """Run one research job durably; its result goes to the host, and is returned as JSON.

    Resumed after a restart, it keeps the outcomes its steps recorded and runs
    the rest; its deadline counts from when it first began, across restarts.
    """
    boot, began = await DBOS.run_step_async({"name": "began"}, _began)
    resumed = boot != BOOT_ID
    host = current_host()
    attachment = await host.attach(job, resumed=resumed)
    settings = host.with_secrets(job.settings)
    deadline = began + settings.run_timeout
    reuse = dict(job.reuse or {})
    if resumed:
        reuse.update(await _detached(recorded_outcomes(job.id)))
    try:
        result = await run_workflow(workflow_for(job.request.kind), job.request,
                                    settings,  # its run_timeout counts from ``began``, the job's first start
                                    on_event=attachment.publish, cancel=attachment.cancel, models=attachment.models,
                                    reuse=reuse,  # type: ignore[arg-type]
                                    executor=lambda tools: DurableSteps(job, tools, attachment, deadline),
                                    started_at=began)
    finally:
        _local_jobs.pop(job.id, None)
    await host.finished(job, result)
    return result.model_dump_json()  # JSON: the typed results are generic models, which pickle cannot store


async def recorded_outcomes(job_id: str) -> dict[str, StepOutcome[Any]]:
    """The outcomes of the job's steps that finished with a result before a restart, by step key."""
    statuses = await DBOS.list_workflows_async(workflow_id_prefix=f"{job_id}:", status="SUCCESS", load_input=False)
    outcomes = (status.output for status in statuses)
    return {o.key: o.model_copy(update={"note": o.note or RECORDED_NOTE}) for o in outcomes
            if isinstance(o, StepOutcome) and o.ok}


async def run_job(job: DurableJob) -> str | None:
    """Start ``job`` as a durable workflow (id: the job's id) and wait for its result's JSON.

    A cancelled job returns None: its partial result was handed to the host already.
    """
    with SetWorkflowID(job.id):
        handle = await DBOS.start_workflow_async(research_job, job)
    try:
        return await handle.get_result()
    except DBOSAwaitedWorkflowCancelledError:
        return None


def cancel_job(job_id: str) -> None:
    """Record that ``job_id`` is cancelled, so no restart resumes it (call on the jobs' loop)."""
    task = asyncio.get_running_loop().create_task(_detached(DBOS.cancel_workflow_async(job_id)))
    _background.add(task)
    task.add_done_callback(_background.discard)


async def unfinished_jobs(worker: str | None = None) -> list[str]:
    """The ids of the jobs DBOS has yet to finish (of one ``worker``, or of all), oldest first."""
    statuses = await DBOS.list_workflows_async(name="research.job", status=["PENDING", "ENQUEUED"], load_input=False,
                                               load_output=False, executor_id=worker)
    return [status.workflow_id for status in statuses]


class DurableSteps:
    """The graph executor of a durable job: each step runs as the workflow ``<job id>:<step key>``."""

    def __init__(self, job: DurableJob, tools: RunTools, attachment: Attachment, deadline: float | None = None) -> None:
        self.job, self.deadline = job, deadline
        _local_jobs[job.id] = _LocalJob(tools, attachment.publish, attachment.cancel)
        calls = [step.key for step in workflow_for(job.request.kind).steps(job.request, None) if step.calls_model]
        self._ranks = {key: rank for rank, key in enumerate(calls, 1)}

    def _rank(self, key: str) -> int:
        """The step's place among its job's model requests: the queue starts lower ranks first (equal
        ranks in arrival order), so jobs take turns and a new job's first request does not wait
        behind the hundredth company of an earlier batch."""
        return self._ranks.get(key, len(self._ranks) + 1)

    async def __call__(self, step: Step, inputs: StepInputs, ctx: StepContext) -> Any:
        call = StepCall(self.job.id, self.job.request, self.job.settings, step.key, dict(inputs.outcomes),
                        self.deadline)
        outcome = await _detached(self._run(step, call, ctx))
        ctx.outcome.attempts, ctx.outcome.usage, ctx.outcome.note = outcome.attempts, outcome.usage, outcome.note
        if outcome.ok:
            return outcome.result
        raise RecordedFailure(outcome.error or outcome.state.value, timed_out=outcome.state is StepState.TIMED_OUT)

    async def _run(self, step: Step, call: StepCall, ctx: StepContext) -> StepOutcome[Any]:
        workflow_id = step_workflow_id(call.job_id, call.key)
        ended = _step_ended.setdefault(workflow_id, asyncio.Event())
        try:
            with SetWorkflowID(workflow_id):
                if step.calls_model:
                    with SetEnqueueOptions(priority=self._rank(step.key)):
                        handle = await provider_queue().enqueue_async(research_step, call)
                else:
                    handle = await DBOS.start_workflow_async(research_step, call)
            await _until_ended(workflow_id, ended, ctx, self.job.settings.worker_id)
            return await handle.get_result()
        except asyncio.CancelledError:
            await asyncio.shield(_cancel_step(workflow_id))
            raise
        finally:
            _step_ended.pop(workflow_id, None)


async def _until_ended(workflow_id: str, ended: asyncio.Event, ctx: StepContext, worker: str) -> None:
    """Wait until the step's outcome is recorded: woken at once when it ran here, else by polling.

    Meanwhile the step's card says why it waits: "queued (provider limit)"
    while no slot is free, or which worker runs it when another process does.
    """
    shown = ""
    while True:
        try:
            await asyncio.wait_for(ended.wait(), _STATUS_POLL_SECONDS)
            return  # it ran here and its task has ended: DBOS has recorded the outcome
        except TimeoutError:
            pass
        status = await DBOS.get_workflow_status_async(workflow_id)
        state = status.status if status else "ENQUEUED"
        if state in _ENDED:
            return
        if workflow_id in _step_tasks:
            continue  # it runs here: its own events tell the page
        if state in _WAITING and shown != QUEUED_NOTE:
            shown = QUEUED_NOTE
            ctx._emit(StepState.QUEUED, QUEUED_NOTE)
        elif state == "PENDING" and status and status.executor_id != worker and not shown.startswith("running"):
            shown = f"running on worker {status.executor_id}"
            ctx._emit(StepState.RUNNING, shown)


async def _cancel_step(workflow_id: str) -> None:
    """Stop a step for good: cancelled in the database (it is not recovered) and here, if it runs here."""
    task = _step_tasks.get(workflow_id)
    if task is not None:
        task.cancel()
    await _detached(DBOS.cancel_workflow_async(workflow_id))


@DBOS.workflow(name="research.step")
async def research_step(call: StepCall) -> StepOutcome[Any]:
    """Run one step of a job and return its outcome (a failure is an outcome too, so it is recorded)."""
    boot = await DBOS.run_step_async({"name": "began"}, _boot)
    workflow_id = step_workflow_id(call.job_id, call.key)
    task = asyncio.current_task()
    if task is not None:  # wakes the waiting job once DBOS has recorded the outcome
        _step_tasks[workflow_id] = task
        task.add_done_callback(lambda _t: _step_finished(workflow_id))
    local = _local_jobs.get(call.job_id)
    if local is not None:
        return await _run_step(call, local.tools, local.publish, rerun=boot != BOOT_ID, local=local)
    async with run_tools(current_host().with_secrets(call.settings)) as tools:
        return await _run_step(call, tools, lambda _event: None, rerun=boot != BOOT_ID)


def _step_finished(workflow_id: str) -> None:
    _step_tasks.pop(workflow_id, None)
    ended = _step_ended.get(workflow_id)
    if ended is not None:
        ended.set()


async def _run_step(call: StepCall, tools: RunTools, publish: EventSink, rerun: bool,
                    local: _LocalJob | None = None) -> StepOutcome[Any]:
    workflow = workflow_for(call.request.kind)
    limits = workflow.limits(call.request, call.settings)  # type: ignore[arg-type]
    outcome = StepOutcome(key=call.key, state=StepState.RUNNING, attempts=1, started_at=time.time(),
                          note=RERUN_NOTE if rerun else None)
    stopped = await _job_stopped(call, local)
    if stopped is not None:  # the job ended while this step waited (or while the process was down)
        outcome.state, outcome.error, outcome.attempts = stopped
        outcome.finished_at = time.time()
        return outcome
    step = next(s for s in workflow.steps(call.request, tools) if s.key == call.key)  # type: ignore[arg-type]
    ctx = StepContext(call.key, limits, outcome, publish)
    ctx._emit(StepState.RUNNING, "running again after a restart" if rerun else "")
    try:
        outcome.result = await step.work(StepInputs(call.inputs), ctx)
        outcome.state = StepState.DONE
    except Exception as exc:  # noqa: BLE001 - a failure is recorded like a result
        timed_out, outcome.error = describe_error(exc, limits.attempt_timeout)
        outcome.state = StepState.TIMED_OUT if timed_out else StepState.FAILED
    outcome.finished_at = time.time()
    return outcome


async def _job_stopped(call: StepCall, local: _LocalJob | None) -> tuple[StepState, str, int] | None:
    """Why the step must not run, if its job was cancelled or its time is up.

    A job running in this process is asked directly; of another one, the database is.
    """
    if call.deadline is not None and time.time() >= call.deadline:
        return StepState.TIMED_OUT, "stopped: the run's time limit was reached", 0
    if local is not None:
        cancelled = local.cancel.is_set()
    else:
        job = await _detached(DBOS.get_workflow_status_async(call.job_id))  # live, not a recorded operation
        cancelled = job is not None and job.status == "CANCELLED"
    return (StepState.CANCELLED, "cancelled", 0) if cancelled else None
