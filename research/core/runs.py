"""What every workflow's result shares: the job status, run facts, and the rule that decides the status."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from research.core.budget import BudgetFacts
from research.core.graph import GraphRun
from research.core.steps import StepOutcome, TokenUsage, tokens_label

if TYPE_CHECKING:  # the workflows import this module: the keys are only named here, never imported at run time
    from research.workflows.keys import StepKey


class JobStatus(StrEnum):
    """Where a job is, or how it ended: the one status type of the engine, the store and the pages."""

    RUNNING = "running"
    COMPLETE = "complete"
    PARTIAL = "partial"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"
    """The process stopped while the job ran (seen after a restart)."""

    @property
    def finished(self) -> bool:
        """True once the job will not change any more."""
        return self is not JobStatus.RUNNING

    @property
    def has_report(self) -> bool:
        """True when some research finished, so there is a report to show."""
        return self in (JobStatus.COMPLETE, JobStatus.PARTIAL, JobStatus.CANCELLED)


class RunFacts(BaseModel):
    """Facts about a run that are not research: when, which provider and model."""

    started_at: float
    finished_at: float
    provider: str
    model: str
    demo: bool
    evidence_source: str = ""
    """Where the run's evidence came from, in one line (the web search in use, the demo, or none)."""
    budget: BudgetFacts | None = None
    """The run's budget and its spend, when the run had one."""


class RunResult(RunFacts):
    """The facts every workflow's result carries; each workflow adds its outcomes."""

    status: JobStatus
    error: str | None = None
    estimated_cost: str = ""
    """What the run's tokens cost, where the model's price is known, e.g. "≈ $0.0123 (estimate …)"."""

    @property
    def all_outcomes(self) -> list[StepOutcome[Any]]:
        """Every step's outcome, in display order."""
        raise NotImplementedError

    @property
    def elapsed(self) -> float:
        """Wall-clock seconds of the whole run."""
        return self.finished_at - self.started_at

    @property
    def usage(self) -> TokenUsage:
        """Tokens spent by every step of the run."""
        total = TokenUsage()
        for outcome in self.all_outcomes:
            total.add(outcome.usage)
        return total

    @property
    def usage_facts(self) -> str:
        """The run's tokens and their estimated cost, e.g. "12,345 tokens · ≈ $0.0123 (estimate …)".

        Where the model server reported no usage the tokens are said to be unknown, and no cost is estimated.
        """
        usages = [outcome.usage for outcome in self.all_outcomes]
        if all(usage.reported for usage in usages):
            return tokens_label(usages) + (f" · {self.estimated_cost}" if self.estimated_cost else "")
        some = any(usage.requests and usage.reported for usage in usages)
        why = "the model server did not report every request's usage" if some else "the model server reported no usage"
        return f"{tokens_label(usages)} ({why})"


def overall_status(run: GraphRun, primary: Iterable[StepKey], what: str) -> tuple[JobStatus, str | None]:
    """The run's status and, when nothing usable came out, why.

    Cancelled beats everything; no ``primary`` step (the research itself)
    succeeding means no report; every step succeeding is complete; anything
    else is partial. ``what`` names the primary steps in the error, e.g.
    "research agent", and each step is named by its key's subject
    ("market", "Stripe").
    """
    if run.cancelled:
        return JobStatus.CANCELLED, "the run was cancelled"
    research = {key: run.outcomes[key] for key in primary}
    if not any(o.ok for o in research.values()):
        reasons = "; ".join(f"{key.subject}: {o.error}" for key, o in research.items())
        return JobStatus.FAILED, f"every {what} failed ({reasons})"
    if all(o.ok for o in run.outcomes.values()):
        return JobStatus.COMPLETE, None
    return JobStatus.PARTIAL, None
