"""What a step is while it runs: its state, outcome, context and the status events it publishes.

Every state change of a step is published as a :class:`StatusEvent`, so a CLI,
a web page or a test can follow the same stream. Steps report their model
requests, retries, notes, token usage and streamed text through their
:class:`StepContext`; the graph executor (:mod:`research.core.graph`) creates
the contexts and bounds the steps.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

from research.core.limits import Limits

R = TypeVar("R")


class StepState(StrEnum):
    """Where a step is in its life."""

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
        """True for states a step never leaves."""
        return self in _FINISHED


_FINISHED = {StepState.DONE, StepState.FAILED, StepState.TIMED_OUT, StepState.CANCELLED, StepState.SKIPPED}


def elapsed(started_at: float | None, finished_at: float | None) -> float | None:
    """Seconds from ``started_at`` to ``finished_at`` (or to now, while unfinished); None before the start."""
    if started_at is None:
        return None
    return (finished_at or time.time()) - started_at


def duration_label(seconds: float) -> str:
    """A duration for people: tenths of a second under 10 s ("1.5 s"), whole seconds above ("45 s", "149 s")."""
    tenths = round(seconds, 1)
    return f"{tenths:.1f} s" if tenths < 10 else f"{round(seconds)} s"


class TokenUsage(BaseModel):
    """Tokens and requests spent by one step (summed over its requests and attempts)."""

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    @property
    def reported(self) -> bool:
        """False when requests were made but the server reported no tokens for them: the count is unknown, not 0.

        Some OpenAI-compatible servers (llama-cpp-python's, for one) send no usage with a streamed answer.
        """
        return self.requests == 0 or self.total_tokens > 0

    @property
    def count(self) -> str:
        """The total for a table cell: "1,234", or "unknown" when the server reported no usage."""
        return f"{self.total_tokens:,}" if self.reported else "unknown"

    def add(self, other: Any) -> None:
        """Add an SDK ``Usage`` (or another ``TokenUsage``) to this one."""
        self.requests += int(getattr(other, "requests", 0) or 0)
        self.input_tokens += int(getattr(other, "input_tokens", 0) or 0)
        self.output_tokens += int(getattr(other, "output_tokens", 0) or 0)


def tokens_label(usages: Iterable[TokenUsage]) -> str:
    """The tokens of ``usages`` together, for people: "1,234 tokens"; "tokens unknown" when the server reported
    none of them; "at least 1,234 tokens" when it reported some (the rest are not counted)."""
    spent = [u for u in usages if u.requests]
    total = sum(u.total_tokens for u in spent)
    unreported = sum(not u.reported for u in spent)
    if unreported and unreported == len(spent):
        return "tokens unknown"
    return f"{'at least ' if unreported else ''}{total:,} token{'' if total == 1 else 's'}"


class StepOutcome(BaseModel, Generic[R]):
    """What happened to one step: its state, result or error, requests, timings and tokens."""

    key: str
    state: StepState = StepState.QUEUED
    result: R | None = None
    error: str | None = Field(default=None, description="Why the task did not succeed, in plain words")
    attempts: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    usage: TokenUsage = Field(default_factory=TokenUsage)
    note: str | None = None
    """How the step came by its result when that is worth saying, e.g. "started again after a restart"."""

    @property
    def ok(self) -> bool:
        """True when the step finished with a result."""
        return self.state is StepState.DONE

    @property
    def elapsed(self) -> float | None:
        """Seconds from start to finish (or to now, while running)."""
        return elapsed(self.started_at, self.finished_at)


@dataclass(frozen=True)
class StatusEvent:
    """A state change of one step, or a piece of text it streamed (``text``)."""

    key: str
    state: StepState
    at: float
    attempt: int
    max_attempts: int
    message: str = ""
    usage: TokenUsage | None = None
    text: str = ""
    result: Any = None
    """The step's result, on its ``done`` event (so a front end can show it at once)."""
    elapsed: float | None = None
    """Seconds since the step started (None before); on its finished event, its whole time, as its outcome records it."""


EventSink = Callable[[StatusEvent], None]


@dataclass
class StepContext:
    """Handed to the work function: report requests, retries, notes, usage and streamed text.

    ``attempt`` is the attempt number of the current model request (1 for its
    first try, 2 for its first retry); ``outcome.attempts`` counts every
    request the task has made, retries and repair requests included.
    """

    key: str
    limits: Limits
    outcome: StepOutcome[Any]
    publish: EventSink
    attempt: int = 1
    _requests_before: int = field(default=0, repr=False)
    _request_open: bool = field(default=False, repr=False)
    _streamed: list[str] = field(default_factory=list, repr=False)

    def _emit(self, state: StepState, message: str = "", text: str = "", result: Any = None) -> None:
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
                elapsed=self.outcome.elapsed,
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
        self.outcome.state = StepState.RETRYING
        self._streamed.clear()
        self._emit(StepState.RETRYING, f"{reason}; retrying in {duration_label(delay)}")

    def report_note(self, message: str) -> None:
        """Tell the user what the task is doing (e.g. asking the model again); not an attempt."""
        self.outcome.state = StepState.RUNNING
        self._emit(StepState.RUNNING, message)

    def add_usage(self, usage: Any) -> None:
        """Count tokens spent by this task."""
        self.outcome.usage.add(usage)

    def emit_text(self, delta: str) -> None:
        """Publish a piece of streamed text."""
        if delta:
            if self.outcome.state is StepState.RETRYING:  # the retry is under way
                self.outcome.state = StepState.RUNNING
                self._emit(StepState.RUNNING)
            self._streamed.append(delta)
            self._emit(self.outcome.state, text=delta)
