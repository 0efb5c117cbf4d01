"""The market report as data: typed sections built from the steps' results, finished or not.

:func:`market_sections` turns whatever the steps have produced so far into the
report's five sections. The Markdown download, the JSON export and the page
are all drawn from these objects, so they always agree, and the page can show
a section the moment its prose is written, before the rest of the run ends.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from research.agents.common import FigureStatus, Sourced
from research.agents.competitor import CompetitorReport
from research.agents.customer import CustomerReport
from research.agents.market import MarketData
from research.core.steps import StepOutcome
from research.workflows.keys import RESEARCH_AGENTS, StepKey
from research.workflows.market import MarketResearchResult


class ReportSection(BaseModel):
    """One section of the report: its prose, the data behind it, and what is missing."""

    key: str
    """"executive_summary", "market", "competitor", "customer" or "recommendations"."""
    title: str
    agent: str | None = None
    """The research agent whose data the section shows, if any."""
    prose: str | None = None
    data: MarketData | CompetitorReport | CustomerReport | None = None
    recommendations: list[str] = []
    follow_up: list[str] = []
    notes: list[str] = []
    """Data notes: what the app fixed or dropped in the models' answers."""
    unavailable: list[str] = []
    """What is missing and why, in plain words, e.g. "Market data unavailable — server error (HTTP 500)"."""
    pending: bool = False
    """True while the section is still being researched or written."""


def _problem(problems: Mapping[str, str], key: str, what: str) -> list[str]:
    return [f"{what} unavailable — {problems[key]}"] if key in problems else []


def market_sections(results: Mapping[str, Any], problems: Mapping[str, str]) -> list[ReportSection]:
    """The five sections from the results of the steps that succeeded and the reasons of those that did not.

    Both mappings are keyed by step key; a step in neither is still pending.
    """
    summary = results.get(StepKey.SUMMARY)
    summary_pending = StepKey.SUMMARY not in results and StepKey.SUMMARY not in problems
    sections = [ReportSection(
        key="executive_summary", title="Executive Summary", prose=summary.executive_summary if summary else None,
        notes=list(summary.notes) if summary else [],
        unavailable=_problem(problems, StepKey.SUMMARY, "Written summary"), pending=summary_pending)]
    for agent in RESEARCH_AGENTS:
        research, section = StepKey.agent(agent.key), StepKey.section(agent.key)
        data, written = results.get(research), results.get(section)
        missing = _problem(problems, research, f"{agent.noun} data") or _problem(problems, section, "Written text")
        prose, dropped = written.prose if written else None, 0
        if prose and isinstance(data, MarketData):
            prose, dropped = without_restated_items(prose, [*data.key_trends, *data.drivers, *data.risks])
        notes = [*(data.notes if data else []), *(written.notes if written else [])]
        if dropped:
            notes.append(f"{dropped} sentence{'s' if dropped > 1 else ''} of the text only repeated the trends, "
                         f"drivers or risks listed below and {'were' if dropped > 1 else 'was'} left out.")
        sections.append(ReportSection(
            key=agent.key, title=agent.section_title, agent=agent.key, prose=prose, data=data, notes=notes,
            unavailable=missing, pending=not missing and written is None))
    sections.append(ReportSection(
        key="recommendations", title="Strategic Recommendations",
        recommendations=list(summary.strategic_recommendations) if summary else [],
        follow_up=list(summary.follow_up_questions or []) if summary else [],
        unavailable=_problem(problems, StepKey.SUMMARY, "Recommendations"), pending=summary_pending))
    return sections


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"\w+")
_LIST_WORDS = frozenset(
    "a an the and or as well such also other others further more most include includes including included is are "
    "was were be being been there here this these that those its their it they of in on for to from with by at into "
    "among key main major important notable notably chief primary top several many some few two three four five "
    "trend trends driver drivers risk risks factor factors headwind headwinds tailwind tailwinds challenge "
    "challenges opportunity opportunities growth market markets named listed given mentioned cited identified "
    "research findings report shows show point points".split())
_RESTATEMENT_WORDS = 4
"""A sentence that holds a listed item and fewer words than this besides list glue only restates the list."""


def _folded(text: str) -> str:
    return " ".join(text.casefold().split())


def without_restated_items(prose: str, items: Sequence[str]) -> tuple[str, int]:
    """``prose`` without the sentences that only restate ``items`` (the bullets shown below it), and how many
    sentences were left out.

    A sentence restates when it holds at least one item word for word (case and spacing aside) and, with
    the items taken out, fewer than four words remain that are not list glue ("Key trends include",
    "Main risks are", "and"), e.g. "Key trends: A; B; C." A sentence that names an item and says what it
    means ("A will squeeze the margins of independent brands") is interpretation and stays.
    """
    patterns = [re.compile(rf"(?<!\w){re.escape(_folded(item))}(?!\w)") for item in items if item.strip()]
    if not patterns:
        return prose, 0
    kept_paragraphs, dropped = [], 0
    for paragraph in re.split(r"\n\s*\n", prose.strip()):
        kept = []
        for sentence in _SENTENCE_END.split(paragraph.strip()):
            rest, hits = _folded(sentence), 0
            for pattern in patterns:
                rest, found = pattern.subn(" ", rest)
                hits += found
            if hits and sum(1 for word in _WORD.findall(rest) if word not in _LIST_WORDS) < _RESTATEMENT_WORDS:
                dropped += 1
            elif sentence:
                kept.append(sentence)
        if kept:
            kept_paragraphs.append(" ".join(kept))
    return "\n\n".join(kept_paragraphs), dropped


def outcome_maps(outcomes: list[StepOutcome[Any]]) -> tuple[dict[str, BaseModel], dict[str, str]]:
    """The results of the steps that succeeded, and why each finished step without one has none."""
    results = {o.key: o.result for o in outcomes if o.ok and o.result is not None}
    problems = {o.key: o.error or o.state.value for o in outcomes if o.state.finished and not o.ok}
    return results, problems


def report_sections(result: MarketResearchResult) -> list[ReportSection]:
    """The sections of a finished run."""
    return market_sections(*outcome_maps(result.all_outcomes))


def grounding_line(data: list[Sourced], evidence_source: str) -> str:
    """How far the report's figures are backed, each status counted, e.g. "9 of 12 figures verified against 7
    sources; 1 source says otherwise; 2 estimates"; the demo's figures are counted as illustrative."""
    figures = [f for item in data for f in item.figures]
    if not figures:
        return evidence_source
    counts = {status: sum(1 for f in figures if f.status is status) for status in FigureStatus}
    if counts[FigureStatus.ILLUSTRATIVE]:
        line = (f"{counts[FigureStatus.ILLUSTRATIVE]} of {len(figures)} figures are illustrative: the demo's sources "
                "are invented, so no figure is verified")
    else:
        sources = {s.url or s.title for item in data for s in item.sources}
        line = f"{counts[FigureStatus.VERIFIED]} of {len(figures)} figures verified against {len(sources)} source" + \
            ("s" if len(sources) != 1 else "")
    for status in (FigureStatus.DIFFERS, FigureStatus.PERIOD_DIFFERS, FigureStatus.NOT_FOUND):
        if counts[status]:
            line += f"; {counts[status]} {status.value}"
    estimates = counts[FigureStatus.ESTIMATE]
    if estimates or not counts[FigureStatus.ILLUSTRATIVE]:
        line += f"; {estimates} estimate" + ("s" if estimates != 1 else "")
    disputed = sum(1 for f in figures if f.disagreeing)
    if disputed:
        line += f"; sources disagree on {disputed}"
    return f"{line}. {evidence_source}" if evidence_source else line
