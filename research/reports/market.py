"""Render a run as the Markdown report (the file users download) and as JSON.

This module only displays: it reads a :class:`MarketResearchResult` and
writes text. Every user or model string goes through :mod:`research.markdown`.
"""

from __future__ import annotations

import datetime as dt
import json

from pydantic import BaseModel

from research.agents.common import AgentOutput, Sourced
from research.agents.competitor import CompetitorReport
from research.agents.customer import CustomerReport
from research.agents.market import MarketData
from research.core.executor import TaskOutcome
from research.core.runs import RunStatus
from research.providers.demo_content import DEMO_NOTICE
from research.reports import markdown as md
from research.workflows.market import MarketResearchResult

SECTION_AGENT = {"Market Overview": "market", "Competitive Landscape": "competitor", "Customer Segments": "customer"}


def unavailable(what: str, outcome: TaskOutcome[BaseModel]) -> str:
    """The notice shown where an agent's data is missing."""
    return f"> ⚠️ **{what} unavailable** — {md.inline(outcome.error or outcome.state.value)}."


def _estimate(data: Sourced) -> str:
    return " (estimate)" if data.is_estimate else ""


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g} %"


def _bullets(title: str, items: list[str]) -> str:
    return f"**{title}**\n\n" + "\n".join(f"- {md.inline(i)}" for i in items)


def _sources(data: Sourced) -> str:
    if data.is_estimate:
        return "_No sources were given: the figures above are estimates._"
    lines = []
    for s in data.sources:
        lines.append(f"- [{md.inline(s.title)}](<{s.url}>)" if s.url else f"- {md.inline(s.title)}")
    as_of = f" (as of {md.inline(data.as_of)})" if data.as_of else ""
    return f"**Sources{as_of}**\n\n" + "\n".join(lines)


def market_tables(data: MarketData) -> str:
    """The market figures, trends, drivers, risks, data notes and sources."""
    size, growth = data.market_size, data.growth
    period = f", {growth.period}" if growth.period else " (period not stated)"
    rows = [
        [f"Market size ({size.year})", f"{size.value:,.2f} {size.scale} {md.inline(size.currency)}{_estimate(data)}"],
        ["Growth (CAGR)", f"{growth.cagr_percent:g} % per year{period}{_estimate(data)}"],
    ]
    if growth.end_year is not None:
        rows.append([f"Projected size ({growth.end_year})",
                     f"{data.projected_size(growth.end_year):,.2f} {size.scale} {md.inline(size.currency)}"])
    parts = [md.table(["Figure", "Value"], rows), _bullets("Key trends", data.key_trends),
             _bullets("Drivers", data.drivers), _bullets("Risks", data.risks), *_notes(data), _sources(data)]
    return "\n\n".join(parts)


def _notes(data: AgentOutput) -> list[str]:
    return [md.notes(data.notes)] if data.notes else []


def competitor_table(data: CompetitorReport) -> str:
    """One row per competitor, and the sources."""
    rows = [
        [md.cell(c.name), _pct(c.market_share_percent) + _estimate(data), md.cell(c.positioning),
         md.cell("; ".join(c.strengths)), md.cell("; ".join(c.weaknesses))]
        for c in data.competitors
    ]
    table = md.table(["Competitor", "Est. share", "Positioning", "Strengths", "Weaknesses"], rows)
    return "\n\n".join([table, *_notes(data), _sources(data)])


def segment_table(data: CustomerReport) -> str:
    """One row per customer segment, and the sources."""
    rows = [
        [md.cell(s.name), _pct(s.share_percent) + _estimate(data), md.cell(s.size_note),
         f"{s.willingness_to_pay.level or 'unknown'} — {md.cell(s.willingness_to_pay.note)}",
         md.cell("; ".join(s.pain_points)), md.cell("; ".join(s.buying_patterns))]
        for s in data.segments
    ]
    headers = ["Segment", "Est. share", "Size", "Willingness to pay", "Pain points", "Buying patterns"]
    return "\n\n".join([md.table(headers, rows), *_notes(data), _sources(data)])


def _section(title: str, prose: str | None, result: MarketResearchResult) -> str:
    agent_key = SECTION_AGENT.get(title)
    parts = [f"## {title}"]
    outcome = getattr(result, agent_key) if agent_key else None
    if outcome is not None and not outcome.ok:
        parts.append(unavailable(f"{outcome.key.capitalize()} data", outcome))
    if prose:
        parts.append(md.prose(prose))
    elif title == "Executive Summary" and not result.synthesis.ok:
        parts.append(unavailable("Written summary", result.synthesis))
    if outcome is not None and outcome.ok and outcome.result is not None:
        render = {"market": market_tables, "competitor": competitor_table, "customer": segment_table}[agent_key]
        parts.append(render(outcome.result))
    return "\n\n".join(parts)


def _run_details(result: MarketResearchResult) -> str:
    rows = []
    for o in [*result.research, result.synthesis]:
        seconds = f"{o.elapsed:.1f} s" if o.elapsed is not None else "—"
        rows.append([o.key, o.state.value, seconds, str(o.attempts), f"{o.usage.total_tokens:,}"])
    total = result.usage.total_tokens
    facts = (f"Provider: {md.inline(result.provider)} · model {md.inline(result.model)} · "
             f"elapsed {result.elapsed:.1f} s · {total:,} tokens")
    return "## Run details\n\n" + md.table(["Agent", "Status", "Time", "Attempts", "Tokens"], rows) + "\n\n" + facts


def render_markdown(result: MarketResearchResult) -> str:
    """The executive report as Markdown: title, five sections, data tables, run details."""
    date = dt.datetime.fromtimestamp(result.started_at).strftime("%Y-%m-%d %H:%M")
    head = [f"# Market research: {md.inline(result.topic)}", f"_{date} · report {result.status.value}_"]
    if result.demo:
        head.append(f"> **{DEMO_NOTICE}**")
    if result.status is RunStatus.FAILED:
        head.append(f"> ⚠️ **No report** — {md.inline(result.error or 'the run failed')}.")
    elif result.status is RunStatus.CANCELLED:
        head.append("> ⚠️ **Cancelled** — this report holds only what finished before the run was stopped.")
    missing = [o.key for o in result.research if not o.ok]
    if missing and result.status is not RunStatus.FAILED:
        head.append(f"> ⚠️ **Partial report** — unavailable: {', '.join(missing)} research.")

    rep = result.synthesis.result
    sections = [
        _section("Executive Summary", rep.executive_summary if rep else None, result),
        _section("Market Overview", rep.market_overview if rep else None, result),
        _section("Competitive Landscape", rep.competitive_landscape if rep else None, result),
        _section("Customer Segments", rep.customer_segments if rep else None, result),
    ]
    recs = "## Strategic Recommendations\n\n"
    if rep:
        recs += "\n".join(f"{i}. {md.inline(r)}" for i, r in enumerate(rep.strategic_recommendations, 1))
        if rep.follow_up_questions:
            recs += "\n\n### Follow-up questions\n\n" + "\n".join(f"- {md.inline(q)}" for q in rep.follow_up_questions)
        if rep.notes:
            recs += "\n\n" + md.notes(rep.notes)
    else:
        recs += unavailable("Recommendations", result.synthesis)
    footer = _run_details(result)
    if result.demo:
        footer += f"\n\n_{DEMO_NOTICE}_"
    return "\n\n".join(["\n\n".join(head), *sections, recs, footer]) + "\n"


def render_json(result: MarketResearchResult) -> str:
    """The full structured result as JSON (with the demo notice when it applies)."""
    data = result.model_dump(mode="json")
    data["elapsed_seconds"] = round(result.elapsed, 3)
    if result.demo:
        data = {"notice": DEMO_NOTICE, **data}
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def download_name(topic: str, extension: str) -> str:
    """A safe file name for a download, e.g. 'market-research-plant-based-dairy.md'."""
    slug = "-".join("".join(ch if ch.isascii() and ch.isalnum() else " " for ch in topic.lower()).split())[:60]
    return f"market-research-{slug.strip('-') or 'report'}.{extension}"
