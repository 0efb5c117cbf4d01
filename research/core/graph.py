"""The graph executor: run named steps as soon as the steps they need have settled.

A workflow is a list of :class:`Step` s. Each declares the steps it ``needs``;
:func:`run_graph` starts a step the moment every step it needs has settled
(finished, failed or been skipped), under one semaphore, with status events,
cancellation and a run deadline. A step whose inputs failed is told which are
missing (:attr:`StepInputs.missing`), or is skipped with a reason when its
:class:`Requires` rule says it cannot run without them. A failing step never
stops the others: its outcome records why.

Retries and per-attempt timeouts of model calls are carried out inside the
steps (see :mod:`research.agents.runner`); the executor bounds the whole run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from research.core.budget import BudgetReached
from research.core.errors import describe_error
from research.core.limits import Limits
from research.core.steps import EventSink, StatusEvent, StepContext, StepOutcome, StepState


class Requires(StrEnum):
    """Which of a step's inputs must have succeeded for it to run."""

    ALL = "all"
    """Every input: otherwise the step is skipped."""
    ANY = "any"
    """At least one input: the step is told which are missing."""
    SETTLED = "settled"
    """None: the step runs once its inputs have settled, whatever became of them."""


@dataclass(frozen=True)
class StepInputs:
    """What a step receives: the outcomes of the steps it needs."""

    outcomes: Mapping[str, StepOutcome[Any]]

    def result(self, key: str) -> Any:
        """The result of input ``key`` (None when it did not succeed)."""
        outcome = self.outcomes[key]
        return outcome.result if outcome.ok else None

    @property
    def succeeded(self) -> dict[str, Any]:
        """The results of the inputs that succeeded, by key."""
        return {key: o.result for key, o in self.outcomes.items() if o.ok}

    @property
    def missing(self) -> dict[str, str]:
        """Why each input that did not succeed is missing, by key."""
        return {key: o.error or o.state.value for key, o in self.outcomes.items() if not o.ok}


StepWork = Callable[[StepInputs, StepContext], Awaitable[Any]]


@dataclass(frozen=True)
class Step:
    """One named unit of work in a graph."""

    key: str
    work: StepWork
    needs: tuple[str, ...] = ()
    requires: Requires = Requires.ALL
    calls_model: bool = True
    """True when the step sends requests to the model server (it then waits for the provider's limit)."""
    replayable: bool = False
    """True when running the step again gives the same result at no cost (no request of any kind): a durable job
    then runs it again after a restart rather than record it."""


StepExecutor = Callable[[Step, StepInputs, StepContext], Awaitable[Any]]
"""Carries out one step and returns its result; the default calls ``step.work`` in this process."""


async def run_here(step: Step, inputs: StepInputs, ctx: StepContext) -> Any:
    """The default :data:`StepExecutor`: run the step's work right here."""
    return await step.work(inputs, ctx)


@dataclass
class GraphRun:
    """Every step's outcome (in declaration order), and how the run ended."""

    outcomes: dict[str, StepOutcome[Any]]
    concurrency: int = 1
    """How many steps could run at once."""
    cancelled: bool = False
    timed_out: bool = False
    started_at: float = field(default_factory=time.time)
    finished_at: float = field(default_factory=time.time)


@dataclass
class _Stop:
    """Why unfinished steps were stopped: a cancel request or the run's time limit."""

    state: StepState | None = None
    reason: str = ""


def check_graph(steps: Sequence[Step]) -> None:
    """Raise ``ValueError`` for duplicate keys, unknown inputs or a cycle."""
    keys = [step.key for step in steps]
    if len(set(keys)) != len(keys):
        raise ValueError("step keys must be unique")
    known: set[str] = set()
    for step in steps:  # inputs must be declared earlier: this also rules out cycles
        unknown = [need for need in step.needs if need not in known]
        if unknown:
            raise ValueError(f"step {step.key!r} needs {unknown}, which are not declared before it")
        known.add(step.key)


def _skip_reason(step: Step, inputs: StepInputs, label: Callable[[str], str]) -> str | None:
    missing = inputs.missing
    if not missing or step.requires is Requires.SETTLED:
        return None
    if step.requires is Requires.ALL:
        return "not started: needs " + ", ".join(map(label, missing)) + ", which did not finish"
    if len(missing) == len(step.needs):
        return "not started: every input failed"
    return None


async def _run_step(step: Step, inputs: StepInputs, ctx: StepContext, gate: asyncio.Semaphore, stop: _Stop,
                    execute: StepExecutor) -> None:
    outcome = ctx.outcome
    async with gate:
        outcome.state, outcome.attempts, outcome.started_at = StepState.RUNNING, 1, time.time()
        ctx._emit(StepState.RUNNING)
        try:
            outcome.result = await execute(step, inputs, ctx)
            outcome.state = StepState.DONE
        except asyncio.CancelledError:
            outcome.state, outcome.error = stop.state or StepState.CANCELLED, _stopped_message(stop)
            raise
        except BudgetReached as exc:  # a request that did not fit was never sent
            outcome.state, outcome.error = StepState.SKIPPED, str(exc)
        except Exception as exc:  # noqa: BLE001 - every failure becomes an outcome
            timed_out, outcome.error = describe_error(exc, ctx.limits.attempt_timeout)
            outcome.state = StepState.TIMED_OUT if timed_out else StepState.FAILED
        finally:
            outcome.finished_at = time.time()
            ctx._emit(outcome.state, outcome.error or outcome.note or "", result=outcome.result)


def _stopped_message(stop: _Stop) -> str:
    return "cancelled" if stop.state is StepState.CANCELLED else f"stopped: {stop.reason}"


def _finish_unfinished(outcomes: Mapping[str, StepOutcome[Any]], publish: EventSink, limits: Limits, stop: _Stop) -> None:
    """Steps still unfinished when the run stopped: stopped if they had started, else skipped."""
    for outcome in outcomes.values():
        if outcome.state.finished or stop.state is None:
            continue
        started = outcome.started_at is not None
        outcome.state = stop.state if started else StepState.SKIPPED
        outcome.error = _stopped_message(stop) if started else f"not started: {stop.reason}"
        outcome.finished_at = time.time()
        publish(StatusEvent(outcome.key, outcome.state, time.time(), 1, limits.max_attempts, outcome.error))


async def run_graph(
    steps: Sequence[Step],
    *,
    limits: Limits,
    on_event: EventSink | None = None,
    cancel: asyncio.Event | None = None,
    run_timeout: float | None = None,
    time_limit: float | None = None,
    label: Callable[[str], str] = str,
    reuse: Mapping[str, StepOutcome[Any]] | None = None,
    execute: StepExecutor = run_here,
) -> GraphRun:
    """Run every step as soon as its inputs have settled, at most ``limits.concurrency`` at once.

    Setting ``cancel`` stops everything still running (``cancelled=True``);
    after ``run_timeout`` seconds whatever still runs is stopped as timed out
    (``timed_out=True``; the reason names ``time_limit``, the configured limit, when
    ``run_timeout`` is what is left of it). Either way the result holds whatever finished, and
    steps that never started are skipped with the reason, which names
    missing inputs as ``label`` shows them. ``reuse`` holds an earlier run's
    outcomes: a step that succeeded there, and whose inputs were all reused
    too, is kept instead of run again (a retry of what failed). ``execute``
    carries out each step (the durable jobs run it as a checkpointed workflow).
    """
    check_graph(steps)
    publish: EventSink = on_event or (lambda _event: None)
    loop = asyncio.get_running_loop()
    started = time.time()
    deadline = None if run_timeout is None else loop.time() + run_timeout
    stop = _Stop()
    outcomes = {step.key: StepOutcome(key=step.key) for step in steps}
    contexts = {step.key: StepContext(step.key, limits, outcomes[step.key], publish) for step in steps}
    for ctx in contexts.values():
        ctx._emit(StepState.QUEUED)

    gate = asyncio.Semaphore(limits.concurrency)
    pending = list(steps)
    reused: set[str] = set()
    running: dict[asyncio.Task[None], Step] = {}
    stopper = asyncio.ensure_future(cancel.wait()) if cancel is not None else None
    try:
        while pending or running:
            for step in [s for s in pending if all(outcomes[n].state.finished for n in s.needs)]:
                pending.remove(step)
                kept = (reuse or {}).get(step.key)
                if kept is not None and kept.ok and all(n in reused for n in step.needs):
                    outcomes[step.key] = contexts[step.key].outcome = kept.model_copy()
                    reused.add(step.key)
                    contexts[step.key]._emit(StepState.DONE, kept.note or "kept from the earlier run", result=kept.result)
                    continue
                inputs = StepInputs({need: outcomes[need] for need in step.needs})
                reason = _skip_reason(step, inputs, label)
                if reason is not None:
                    outcome = outcomes[step.key]
                    outcome.state, outcome.error, outcome.finished_at = StepState.SKIPPED, reason, time.time()
                    contexts[step.key]._emit(StepState.SKIPPED, reason)
                    continue
                task = asyncio.ensure_future(_run_step(step, inputs, contexts[step.key], gate, stop, execute))
                running[task] = step
            if any(all(outcomes[n].state.finished for n in s.needs) for s in pending):
                continue  # a skip made more steps ready
            if not running:
                break
            timeout = None if deadline is None else max(deadline - loop.time(), 0)
            waiters: set[asyncio.Future[Any]] = set(running) | ({stopper} if stopper else set())
            done, _ = await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            for task in done & set(running):
                del running[task]
            if stopper is not None and stopper.done():
                stop.state, stop.reason = StepState.CANCELLED, "cancelled"
            elif deadline is not None and loop.time() >= deadline:
                stop.state, stop.reason = StepState.TIMED_OUT, f"the run's time limit of {round(time_limit or run_timeout or 0, 1):g} s was reached"
            if stop.state is not None:
                break
    finally:
        for task in running:
            task.cancel()
        if stopper is not None:
            stopper.cancel()
        await asyncio.gather(*running, *([stopper] if stopper else []), return_exceptions=True)
    _finish_unfinished(outcomes, publish, limits, stop)
    return GraphRun(outcomes=outcomes, concurrency=limits.concurrency, cancelled=stop.state is StepState.CANCELLED,
                    timed_out=stop.state is StepState.TIMED_OUT, started_at=started, finished_at=time.time())
