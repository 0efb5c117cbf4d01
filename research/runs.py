"""What both workflows share: how a run ended, and the rule that decides it."""

from __future__ import annotations

from enum import StrEnum

from research.executor import FanOutResult


class RunStatus(StrEnum):
    """How a whole run ended."""

    COMPLETE = "complete"
    PARTIAL = "partial"
    FAILED = "failed"
    CANCELLED = "cancelled"


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
