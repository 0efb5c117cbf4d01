"""What a page reads about a job: immutable snapshots, built from a running job or from the history.

:class:`JobState` is the mutable state of a job in this process, written by
the jobs' loop thread and copied under a lock into a :class:`JobSnapshot`.
A job that is not in memory is read back from the history
(:func:`snapshot_from_store`), its request as it was stored.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel

from research.config import Settings
from research.core.runs import JobStatus
from research.core.steps import StatusEvent, StepState, elapsed
from research.inputs import CompanyRequest, MarketRequest, WorkflowKind
from research.owners import LOCAL_ID
from research.store import ReportStore, StoredJob
from research.workflows import JobResult, workflow_for
from research.workflows.keys import StepKey, StepKind
from research.workflows.legacy import recheck_figures, upgrade_result


@dataclass(frozen=True)
class StepView:
    """What a page shows for one step of a job."""

    key: str
    label: str
    state: StepState = StepState.QUEUED
    attempt: int = 1
    max_attempts: int = 1
    message: str = ""
    started_at: float | None = None
    finished_at: float | None = None
    tokens: int = 0
    requests: int = 0
    """Model requests made so far (retries and repair requests included)."""
    notes: tuple[str, ...] = ()
    """The data notes of the step's result: what was fixed or dropped in the model's answer."""

    @property
    def elapsed(self) -> float | None:
        """Seconds since the step started (until it finished)."""
        return elapsed(self.started_at, self.finished_at)


@dataclass(frozen=True)
class JobSnapshot:
    """An immutable copy of a job's state at one moment."""

    id: str
    kind: WorkflowKind
    """Which workflow the job runs."""
    title: str
    """The job as lists name it: the topic, or the companies."""
    request: MarketRequest | CompanyRequest | None
    """What was asked; None for a job an older release saved with its title only (it cannot be run again)."""
    created_at: float
    status: JobStatus
    steps: tuple[StepView, ...]
    streamed: dict[str, str] = field(default_factory=dict)
    """Text each unfinished step has streamed so far, by step key."""
    partial: dict[str, BaseModel] = field(default_factory=dict)
    """The results of the steps that have finished, by step key."""
    result: JobResult | None = None
    error: str | None = None
    resumed: bool = False
    """True when the job was recovered after a restart of the process running it."""
    budget_tokens: int | None = None
    budget_usd: float | None = None
    """The job's own budget, if it has one."""
    owner: str = LOCAL_ID
    """Who started the job (an :class:`research.owners.Owner` id)."""
    owner_name: str | None = None
    """How they are named beside it (their name or e-mail address), when known."""

    @property
    def spent_tokens(self) -> int:
        """Tokens the job's steps have spent so far (as the server reported them)."""
        return sum(step.tokens for step in self.steps)

    @property
    def spend_label(self) -> str:
        """What the job has spent so far, against its budget: "3,210 tokens", "3,210 of 20,000 tokens"."""
        spent = self.spent_tokens
        facts = getattr(self.result, "budget", None)
        if facts is not None and facts.estimated:
            spent = facts.spent_tokens
        about = "≈ " if facts is not None and facts.estimated else ""
        if self.budget_tokens is not None:
            return f"{about}{spent:,} of {self.budget_tokens:,} tokens"
        if self.budget_usd is not None:
            usd = facts.spent_usd if facts is not None and facts.spent_usd is not None else None
            return f"{about}{spent:,} tokens" + (f" (${usd:,.4f})" if usd is not None else "") + \
                f" of a ${self.budget_usd:,.4f} budget"
        return f"{about}{spent:,} tokens"

    @property
    def finished(self) -> bool:
        """True once the job will not change any more."""
        return self.status.finished

    @property
    def found_anything(self) -> bool:
        """True once a step that brings findings or text has finished (searching and reading pages do not count):
        a job cancelled or stopped before that has no report to show, not a partial one."""
        return any(s.state is StepState.DONE and _brings_findings(s.key) for s in self.steps)

    @property
    def problems(self) -> dict[str, str]:
        """Why each step that ended without a result has none, by step key."""
        return {s.key: s.message or s.state.value for s in self.steps if s.state.finished and s.state is not StepState.DONE}


_NO_FINDINGS = (StepKind.EVIDENCE, StepKind.COMPANY_EVIDENCE)


def _brings_findings(key: str) -> bool:
    try:
        return StepKey.parse(key).kind not in _NO_FINDINGS
    except ValueError:  # a key of an earlier release's step
        return True


class JobState:
    """Mutable job state, written by the loop thread, copied under a lock."""

    def __init__(self, job_id: str, request: MarketRequest | CompanyRequest, settings: Settings, *,
                 retry_of: str | None = None, created_at: float | None = None, resumed: bool = False,
                 owner: str = LOCAL_ID, owner_name: str | None = None) -> None:
        self.id, self.request, self.settings, self.retry_of = job_id, request, settings, retry_of
        """``settings`` hold the key the job runs with (cleared when it ends); ``retry_of``: the job it retries."""
        self.owner, self.owner_name = owner, owner_name
        """Who started the job (an :class:`research.owners.Owner` id), and how they are named."""
        self.resumed = resumed
        """True when this process recovered the job after a restart."""
        self.workflow = workflow_for(request.kind)
        self.created_at = created_at or time.time()
        self.sinks: list[Callable[[StatusEvent], None]] = []
        """Who else follows the job's events (e.g. the command line's progress lines)."""
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.steps = {key: StepView(key, self.workflow.step_label(key)) for key in self.workflow.step_keys(request)}
        self.texts: dict[str, list[str]] = {}
        self.partial: dict[str, BaseModel] = {}
        self.result: JobResult | None = None
        self.error: str | None = None
        self.cancel_requested = False
        self.cancel_event: asyncio.Event | None = None

    def on_event(self, event: StatusEvent) -> None:
        """Keep a step's event for the next snapshot, and pass it on to the job's other sinks."""
        for sink in self.sinks:
            sink(event)
        with self.lock:
            if event.text:
                self.texts.setdefault(event.key, []).append(event.text)
                return
            if event.state is StepState.RETRYING or event.state.finished:
                self.texts.pop(event.key, None)  # the streamed answer starts over, or is complete
            view = self.steps.get(event.key) or StepView(event.key, self.workflow.step_label(event.key))
            self.steps[event.key] = replace(
                view, state=event.state, attempt=event.attempt, max_attempts=event.max_attempts, message=event.message,
                started_at=view.started_at or (event.at if event.state is StepState.RUNNING else None),
                finished_at=event.at if event.state.finished else None,
                tokens=event.usage.total_tokens if event.usage else view.tokens,
                requests=event.usage.requests if event.usage else view.requests,
                notes=tuple(getattr(event.result, "notes", ())) or view.notes,
            )
            if event.result is not None:
                self.partial[event.key] = event.result

    def snapshot(self) -> JobSnapshot:
        with self.lock:
            status = self.result.status if self.result else (JobStatus.FAILED if self.error else JobStatus.RUNNING)
            return JobSnapshot(self.id, self.request.kind, self.request.title, self.request, self.created_at, status,
                               tuple(self.steps.values()),
                               {key: "".join(parts) for key, parts in self.texts.items()}, dict(self.partial),
                               self.result, self.error, self.resumed, self.settings.budget_tokens,
                               self.settings.budget_usd, self.owner, self.owner_name)


def snapshot_from_store(store: ReportStore, job_id: str,
                        running_elsewhere: Callable[[str], bool] | None = None) -> JobSnapshot | None:
    """Rebuild the snapshot of a job that is not in memory (e.g. after a restart).

    A job saved as running is interrupted, unless ``running_elsewhere(job_id)``
    says another process (a replica) is running it.
    """
    row = store.get(job_id)
    if row is None:
        return None
    request = store.request_of(job_id)
    if row.status == JobStatus.RUNNING and running_elsewhere is not None and running_elsewhere(job_id):
        return _running_elsewhere(row, request)
    workflow = workflow_for(row.kind)
    raw = store.result_json(job_id)
    result: Any = recheck_figures(workflow.result_type.model_validate(upgrade_result(row.kind, raw))) if raw else None
    request = result.request if result else request
    steps = tuple(StepView(o.key, workflow.step_label(o.key), o.state, 1, 1, o.error or "", o.started_at, o.finished_at,
                           o.usage.total_tokens, o.usage.requests, tuple(getattr(o.result, "notes", ())))
                  for o in (result.all_outcomes if result else []))
    status = JobStatus(row.status) if row.status != JobStatus.RUNNING else JobStatus.INTERRUPTED
    error = "the server stopped while this job was running" if status is JobStatus.INTERRUPTED else None
    partial = {o.key: o.result for o in (result.all_outcomes if result else []) if o.ok}
    budget = getattr(result, "budget", None)
    return JobSnapshot(row.id, row.kind, row.topic, request, row.created_at, status, steps, partial=partial,
                       result=result, error=error, budget_tokens=budget.limit_tokens if budget else None,
                       budget_usd=budget.limit_usd if budget else None, owner=row.owner, owner_name=row.owner_name)


def _running_elsewhere(row: StoredJob, request: MarketRequest | CompanyRequest | None) -> JobSnapshot:
    """What this process can say of a job another process runs: its steps, and where it runs."""
    workflow = workflow_for(row.kind)
    where = f"running in another app process (worker {row.worker or 'unknown'})"
    keys = workflow.step_keys(request) if request is not None else []
    steps = tuple(StepView(key, workflow.step_label(key), message=where) for key in keys)
    return JobSnapshot(row.id, row.kind, row.topic, request, row.created_at, JobStatus.RUNNING, steps, owner=row.owner,
                       owner_name=row.owner_name)
