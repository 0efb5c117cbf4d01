"""Render a company batch as Markdown, JSON and CSV (the files users download)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass
from typing import NamedTuple

from research.agents.common import FigureStatus
from research.agents.company import CompanyProfile
from research.core.runs import JobStatus
from research.core.steps import StepOutcome
from research.reports import markdown as md
from research.reports.batch_changes import render_batch_changes
from research.reports.market import _bullets, checked, run_facts, sources_markdown
from research.reports.texts import DEMO_NOTICE
from research.workflows.companies import CompanyBatchResult, profiled_as
from research.workflows.keys import StepKey

CSV_FIELDS = ("company", "status", "error", "industry", "founded_year", "employees_estimate",
              "revenue_estimate_usd_millions", "market_position", "key_products", "recent_developments",
              "competitive_advantages", "sources", "notice")


def _number(value: float | int | None, fmt: str = "{:,.0f}") -> str:
    return "n/a" if value is None else fmt.format(value)


def comparison_rows(result: CompanyBatchResult) -> list[list[str]]:
    """One escaped table row per company, failed ones included with the reason."""
    rows = []
    for o in result.companies:
        p = o.result
        if p is None:
            rows.append([md.cell(_asked(o)), f"⚠️ {o.state.value}: {md.cell(o.error or '')}", "", "", "", ""])
            continue
        revenue = p.revenue_estimate_usd_millions
        rows.append([md.cell(_shown_name(o)), md.cell(p.industry), _number(p.founded_year, "{}"), _number(p.employees_estimate),
                     _number(revenue, "{:,.1f}") + (" " + md.cell(checked(p, "revenue")) if revenue is not None else ""),
                     md.cell("; ".join(p.key_products[:3]))])
    return rows


def _asked(o: StepOutcome[CompanyProfile]) -> str:
    """The company's name as the user asked for it (its step key's subject)."""
    return StepKey.parse(o.key).subject


def _shown_name(o: StepOutcome[CompanyProfile]) -> str:
    """The name the user asked for, with the model's own name as an alias when it differs."""
    alias = profiled_as(o)
    return _asked(o) + (f" (profiled as “{alias}”)" if alias else "")


def _profile(o: StepOutcome[CompanyProfile]) -> str:
    p = o.result
    if p is None:
        return f"### {md.inline(_asked(o))}\n\n> ⚠️ **Not researched** — {md.inline(o.error or o.state.value)}."
    lists = [("Key products and services", p.key_products), ("Recent developments", p.recent_developments),
             ("Competitive advantages", p.competitive_advantages)]
    parts = [f"### {md.inline(_shown_name(o))}", f"_{md.inline(p.industry)}_", md.prose(p.market_position)]
    parts += [_bullets(title, items) for title, items in lists]
    parts.append(sources_markdown(p))
    if p.notes:
        parts.append(md.notes(p.notes))
    return "\n\n".join(parts)


class BatchReportParts(NamedTuple):
    """The batch report's parts, in order (the page puts the revenue chart after the comparison)."""

    head: str
    changes: str
    """What changed since the person's last batch of these companies ("" when there is none)."""
    comparison: str
    table: str
    profiles: str
    details: str


def render_batch_markdown(result: CompanyBatchResult) -> str:
    """The batch report: summary counts, what changed, comparison, table, one profile per company, run details."""
    return "\n\n".join(part for part in batch_report_parts(result) if part) + "\n"


def batch_title(result: CompanyBatchResult) -> str:
    """The batch report's title in Markdown, the first block of its head, e.g. "# Company research: Stripe, Adyen"."""
    return f"# Company research: {md.inline(result.title)}"


def batch_report_parts(result: CompanyBatchResult) -> BatchReportParts:
    """The batch report as Markdown parts: summary counts, comparison, table, profiles, run details."""
    date = dt.datetime.fromtimestamp(result.started_at).strftime("%Y-%m-%d %H:%M")
    head = [batch_title(result), f"_{date} · {result.status.value}_"]
    if result.demo:
        head.append(f"> **{DEMO_NOTICE}**")
    failed = [o for o in result.companies if not o.ok]
    head.append(f"**{result.total} companies: {result.succeeded} succeeded, {result.failed} failed.**")
    if failed:
        head.append("Failed: " + "; ".join(f"{md.inline(_asked(o))} ({md.inline(o.error or o.state.value)})"
                                           for o in failed))
    if result.status is JobStatus.CANCELLED:
        head.append("> ⚠️ **Cancelled** — this report holds only what finished before the run was stopped.")

    comp = result.comparison.result
    section = ["## Comparison"]
    if comp is not None:
        section += [md.prose(comp.overview), "**Differentiators**\n\n" + "\n".join(f"- {md.inline(d)}" for d in comp.differentiators)]
        if comp.watch_points:
            section.append("**Watch points**\n\n" + "\n".join(f"- {md.inline(w)}" for w in comp.watch_points))
    else:
        section.append(f"> ⚠️ **Comparison unavailable** — {md.inline(result.comparison.error or result.comparison.state.value)}.")
    table = md.table(["Company", "Industry", "Founded", "Employees (est.)", "Revenue, USD m", "Key products"], comparison_rows(result))
    profiles = "## Profiles\n\n" + "\n\n".join(_profile(o) for o in result.companies)
    details = f"## Run details\n\n{run_facts(result, f'concurrency {result.concurrency}')}"
    if result.demo:
        details += f"\n\n_{DEMO_NOTICE}_"
    changes = render_batch_changes(result.changes) if result.changes is not None else ""
    return BatchReportParts("\n\n".join(head), changes, "\n\n".join(section), table, profiles, details)


BATCH_HEADLINE_COLUMNS = 3
"""How many tiles a batch's headline fills: companies profiled (and failed), largest revenue, revenues verified."""
EMPTY = "—"
"""The value of a headline tile with nothing to show (its help text says why)."""
REVENUE = "revenue"
"""The label of a profile's revenue figure in its checks."""


@dataclass(frozen=True)
class BatchMetric:
    """One headline figure of a company batch, as the page shows it in a metric tile."""

    label: str
    value: str
    """The figure, or :data:`EMPTY` when there is none (``help`` says why)."""
    caption: str | None
    """The line under the value (None: no line)."""
    help: str
    """The figure in full, or why there is none (the tile's tooltip)."""


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def _revenue_text(millions: float) -> str:
    """A revenue in million USD, short and without its currency, e.g. "250 m" or "2.5 bn"."""
    return f"{millions / 1000:,.1f} bn" if millions >= 1000 else f"{millions:,.0f} m"


def _profiled_metric(result: CompanyBatchResult) -> BatchMetric:
    label, value = "Companies profiled", f"{result.succeeded} of {result.total}"
    failed = [o for o in result.companies if not o.ok]
    if not failed:
        return BatchMetric(label, value, "none failed", "Every company asked for was profiled.")
    reasons = "; ".join(f"{_asked(o)}: {o.error or o.state.value}" for o in failed)
    return BatchMetric(label, value, _short(f"{len(failed)} failed: {', '.join(_asked(o) for o in failed)}"),
                       f"Not profiled — {reasons}")


def _largest_revenue_metric(result: CompanyBatchResult) -> BatchMetric:
    label = "Largest revenue"
    profiled = [(o, o.result) for o in result.companies if o.result is not None]
    stated = [(o, p) for o, p in profiled if p.revenue_estimate_usd_millions is not None]
    if not stated:
        return BatchMetric(label, EMPTY, None, "No company was profiled." if not profiled else
                           "No profile states a revenue.")
    outcome, profile = max(stated, key=lambda pair: pair[1].revenue_estimate_usd_millions or 0.0)
    revenue = profile.revenue_estimate_usd_millions or 0.0
    status = profile.status_of(REVENUE)
    return BatchMetric(label, _revenue_text(revenue), _short(f"USD · {_asked(outcome)} · {status.short}"),
                       f"{_shown_name(outcome)}: {revenue:,.1f} million USD a year — {status.value}")


def _verified_metric(result: CompanyBatchResult) -> BatchMetric:
    label = "Revenues verified"
    profiles = [o.result for o in result.companies if o.result is not None]
    statuses = [p.status_of(REVENUE) for p in profiles if p.revenue_estimate_usd_millions is not None]
    if not profiles:
        return BatchMetric(label, EMPTY, None, "No company was profiled, so no figure could be checked.")
    if result.demo or FigureStatus.ILLUSTRATIVE in statuses:
        return BatchMetric(label, EMPTY, "demo: illustrative",
                           "Demo figures are invented for illustration: none is checked against a source.")
    if not result.evidence:
        return BatchMetric(label, EMPTY, None, "Saved by an earlier release, which did not check figures "
                                               "against their sources.")
    if not statuses:
        return BatchMetric(label, EMPTY, None, "No profile states a revenue, so there is nothing to check.")
    return BatchMetric(label, f"{statuses.count(FigureStatus.VERIFIED)} of {len(statuses)}", "companies with a revenue",
                       "Checked in code: a cited sentence states the revenue's value, unit, company and year.")


def batch_headline(result: CompanyBatchResult) -> list[BatchMetric]:
    """A finished batch at a glance, one metric per tile (:data:`BATCH_HEADLINE_COLUMNS`): the companies
    profiled (and those that failed), the largest revenue with its company, and how many of the stated
    revenues a cited source verifies."""
    return [_profiled_metric(result), _largest_revenue_metric(result), _verified_metric(result)]


def render_batch_json(result: CompanyBatchResult) -> str:
    """The full structured batch as JSON (with the demo notice when it applies)."""
    data = {"summary": {"total": result.total, "succeeded": result.succeeded, "failed": result.failed},
            **result.model_dump(mode="json")}
    if result.demo:
        data = {"notice": DEMO_NOTICE, **data}
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def _csv_safe(value: object) -> str:
    """Text a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def render_batch_csv(result: CompanyBatchResult) -> str:
    """One row per company (failed ones with their reason), safe to open in a spreadsheet.

    The demo notice, when it applies, fills the last column ("notice") of every row, so no extra row
    reads as a company.
    """
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_FIELDS)
    for o in result.companies:
        p = o.result
        row = [_asked(o), o.state.value, o.error or ""]
        if p is not None:
            row += [p.industry, p.founded_year, p.employees_estimate, p.revenue_estimate_usd_millions, p.market_position,
                    "; ".join(p.key_products), "; ".join(p.recent_developments), "; ".join(p.competitive_advantages),
                    "; ".join(s.url or s.title for s in p.sources)]
        row += [""] * (len(CSV_FIELDS) - 1 - len(row))
        row.append(DEMO_NOTICE if result.demo else "")
        writer.writerow([_csv_safe(v) for v in row])
    return out.getvalue()
