"""What both workflows share: how a run ended, and the rule that decides it."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel

from research.core.executor import FanOutResult, TaskOutcome, TokenUsage


class RunStatus(StrEnum):
    """How a whole run ended."""

    COMPLETE = "complete"
    PARTIAL = "partial"
    FAILED = "failed"
    CANCELLED = "cancelled"


class RunResult(BaseModel):
    """The facts every workflow's result carries; subclasses add their outcomes."""

    status: RunStatus
    error: str | None = None
    started_at: float
    finished_at: float
    provider: str
    model: str
    demo: bool

    @property
    def all_outcomes(self) -> list[TaskOutcome[BaseModel]]:
        """Every agent's outcome, in display order."""
        raise NotImplementedError

    @property
    def elapsed(self) -> float:
        """Wall-clock seconds of the whole run."""
        return self.finished_at - self.started_at

    @property
    def usage(self) -> TokenUsage:
        """Tokens spent by every agent of the run."""
        total = TokenUsage()
        for outcome in self.all_outcomes:
            total.add(outcome.usage)
        return total


def overall_status(run: FanOutResult, what: str) -> tuple[RunStatus, str | None]:
    """The run's status and, when nothing usable came out, why.

    Cancelled beats everything; no successful task means no report; every
    task and the aggregate succeeding is complete; anything else is partial.
    ``what`` names the tasks in the error, e.g. "research agent".
    """
    if run.cancelled:
        return RunStatus.CANCELLED, "the run was cancelled"
    if run.succeeded == 0:
        reasons = "; ".join(f"{o.key}: {o.error}" for o in run.outcomes)
        return RunStatus.FAILED, f"every {what} failed ({reasons})"
    if run.failed == 0 and run.aggregate is not None and run.aggregate.ok:
        return RunStatus.COMPLETE, None
    return RunStatus.PARTIAL, None
