"""What the pages show of a job besides its report: workflow names, the steps' rows and cards, the text being written.

Plain data for the web app's views (which only lay it out): the step keys and
the research agents' table stay here, in the engine's terms, and the pages get
titles, rows and texts already written (Markdown escaped where they are Markdown).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from research.core.steps import StepState, duration_label
from research.inputs import WorkflowKind
from research.reports import markdown as md
from research.reports.texts import STATE_SYMBOLS
from research.retrieval.search import available_searches, search_label, search_status
from research.retrieval.types import Evidence
from research.workflows import workflow_for
from research.workflows.keys import RESEARCH_AGENTS, StepKey, StepKind

__all__ = ["SUMMARY_TITLE", "AgentCard", "BatchProgress", "ShownStep", "agent_cards", "available_searches",
           "batch_progress", "being_written", "duration_label", "evidence_text", "search_label", "search_status",
           "summary_step", "workflow_label"]


class ShownStep(Protocol):
    """What these views read of a step (a job snapshot's step view)."""

    @property
    def key(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def state(self) -> StepState: ...
    @property
    def attempt(self) -> int: ...
    @property
    def max_attempts(self) -> int: ...
    @property
    def message(self) -> str: ...
    @property
    def tokens(self) -> int: ...
    @property
    def elapsed(self) -> float | None: ...


def workflow_label(kind: str) -> str:
    """The workflow of a request or stored job kind as people read it, e.g. "Market research"."""
    return workflow_for(kind).label


_BEING_WRITTEN = {WorkflowKind.MARKET: (StepKey.SUMMARY, "executive_summary"),
                  WorkflowKind.COMPANIES: (StepKey.COMPARISON, "overview")}


def being_written(kind: WorkflowKind, streamed: Mapping[str, str]) -> tuple[str, str]:
    """The text the job's closing step (summary or comparison) has streamed so far, and the JSON field to preview."""
    key, field = _BEING_WRITTEN[WorkflowKind(kind)]
    return streamed.get(key, ""), field


@dataclass(frozen=True)
class BatchProgress:
    """A company batch's progress: counts and one table row per company (and the comparison)."""

    done: int
    """Companies finished (well or not)."""
    total: int
    failed: int
    rows: list[dict[str, str]]

    @property
    def fraction(self) -> float:
        """The share of companies finished, from 0 to 1."""
        return self.done / max(self.total, 1)

    @property
    def text(self) -> str:
        """The progress bar's text, e.g. "2 of 4 companies finished · 1 failed"."""
        return f"{self.done} of {self.total} companies finished · {self.failed} failed"


def batch_progress(steps: Iterable[ShownStep]) -> BatchProgress:
    """The counts and table rows of a company batch's steps."""
    steps = list(steps)
    kinds = {a.key: StepKey.parse(a.key).kind for a in steps}
    companies = [a for a in steps if kinds[a.key] is StepKind.COMPANY]
    done = sum(1 for a in companies if a.state.finished)
    failed = sum(1 for a in companies if a.state.finished and a.state.value != "done")
    rows = [{"Company": a.label, "Status": f"{STATE_SYMBOLS[a.state]} {a.state.value}",
             "Time": f"{a.elapsed:.1f} s" if a.elapsed is not None else "",
             "Attempt": f"{a.attempt} of {a.max_attempts}" if a.state.value == "retrying" else "",
             "Tokens": f"{a.tokens:,}" if a.tokens else "", "Note": a.message}
            for a in steps if kinds[a.key] in (StepKind.COMPANY, StepKind.COMPARISON)]
    return BatchProgress(done, len(companies), failed, rows)


@dataclass(frozen=True)
class AgentCard:
    """A research agent's card on the research page: its steps, its evidence and its answer so far."""

    key: str
    """The agent's name, e.g. "market"."""
    title: str
    """The card's title, e.g. "Competitors"."""
    step: ShownStep
    """The agent's step."""
    evidence_step: ShownStep | None
    """Its evidence step, if the job has one."""
    evidence: Evidence | None
    """The evidence it gathered, once gathered."""
    section_step: ShownStep | None
    """The step writing its report section, if the job has one."""
    data: Any | None
    """The agent's answer, once it has finished (it has a ``headline()``)."""


def agent_cards(steps: Iterable[ShownStep], partial: Mapping[str, Any]) -> list[AgentCard]:
    """One card per research agent of a market job, in report order (``partial``: the finished steps' results)."""
    by_key = {step.key: step for step in steps}
    cards = []
    for agent in RESEARCH_AGENTS:
        step, evidence = by_key[StepKey.agent(agent.key)], StepKey.evidence(agent.key)
        cards.append(AgentCard(agent.key, agent.card_title, step, by_key.get(evidence), partial.get(evidence),
                               by_key.get(StepKey.section(agent.key)), partial.get(step.key)))
    return cards


SUMMARY_TITLE = StepKey.SUMMARY.label
"""The summary card's title."""


def summary_step(steps: Iterable[ShownStep]) -> ShownStep:
    """The summary step of a market job; KeyError when the job has none."""
    return {step.key: step for step in steps}[StepKey.SUMMARY]


def evidence_text(step: ShownStep, evidence: Evidence | None) -> str:
    """What an agent's evidence step is doing, in Markdown: searching, reading N pages, then the passages it kept."""
    if evidence is not None:
        if evidence.demo:
            return f"Evidence: {len(evidence.passages)} demo passages"
        if not evidence.passages:
            return f"Evidence: none ({md.inline(evidence.notes[0]) if evidence.notes else 'no pages'})"
        return f"Evidence: {len(evidence.passages)} passages from {evidence.pages_read} pages"
    return f"Evidence: {md.inline(step.message) if step.message else step.state.value}"
