"""Render a run as the Markdown report (the file users download) and as JSON.

This module only displays: it renders the report's typed sections
(:mod:`research.reports.sections`) and the run's facts. Every user or model
string goes through :mod:`research.reports.markdown`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from research.agents.common import FigureCheck, FigureStatus, Source, Sourced
from research.agents.competitor import CompetitorReport
from research.agents.customer import CustomerReport
from research.agents.market import MarketData
from research.core.runs import JobStatus, RunResult
from research.core.steps import duration_label
from research.reports import markdown as md
from research.reports.changes import render_changes
from research.reports.sections import ReportSection, grounding_line, report_sections
from research.reports.texts import DEMO_NOTICE
from research.workflows.keys import StepKey, StepKind
from research.workflows.market import MarketResearchResult


def checked(data: Sourced, label: str) -> str:
    """A figure's checked status, with the evidence it cites, e.g. " (✓ verified, E1)" or " (⚠ period differs, E2)"."""
    figure = data.check_of(label)
    status = figure.status if figure else FigureStatus.ESTIMATE
    cites = f", {', '.join(figure.cites)}" if figure and figure.cites else ""
    disagree = "; sources disagree" if figure and figure.disagreeing else ""
    return f" ({status.mark}{cites}{disagree})"


def _cited(statement_cite: str, title: str) -> str:
    short = title if len(title) <= 80 else title[:79].rstrip() + "…"
    return f"{statement_cite} ({md.inline(short)})"


def _what_the_source_says(check: FigureCheck) -> list[str]:
    """The lines under a table for one figure: the sentence it rests on, or what the source says instead."""
    label = md.inline(check.label[0].upper() + check.label[1:])
    lines = []
    said = check.statement
    if said is not None and check.status is FigureStatus.VERIFIED:
        lines.append(f"- **{label}** ✓ — {_cited(said.cite, said.title)}: “{md.inline(said.sentence)}”")
    elif said is not None:
        lines.append(f"- **{label}** {check.status.mark} — model: {md.inline(check.value)} · {said.cite}: "
                     f"{md.inline(said.said)} — “{md.inline(said.sentence)}”")
    if check.disagreeing:
        who = "; ".join(f"{s.cite} says {md.inline(s.said)}" for s in check.disagreeing)
        lines.append(f"- **{label}** — sources disagree: {who} (range {md.inline(check.range)})")
    return lines


def statements_markdown(data: Sourced) -> str:
    """What the cited sources say about each figure: the stating sentence, a different value, disagreeing sources."""
    lines = [line for check in data.figures for line in _what_the_source_says(check)]
    return "**What the sources say**\n\n" + "\n".join(lines) if lines else ""


def _share(data: Sourced, name: str, value: float | None) -> str:
    """A share cell: the value and its checked status, or "n/a"."""
    return "n/a" if value is None else f"{value:g} % " + md.cell(checked(data, f"share of {name}"))


def _bullets(title: str, items: list[str]) -> str:
    """A titled bullet list; an empty one says "None given." (its data note says which list it is)."""
    return f"**{title}**\n\n" + ("\n".join(f"- {md.inline(i)}" for i in items) or "_None given._")


def _retrieved(source: Source) -> str:
    if source.retrieved_at is None:
        return ""
    return f" — retrieved {dt.datetime.fromtimestamp(source.retrieved_at).strftime('%Y-%m-%d')}"


def sources_markdown(data: Sourced) -> str:
    """The sources a research output's figures rest on, as links with their retrieval date."""
    if data.is_estimate:
        return "_No source backs these figures: they are estimates._"
    lines = []
    for s in data.sources:
        link = f"[{md.inline(s.title)}](<{s.url}>)" if s.url else md.inline(s.title)
        lines.append(f"- {link}{_retrieved(s)}")
    as_of = f" (figures as of {md.inline(data.as_of)})" if data.as_of else ""
    sources = f"**Sources{as_of}**\n\n" + "\n".join(lines)
    said = statements_markdown(data)
    return f"{said}\n\n{sources}" if said else sources


def market_tables(data: MarketData) -> str:
    """The market figures, trends, drivers, risks and sources."""
    size, growth = data.market_size, data.growth
    period = f", {growth.period}" if growth.period else " (period not stated)"
    rows = [
        [f"Market size ({size.year})", f"{size.value:,.2f} {size.scale} {md.inline(size.currency)}"
                                       f"{checked(data, 'market size')}"],
        ["Growth (CAGR)", f"{growth.cagr_percent:g} % per year{period}{checked(data, 'growth rate')}"],
    ]
    if (end := data.projection_end) is not None:
        rows.append([f"Projected size ({end})", f"{data.projected_size(end):,.2f} {size.scale} {md.inline(size.currency)}"])
    parts = [md.table(["Figure", "Value"], rows), _bullets("Key trends", data.key_trends),
             _bullets("Drivers", data.drivers), _bullets("Risks", data.risks), sources_markdown(data)]
    return "\n\n".join(parts)


def competitor_table(data: CompetitorReport) -> str:
    """One row per competitor, and the sources."""
    rows = [
        [md.cell(c.name), _share(data, c.name, c.market_share_percent), md.cell(c.positioning),
         md.cell("; ".join(c.strengths)), md.cell("; ".join(c.weaknesses))]
        for c in data.competitors
    ]
    table = md.table(["Competitor", "Est. share", "Positioning", "Strengths", "Weaknesses"], rows)
    return "\n\n".join([table, sources_markdown(data)])


def segment_table(data: CustomerReport) -> str:
    """One row per customer segment, and the sources."""
    rows = [
        [md.cell(s.name), _share(data, s.name, s.share_percent), md.cell(s.size_note or "n/a"),
         (s.willingness_to_pay.level or "unknown") + (f" — {md.cell(note)}" if (note := s.willingness_to_pay.note) else ""),
         md.cell("; ".join(s.pain_points)), md.cell("; ".join(s.buying_patterns))]
        for s in data.segments
    ]
    headers = ["Segment", "Est. share", "Size", "Willingness to pay", "Pain points", "Buying patterns"]
    return "\n\n".join([md.table(headers, rows), sources_markdown(data)])


DATA_TABLES: dict[type[BaseModel], Callable[[Any], str]] = {
    MarketData: market_tables, CompetitorReport: competitor_table, CustomerReport: segment_table}
"""How each research agent's data is shown as tables."""


def section_intro(section: ReportSection) -> str:
    """What a section says first: what is unavailable, and its prose (the page puts the chart after this)."""
    parts = [f"> ⚠️ **{md.inline(line.split(' — ')[0])}** — {md.inline(line.split(' — ', 1)[-1])}."
             for line in section.unavailable]
    if section.prose:
        parts.append(md.prose(section.prose))
    elif section.pending:
        parts.append("_Being researched and written…_")
    return "\n\n".join(parts)


def section_details(section: ReportSection) -> str:
    """What follows a section's prose: recommendations, data tables, data notes and sources."""
    parts = []
    if section.recommendations:
        parts.append("\n".join(f"{i}. {md.inline(r)}" for i, r in enumerate(section.recommendations, 1)))
    if section.follow_up:
        parts.append("**Follow-up questions**\n\n" + "\n".join(f"- {md.inline(q)}" for q in section.follow_up))
    if section.data is not None:
        parts.append(DATA_TABLES[type(section.data)](section.data))
    if section.notes:
        parts.append(md.notes(section.notes))
    return "\n\n".join(parts)


def section_markdown(section: ReportSection) -> str:
    """A whole section as Markdown, heading included."""
    return "\n\n".join(part for part in (f"## {section.title}", section_intro(section), section_details(section)) if part)


def run_facts(result: RunResult, *extra: str) -> str:
    """The run's facts in one line: provider, model, ``extra`` facts, elapsed time, tokens and their cost."""
    provider = result.provider.replace(f" · {result.model} (", " (")  # saved runs' labels named the model too
    budget = [result.budget.label] if result.budget is not None else []
    return " · ".join([f"Provider: {md.inline(provider)}", f"model {md.inline(result.model)}", *extra,
                       f"elapsed {duration_label(result.elapsed)}", result.usage_facts, *budget])


def run_details(result: MarketResearchResult) -> str:
    """The "Run details" section: one row per step, and the run's provider, time and tokens."""
    rows = []
    for o in result.all_outcomes:
        key = StepKey.parse(o.key)
        searched = key.kind is StepKind.EVIDENCE  # evidence steps make no model request
        rows.append([md.cell(key.label), o.state.value, "—" if o.elapsed is None else duration_label(o.elapsed),
                     "—" if searched else str(o.attempts), "—" if searched else o.usage.count])
    table = md.table(["Step", "Status", "Time", "Requests", "Tokens"], rows)
    return f"## Run details\n\n{table}\n\n{run_facts(result)}"


def report_head(result: MarketResearchResult) -> list[str]:
    """The report's title line, date and status notices."""
    date = dt.datetime.fromtimestamp(result.started_at).strftime("%Y-%m-%d %H:%M")
    head = [f"# Market research: {md.inline(result.topic)}", f"_{date} · report {result.status.value}_"]
    if result.demo:
        head.append(f"> **{DEMO_NOTICE}**")
    if result.status is JobStatus.FAILED:
        reasons = [f"> - {md.inline(StepKey.parse(o.key).label)}: {md.inline(o.error or o.state.value)}"
                   for o in result.research if not o.ok]
        head.append("\n".join(["> ⚠️ **No report** — every research agent failed:", ">", *reasons]))
    elif result.status is JobStatus.CANCELLED:
        head.append("> ⚠️ **Cancelled** — this report holds only what finished before the run was stopped.")
    grounded = [o.result for o in result.research if o.ok and o.result is not None]
    grounding = grounding_line(grounded, result.evidence_source)
    if grounding:
        head.append(f"**Grounding:** {md.inline(grounding)}")
    missing = [StepKey.parse(o.key).subject for o in result.research if not o.ok]
    if missing and result.status is not JobStatus.FAILED:
        head.append(f"> ⚠️ **Partial report** — unavailable: {', '.join(missing)} research.")
    return head


def render_markdown(result: MarketResearchResult) -> str:
    """The executive report as Markdown: title, five sections with their data, run details."""
    footer = run_details(result)
    if result.demo:
        footer += f"\n\n_{DEMO_NOTICE}_"
    sections = [section_markdown(s) for s in report_sections(result)]
    changes = [render_changes(result.changes)] if result.changes is not None else []
    return "\n\n".join(["\n\n".join(report_head(result)), *changes, *sections, footer]) + "\n"


def render_json(result: MarketResearchResult) -> str:
    """The full structured result as JSON (with the demo notice when it applies)."""
    data = result.model_dump(mode="json")
    data["elapsed_seconds"] = round(result.elapsed, 3)
    data["report"] = [section.model_dump(mode="json", exclude={"data", "pending"}) for section in report_sections(result)]
    if result.demo:
        data = {"notice": DEMO_NOTICE, **data}
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


_SCALE_SHORT = {"thousand": "k", "million": "M", "billion": "bn", "trillion": "tn"}
HEADLINE_COLUMNS = 5
"""How many tiles the key figures fill: market size, growth, leader, largest segment, figures verified."""


@dataclass(frozen=True)
class HeadlineMetric:
    """One key figure of a market report, as the page shows it in a metric tile."""

    column: int
    """The tile it fills, from 0 to ``HEADLINE_COLUMNS - 1`` (a tile whose data is missing stays empty)."""
    label: str
    value: str
    delta: str | None
    """The line under the value (None: no line)."""
    help: str
    """The figure in full, with its checked status (the tile's tooltip)."""
    caption: bool = True
    """True: ``delta`` is a caption, not a change (no colour, no arrow)."""


def _missing(column: int, label: str, outcome: Any, what: str) -> HeadlineMetric:
    """A tile whose data is missing: a dash, and why (the step's own reason, or that it did not run)."""
    reason = outcome.error if outcome is not None and outcome.error else "not researched"
    return HeadlineMetric(column, label, "—", f"no {what}", f"No {what}: {reason}")


def headline_metrics(result: MarketResearchResult) -> list[HeadlineMetric]:
    """The report's key figures at a glance, each with its checked status; a tile whose data is missing shows
    a dash and why."""
    outcomes = {0: result.market, 1: result.market, 2: result.competitor, 3: result.customer}
    return _tiles(*(o.result if o.ok else None for o in result.research),
                  absent=lambda column, label, what: _missing(column, label, outcomes[column], what))


def headline_metrics_so_far(results: Mapping[str, Any], problems: Mapping[str, str]) -> list[HeadlineMetric]:
    """The key figures while the report is researched (results and problems by step key, as
    :func:`research.reports.sections.market_sections` takes them): each agent's once it has finished, "…" while it
    researches, a dash and why when it failed."""
    keys = {0: StepKey.agent("market"), 1: StepKey.agent("market"), 2: StepKey.agent("competitor"),
            3: StepKey.agent("customer")}

    def absent(column: int, label: str, what: str) -> HeadlineMetric:
        problem = problems.get(keys[column])
        if problem:
            return HeadlineMetric(column, label, "—", f"no {what}", f"No {what}: {problem}")
        return HeadlineMetric(column, label, "…", "being researched", f"The {what} is still being researched")

    found = (results.get(keys[0]), results.get(keys[2]), results.get(keys[3]))
    return _tiles(*found, absent=absent, pending=any(keys[c] not in results and keys[c] not in problems
                                                     for c in (0, 2, 3)))


def _tiles(market: MarketData | None, competitors: CompetitorReport | None, customers: CustomerReport | None, *,
           absent: Callable[[int, str, str], HeadlineMetric], pending: bool = False) -> list[HeadlineMetric]:
    """The five tiles from the research agents' data; ``absent`` gives a tile whose data is not there, and
    ``pending`` (research still running) holds back the count of verified figures."""
    metrics: list[HeadlineMetric] = []
    if market is not None:
        size, growth = market.market_size, market.growth
        size_status, growth_status = market.status_of("market size"), market.status_of("growth rate")
        metrics.append(HeadlineMetric(0, f"Market size ({size.year})", f"{size.value:,.1f} {_SCALE_SHORT[size.scale]}",
                                      f"{size.currency} · {size_status.short}",
                                      f"{size.value:g} {size.scale} {size.currency} — {size_status.value}"))
        metrics.append(HeadlineMetric(1, "Growth (CAGR)", f"{growth.cagr_percent:g} %",
                                      f"{growth.period or 'period not stated'} · {growth_status.short}",
                                      f"{growth.cagr_percent:g} % a year — {growth_status.value}"))
    else:
        metrics.append(absent(0, "Market size", "market data"))
        metrics.append(absent(1, "Growth (CAGR)", "market data"))
    for column, label, data, what in ((2, "Leader", competitors, "competitor data"),
                                      (3, "Largest segment", customers, "customer data")):
        if data is None:
            metrics.append(absent(column, label, what))
            continue
        part = data.largest()
        share = data.share_of(part)
        metrics.append(HeadlineMetric(column, label, f"{share:g} %" if share is not None else "n/a", part.name,
                                      f"{part.name} — {data.status_of(f'share of {part.name}').value}"))
    figures = [f for data in (market, competitors, customers) if data is not None for f in data.figures]
    verified = sum(1 for f in figures if f.status is FigureStatus.VERIFIED)
    if any(f.status is FigureStatus.ILLUSTRATIVE for f in figures):
        metrics.append(HeadlineMetric(4, "Figures verified", "none", "demo: illustrative",
                                      "Demo figures: their sources are invented, so none is verified"))
    elif pending:
        metrics.append(HeadlineMetric(4, "Figures verified", "…", "being checked",
                                      "Each figure is checked against its sources as its research arrives"))
    elif not figures:
        metrics.append(HeadlineMetric(4, "Figures verified", "—", "no figures to check",
                                      "No research data arrived, so there are no figures to check"))
    else:
        metrics.append(HeadlineMetric(4, "Figures verified", f"{verified} of {len(figures)}", None,
                                      "Checked in code: a cited sentence states the figure's value, unit, subject "
                                      "and year", caption=False))
    return metrics
