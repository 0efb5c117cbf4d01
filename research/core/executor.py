"""One generic fan-out executor: run many tasks at once, bounded, observable.

``fan_out`` takes items and an async work function and returns one
:class:`TaskOutcome` per item (status, result or error, attempts, timings,
token usage) plus an optional aggregate step that runs once the tasks have
settled. Every state change is published as a :class:`StatusEvent`, so a CLI,
a web page or a test can follow the same stream.

Retries and per-attempt timeouts of model calls are carried out by the Agents
SDK (``ModelSettings.retry`` / ``ModelSettings.timeout``, see
:mod:`research.agents.base`); the executor supplies the limits, the backoff
rule and the status reporting, and bounds the whole task.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

from research.core.errors import describe_error
from research.core.limits import Limits

T = TypeVar("T")
R = TypeVar("R")


class TaskState(StrEnum):
    """Where a task is in its life."""

    QUEUED = "queued"
    RUNNING = "running"
    RETRYING = "retrying"
    DONE = "done"
    FAILED = "failed"
    TIMED_OUT = "timed out"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"

    @property
    def finished(self) -> bool:
        """True for states a task never leaves."""
        return self in _FINISHED


_FINISHED = {TaskState.DONE, TaskState.FAILED, TaskState.TIMED_OUT, TaskState.CANCELLED, TaskState.SKIPPED}


class TokenUsage(BaseModel):
    """Tokens and requests spent by one task (summed over its attempts)."""

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    def add(self, other: Any) -> None:
        """Add an SDK ``Usage`` (or another ``TokenUsage``) to this one."""
        self.requests += int(getattr(other, "requests", 0) or 0)
        self.input_tokens += int(getattr(other, "input_tokens", 0) or 0)
        self.output_tokens += int(getattr(other, "output_tokens", 0) or 0)


class TaskOutcome(BaseModel, Generic[R]):
    """What happened to one task: its final state and result or error."""

    key: str
    state: TaskState = TaskState.QUEUED
    result: R | None = None
    error: str | None = Field(default=None, description="Why the task did not succeed, in plain words")
    attempts: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    usage: TokenUsage = Field(default_factory=TokenUsage)

    @property
    def ok(self) -> bool:
        """True when the task finished with a result."""
        return self.state is TaskState.DONE

    @property
    def elapsed(self) -> float | None:
        """Seconds from start to finish (or to now, while running)."""
        if self.started_at is None:
            return None
        return (self.finished_at or time.time()) - self.started_at


@dataclass(frozen=True)
class StatusEvent:
    """A state change of one task, or a piece of text it streamed (``text``)."""

    key: str
    state: TaskState
    at: float
    attempt: int
    max_attempts: int
    message: str = ""
    usage: TokenUsage | None = None
    text: str = ""
    result: Any = None
    """The task's result, on its ``done`` event (so a front end can show it at once)."""


EventSink = Callable[[StatusEvent], None]


@dataclass
class TaskContext:
    """Handed to the work function: report requests, retries, notes, usage and streamed text.

    ``attempt`` is the attempt number of the current model request (1 for its
    first try, 2 for its first retry); ``outcome.attempts`` counts every
    request the task has made, retries and repair requests included.
    """

    key: str
    limits: Limits
    outcome: TaskOutcome[Any]
    publish: EventSink
    attempt: int = 1
    _requests_before: int = field(default=0, repr=False)
    _request_open: bool = field(default=False, repr=False)
    _streamed: list[str] = field(default_factory=list, repr=False)

    def _emit(self, state: TaskState, message: str = "", text: str = "", result: Any = None) -> None:
        self.publish(
            StatusEvent(
                key=self.key,
                state=state,
                at=time.time(),
                attempt=self.attempt,
                max_attempts=self.limits.max_attempts,
                message=message,
                usage=None if text else self.outcome.usage.model_copy(),
                text=text,
                result=result,
            )
        )

    @property
    def streamed_text(self) -> str:
        """The text streamed by the current attempt of the current request."""
        return "".join(self._streamed)

    def begin_request(self) -> None:
        """Record that a new model request starts (its first attempt)."""
        if self._request_open:
            self._requests_before = self.outcome.attempts
        self._request_open = True
        self.attempt = 1
        self.outcome.attempts = self._requests_before + 1
        self._streamed.clear()

    def discard_request(self) -> None:
        """Forget the current request: the server refused its format, so it does not count as an attempt."""
        self.outcome.attempts = self._requests_before
        self._request_open = False

    def report_retry(self, next_attempt: int, reason: str, delay: float) -> None:
        """Record that the current attempt failed and attempt ``next_attempt`` follows after ``delay`` s."""
        self.attempt = next_attempt
        self.outcome.attempts = self._requests_before + next_attempt
        self.outcome.state = TaskState.RETRYING
        self._streamed.clear()
        self._emit(TaskState.RETRYING, f"{reason}; retrying in {delay:.1f} s")

    def report_note(self, message: str) -> None:
        """Tell the user what the task is doing (e.g. asking the model again); not an attempt."""
        self.outcome.state = TaskState.RUNNING
        self._emit(TaskState.RUNNING, message)

    def add_usage(self, usage: Any) -> None:
        """Count tokens spent by this task."""
        self.outcome.usage.add(usage)

    def emit_text(self, delta: str) -> None:
        """Publish a piece of streamed text."""
        if delta:
            if self.outcome.state is TaskState.RETRYING:  # the retry is under way
                self.outcome.state = TaskState.RUNNING
                self._emit(TaskState.RUNNING)
            self._streamed.append(delta)
            self._emit(self.outcome.state, text=delta)


Work = Callable[[T, TaskContext], Awaitable[R]]


@dataclass
class FanOutResult(Generic[R]):
    """All task outcomes (in input order), the aggregate outcome, and counts."""

    outcomes: list[TaskOutcome[R]]
    aggregate: TaskOutcome[Any] | None = None
    cancelled: bool = False
    timed_out: bool = False
    started_at: float = field(default_factory=time.time)
    finished_at: float = field(default_factory=time.time)

    @property
    def total(self) -> int:
        """Number of tasks."""
        return len(self.outcomes)

    @property
    def succeeded(self) -> int:
        """Tasks that finished with a result."""
        return sum(1 for o in self.outcomes if o.ok)

    @property
    def failed(self) -> int:
        """Tasks that did not finish with a result."""
        return self.total - self.succeeded


@dataclass
class _Stop:
    """Why unfinished tasks were stopped: a cancel request or the run's time limit."""

    state: TaskState | None = None
    message: str = ""


async def _run_one(item: Any, work: Work[Any, Any], ctx: TaskContext, gate: asyncio.Semaphore, stop: _Stop) -> None:
    outcome = ctx.outcome
    async with gate:
        outcome.state = TaskState.RUNNING
        outcome.attempts = 1
        outcome.started_at = time.time()
        ctx._emit(TaskState.RUNNING)
        try:
            outcome.result = await work(item, ctx)
            outcome.state = TaskState.DONE
        except asyncio.CancelledError:
            outcome.state, outcome.error = stop.state or TaskState.CANCELLED, stop.message or "cancelled"
            raise
        except Exception as exc:  # noqa: BLE001 - every failure becomes an outcome
            timed_out, outcome.error = describe_error(exc, ctx.limits.attempt_timeout)
            outcome.state = TaskState.TIMED_OUT if timed_out else TaskState.FAILED
        finally:
            outcome.finished_at = time.time()
            ctx._emit(outcome.state, outcome.error or "", result=outcome.result)


async def _settle(coros: list[Awaitable[None]], cancel: asyncio.Event | None, deadline: float | None, stop: _Stop) -> None:
    """Run ``coros`` to completion, unless ``cancel`` is set or ``deadline`` (loop time) passes first."""
    loop = asyncio.get_running_loop()
    tasks = [asyncio.ensure_future(c) for c in coros]
    stopper = asyncio.ensure_future(cancel.wait()) if cancel is not None else None
    waiters: set[asyncio.Future[Any]] = set(tasks) | ({stopper} if stopper else set())
    try:
        while stop.state is None and any(not t.done() for t in tasks):
            timeout = None if deadline is None else max(deadline - loop.time(), 0)
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            if stopper is not None and stopper.done():
                stop.state, stop.message = TaskState.CANCELLED, "cancelled"
            elif deadline is not None and loop.time() >= deadline and any(not t.done() for t in tasks):
                stop.state = TaskState.TIMED_OUT
    finally:
        for t in tasks:
            t.cancel()
        if stopper is not None:
            stopper.cancel()
        await asyncio.gather(*tasks, *(x for x in [stopper] if x), return_exceptions=True)


def _mark_stopped(outcome: TaskOutcome[Any], publish: EventSink, limits: Limits, stop: _Stop) -> None:
    """A task still unfinished when the run stopped: stopped if it had started, else skipped."""
    if outcome.state.finished or stop.state is None:
        return
    started = outcome.started_at is not None
    outcome.state = stop.state if started else TaskState.SKIPPED
    outcome.error = stop.message if started else f"not started: {stop.message.removeprefix('stopped: ')}"
    outcome.finished_at = time.time()
    publish(StatusEvent(outcome.key, outcome.state, time.time(), 1, limits.max_attempts, outcome.error))


async def fan_out(
    items: Sequence[T],
    work: Work[T, R],
    *,
    limits: Limits,
    key: Callable[[T], str] = str,
    on_event: EventSink | None = None,
    aggregate: Callable[[list[TaskOutcome[R]], TaskContext], Awaitable[Any]] | None = None,
    aggregate_key: str = "aggregate",
    cancel: asyncio.Event | None = None,
    run_timeout: float | None = None,
) -> FanOutResult[R]:
    """Run ``work(item, ctx)`` for every item, at most ``limits.concurrency`` at once.

    All tasks are queued at once and start as soon as the semaphore lets them.
    A failing task never stops the others: its outcome records why. When every
    task has settled, ``aggregate`` (if given) runs as one more tracked task,
    unless no task succeeded, in which case it is skipped and never called.
    Setting ``cancel`` stops everything still running (``cancelled=True``);
    after ``run_timeout`` seconds for tasks and aggregate together, whatever
    still runs is stopped as timed out (``timed_out=True``). Either way the
    result holds whatever finished.
    """
    publish: EventSink = on_event or (lambda _event: None)
    started = time.time()
    deadline = None if run_timeout is None else asyncio.get_running_loop().time() + run_timeout
    stop = _Stop(message=f"stopped: the run's time limit of {run_timeout:g} s was reached" if run_timeout else "")
    keys = [key(item) for item in items]
    if len(set(keys)) != len(keys):
        raise ValueError("task keys must be unique")
    outcomes: list[TaskOutcome[R]] = [TaskOutcome(key=k) for k in keys]
    contexts = [TaskContext(k, limits, o, publish) for k, o in zip(keys, outcomes)]
    for ctx in contexts:
        ctx._emit(TaskState.QUEUED)

    gate = asyncio.Semaphore(limits.concurrency)
    await _settle([_run_one(i, work, c, gate, stop) for i, c in zip(items, contexts)], cancel, deadline, stop)
    agg: TaskOutcome[Any] | None = None
    if aggregate is not None:
        agg = TaskOutcome(key=aggregate_key)
        agg_ctx = TaskContext(aggregate_key, limits, agg, publish)
        if stop.state is None and not any(o.ok for o in outcomes):
            agg.state, agg.error = TaskState.SKIPPED, "not started: every input failed"
            agg_ctx._emit(TaskState.SKIPPED, agg.error)
        elif stop.state is None:
            agg_ctx._emit(TaskState.QUEUED)
            runner = _run_one(outcomes, lambda outs, c: aggregate(outs, c), agg_ctx, asyncio.Semaphore(1), stop)
            await _settle([runner], cancel, deadline, stop)
    for outcome in [*outcomes, *([agg] if agg else [])]:
        _mark_stopped(outcome, publish, limits, stop)
    return FanOutResult(outcomes=outcomes, aggregate=agg, cancelled=stop.state is TaskState.CANCELLED,
                        timed_out=stop.state is TaskState.TIMED_OUT, started_at=started, finished_at=time.time())
