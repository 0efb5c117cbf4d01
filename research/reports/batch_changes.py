"""What changed between two company batches: companies added and dropped, and per company its figures.

:func:`compare_batches` sets an earlier batch beside a later one of the same
person that shares companies with it: the companies the later one added or
dropped, and for each company in both its revenue (in points of percent), head
count and founding year where they moved, and whether its revenue's checked
status changed. Names match whatever their case or legal suffix, as the
market comparison matches them (:func:`research.reports.changes.same_name`).
:func:`render_batch_changes` writes it as Markdown.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from pydantic import BaseModel

from research.agents.company import CompanyProfile
from research.reports import markdown as md
from research.reports.changes import SIZE_STEP, day_label, same_name


class CompanyBatch(Protocol):
    """What a comparison reads of a batch (:class:`research.workflows.companies.CompanyBatchResult`, which
    carries a comparison itself: hence a protocol, not an import)."""

    started_at: float
    companies: Any
    request: Any


class CompanyChange(BaseModel):
    """One company in both batches: what moved."""

    name: str
    revenue_before: float | None = None
    revenue_after: float | None = None
    """Annual revenue in million USD, as each profile estimated it."""
    employees_before: int | None = None
    employees_after: int | None = None
    status_before: str | None = None
    status_after: str | None = None
    """The revenue's checked status in each run (e.g. "verified", "estimate")."""

    @property
    def revenue_percent(self) -> float | None:
        """The revenue's change in percent, where both runs state one."""
        if self.revenue_before in (None, 0) or self.revenue_after is None:
            return None
        return round((self.revenue_after - self.revenue_before) / self.revenue_before * 100, 1)

    @property
    def changed(self) -> bool:
        """True when the revenue, the head count or the revenue's checked status moved."""
        percent = self.revenue_percent
        return (percent is not None and abs(percent) >= SIZE_STEP) \
            or (self.revenue_before is None) != (self.revenue_after is None) \
            or self.employees_before != self.employees_after or self.status_before != self.status_after


class BatchComparison(BaseModel):
    """What changed from the ``earlier`` batch to the ``later`` one."""

    earlier_id: str
    later_id: str
    earlier_at: float
    later_at: float
    added: list[str] = []
    """Companies profiled now that the earlier batch did not profile."""
    dropped: list[str] = []
    """Companies the earlier batch profiled that this one does not (not asked for, or failed now)."""
    companies: list[CompanyChange] = []
    """The companies profiled in both whose figures moved."""

    @property
    def material(self) -> bool:
        """True when anything changed."""
        return bool(self.added or self.dropped or self.companies)

    @property
    def since(self) -> str:
        """The earlier batch's date as people read it, e.g. "4 Dec 2026"."""
        return day_label(self.earlier_at)


def _profiles(batch: CompanyBatch) -> list[CompanyProfile]:
    return [o.result for o in batch.companies if o.ok and o.result is not None]


def _revenue_status(profile: CompanyProfile) -> str | None:
    statuses = [figure.status.value for figure in profile.figures if figure.label == "revenue"]
    return statuses[0] if statuses else None


def shares_companies(a: Sequence[str], b: Sequence[str]) -> bool:
    """True when two lists of company names have one in common (by :func:`same_name`)."""
    return any(same_name(x, y) for x in a for y in b)


def compare_batches(earlier: CompanyBatch, later: CompanyBatch, *, earlier_id: str = "",
                    later_id: str = "") -> BatchComparison:
    """What changed from ``earlier`` to ``later`` (batches of one person that share companies)."""
    before, after = _profiles(earlier), _profiles(later)
    comparison = BatchComparison(earlier_id=earlier_id, later_id=later_id, earlier_at=earlier.started_at,
                                 later_at=later.started_at)
    for profile in after:
        match = next((old for old in before if same_name(old.name, profile.name)), None)
        if match is None:
            comparison.added.append(profile.name)
            continue
        change = CompanyChange(name=profile.name, revenue_before=match.revenue_estimate_usd_millions,
                               revenue_after=profile.revenue_estimate_usd_millions,
                               employees_before=match.employees_estimate, employees_after=profile.employees_estimate,
                               status_before=_revenue_status(match), status_after=_revenue_status(profile))
        if change.changed:
            comparison.companies.append(change)
    comparison.dropped = [old.name for old in before if not any(same_name(old.name, new.name) for new in after)]
    return comparison


def _money(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"


def _count(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def render_batch_changes(comparison: BatchComparison, *, heading: str = "##") -> str:
    """The comparison as a Markdown section: "What changed since <date>", companies added and dropped, and a
    table of the companies whose figures moved."""
    parts = [f"{heading} What changed since {comparison.since}"]
    if not comparison.material:
        parts.append("No material change: the same companies, with the same revenue, head count and checked status.")
        return "\n\n".join(parts)
    lines = []
    if comparison.added:
        lines.append(f"- **Companies added:** {', '.join(md.inline(n) for n in comparison.added)}")
    if comparison.dropped:
        lines.append(f"- **Companies dropped:** {', '.join(md.inline(n) for n in comparison.dropped)}")
    if lines:
        parts.append("\n".join(lines))
    if comparison.companies:
        rows = []
        for change in comparison.companies:
            percent = change.revenue_percent
            status = "" if change.status_before == change.status_after else \
                f"{change.status_before or '—'} → {change.status_after or '—'}"
            rows.append([md.cell(change.name), f"{_money(change.revenue_before)} → {_money(change.revenue_after)}",
                         "—" if percent is None else f"{percent:+g} %",
                         f"{_count(change.employees_before)} → {_count(change.employees_after)}", md.cell(status)])
        parts.append(md.table(["Company", "Revenue, USD m", "Change", "Employees (est.)", "Revenue checked"], rows))
    return "\n\n".join(parts)
