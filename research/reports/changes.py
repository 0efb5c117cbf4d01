"""What changed between two runs of a market report: a typed comparison, made in code (no model call).

:func:`compare_runs` sets an earlier report's data beside a later one's: the
market size (a change of year, currency or what was measured is said, never
silently subtracted), the growth rate in points, the competitors and customer
segments that entered, left or moved share (in points), the figures whose
checked status changed, and the sources that are new. Names match whatever
their case or legal suffix ("Acme Inc." is "ACME"), as grounding matches them.
:func:`render_changes` writes it as Markdown: a short table and the lists;
:func:`render_comparison` as a document of its own, titled and naming both runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from pydantic import BaseModel

from research.agents.common import FigureStatus, Source
from research.agents.market import MarketData
from research.reports import markdown as md
from research.retrieval.quantities import name_spans


class MarketReport(Protocol):
    """What a comparison reads of a market report (:class:`research.workflows.market.MarketReport`,
    which carries a comparison itself: hence a protocol, not an import)."""

    topic: Any
    started_at: float
    market: Any
    competitor: Any
    customer: Any
    research: Any

NO_CHANGE = "No material change: the market size, growth, competitors, segments and their checked figures are the same."
"""What the comparison says when nothing it compares moved."""
SHARE_STEP = 0.5
"""Share moves smaller than this many points are not changes (rounding in the models' answers)."""
SIZE_STEP = 0.5
"""Market size changes smaller than this many percent are not changes."""


class SizeChange(BaseModel):
    """The market size in each run, and the change where the two can be compared."""

    before: str | None
    after: str | None
    change_percent: float | None = None
    """None when either is missing, or the currency changed (not compared)."""
    note: str = ""
    """What differs besides the number, e.g. "the year moved from 2024 to 2025"."""

    @property
    def changed(self) -> bool:
        """True when the size or what it measures moved."""
        moved = self.change_percent is not None and abs(self.change_percent) >= SIZE_STEP
        return moved or bool(self.note) or (self.before is None) != (self.after is None)


class GrowthChange(BaseModel):
    """The growth rate (CAGR, %) in each run and its change in points."""

    before: float | None
    after: float | None

    @property
    def points(self) -> float | None:
        """After minus before, in percentage points."""
        return None if self.before is None or self.after is None else round(self.after - self.before, 2)

    @property
    def changed(self) -> bool:
        """True when the rate moved by at least a tenth of a point, or appeared or disappeared."""
        return (self.before is None) != (self.after is None) or (self.points is not None and abs(self.points) >= 0.1)


class ShareMove(BaseModel):
    """A part (a competitor, a segment) in both runs whose share moved."""

    name: str
    before: float | None
    after: float | None

    @property
    def points(self) -> float | None:
        """After minus before, in percentage points."""
        return None if self.before is None or self.after is None else round(self.after - self.before, 1)


class PartsChange(BaseModel):
    """Named parts (competitors or segments) that entered, left or moved share."""

    entered: list[str] = []
    left: list[str] = []
    moved: list[ShareMove] = []

    @property
    def changed(self) -> bool:
        """True when anything entered, left or moved."""
        return bool(self.entered or self.left or self.moved)


class StatusChange(BaseModel):
    """A figure whose checked status differs between the runs."""

    figure: str
    before: FigureStatus
    after: FigureStatus


class RunComparison(BaseModel):
    """What changed from the ``earlier`` report to the ``later`` one on the same topic."""

    topic: str
    """The later report's topic."""
    earlier_id: str
    later_id: str
    earlier_at: float
    later_at: float
    market_size: SizeChange
    growth: GrowthChange
    competitors: PartsChange
    segments: PartsChange
    grounding: list[StatusChange] = []
    new_sources: list[Source] = []
    earlier_topic: str = ""
    """The earlier report's topic as it was typed ("" in comparisons saved before it was kept: the same topic)."""
    summary: str | None = None
    """One paragraph on the comparison by the section writer (from the comparison alone; its numbers checked)."""
    summary_notes: list[str] = []
    """The paragraph's data-check notes (e.g. a number the comparison does not hold)."""

    @property
    def material(self) -> bool:
        """True when anything compared moved (new sources alone are not a change in the market)."""
        return (self.market_size.changed or self.growth.changed or self.competitors.changed
                or self.segments.changed or bool(self.grounding))

    @property
    def since(self) -> str:
        """The earlier report's date, e.g. "4 Dec 2026"."""
        return day_label(self.earlier_at)

    @property
    def runs(self) -> str:
        """Both runs by topic and start, the earlier first, Markdown-escaped: “Plant-based dairy”, 4 Dec 2026,
        14:02 → 5 Dec 2026, 09:10 (the topic once when both name it alike, else each run's own)."""
        earlier = self.earlier_topic or self.topic
        if " ".join(earlier.split()).casefold() == " ".join(self.topic.split()).casefold():
            return f"“{md.inline(self.topic)}”, {_moment(self.earlier_at)} → {_moment(self.later_at)}"
        return f"“{md.inline(earlier)}” ({_moment(self.earlier_at)}) → “{md.inline(self.topic)}” ({_moment(self.later_at)})"


def day_label(at: float) -> str:
    """The day of ``at`` (seconds since the epoch) as people read it, e.g. "4 Dec 2026"."""
    moment = dt.datetime.fromtimestamp(at)
    return f"{moment.day} {moment:%b %Y}"


def _moment(at: float) -> str:
    return f"{day_label(at)}, {dt.datetime.fromtimestamp(at):%H:%M}"


def same_name(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` name the same thing, whatever their case or legal suffix."""
    a, b = " ".join(a.split()).rstrip("."), " ".join(b.split()).rstrip(".")
    if a.casefold() == b.casefold():
        return True
    return any(span == (0, len(b)) for span in name_spans(a, b)) or any(span == (0, len(a)) for span in name_spans(b, a))


def _size_text(data: MarketData | None) -> str | None:
    if data is None:
        return None
    size = data.market_size
    return f"{size.currency} {size.value:g} {size.scale} ({size.year})"


def _size_change(before: MarketData | None, after: MarketData | None) -> SizeChange:
    change = SizeChange(before=_size_text(before), after=_size_text(after))
    if before is None or after is None:
        return change
    old, new = before.market_size, after.market_size
    if old.currency != new.currency:
        change.note = f"the currency changed ({old.currency} → {new.currency}), so the sizes are not compared"
        return change
    if old.absolute:
        change.change_percent = round((new.absolute - old.absolute) / old.absolute * 100, 1)
    if old.year != new.year:
        change.note = f"the year moved from {old.year} to {new.year}"
    return change


def _parts(items: Iterable[Any], share: str) -> list[tuple[str, float | None]]:
    return [(item.name, getattr(item, share)) for item in items]


def _parts_change(before: Sequence[tuple[str, float | None]], after: Sequence[tuple[str, float | None]]) -> PartsChange:
    change = PartsChange()
    for name, share in after:
        match = next(((n, s) for n, s in before if same_name(n, name)), None)
        if match is None:
            change.entered.append(name)
            continue
        move = ShareMove(name=name, before=match[1], after=share)
        if (move.points is not None and abs(move.points) >= SHARE_STEP) or (move.before is None) != (move.after is None):
            change.moved.append(move)
    change.left = [name for name, _ in before if not any(same_name(name, n) for n, _ in after)]
    return change


def _statuses(result: MarketReport) -> dict[str, FigureStatus]:
    return {figure.label: figure.status for outcome in result.research if outcome.ok and outcome.result is not None
            for figure in outcome.result.figures}


def _sources(result: MarketReport) -> list[Source]:
    return [source for outcome in result.research if outcome.ok and outcome.result is not None
            for source in outcome.result.sources]


def compare_runs(earlier: MarketReport, later: MarketReport, *, earlier_id: str = "",
                 later_id: str = "") -> RunComparison:
    """What changed from ``earlier`` to ``later`` (runs of the same topic; each may lack some research)."""
    market = [o.result if o.ok else None for o in (earlier.market, later.market)]
    competitors = [_parts(o.result.competitors, "market_share_percent") if o.ok and o.result else []
                   for o in (earlier.competitor, later.competitor)]
    segments = [_parts(o.result.segments, "share_percent") if o.ok and o.result else []
                for o in (earlier.customer, later.customer)]
    old_status, new_status = _statuses(earlier), _statuses(later)
    grounding = [StatusChange(figure=label, before=old_status[label], after=status)
                 for label, status in new_status.items() if label in old_status and old_status[label] != status]
    known = {source.url or source.title for source in _sources(earlier)}
    fresh = list({(s.url or s.title): s for s in _sources(later) if (s.url or s.title) not in known}.values())
    return RunComparison(
        topic=later.topic, earlier_topic=earlier.topic, earlier_id=earlier_id, later_id=later_id,
        earlier_at=earlier.started_at, later_at=later.started_at, market_size=_size_change(*market),
        growth=GrowthChange(before=market[0].growth.cagr_percent if market[0] else None,
                            after=market[1].growth.cagr_percent if market[1] else None),
        competitors=_parts_change(*competitors), segments=_parts_change(*segments), grounding=grounding,
        new_sources=fresh)


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:g} %"


def _moves(title: str, change: PartsChange) -> list[str]:
    lines = []
    if change.entered:
        lines.append(f"- **{title} that entered:** {', '.join(md.inline(n) for n in change.entered)}")
    if change.left:
        lines.append(f"- **{title} that left:** {', '.join(md.inline(n) for n in change.left)}")
    for move in change.moved:
        points = "" if move.points is None else f" ({move.points:+g} points)"
        lines.append(f"- **{md.inline(move.name)}:** {_share(move.before)} → {_share(move.after)}{points}")
    return lines


def changes_table(comparison: RunComparison) -> str:
    """The headline changes as a Markdown table: market size, growth, competitors and segments."""
    size = comparison.market_size
    size_change = "not compared" if size.change_percent is None else f"{size.change_percent:+g} %"
    growth = comparison.growth
    growth_change = "—" if growth.points is None else f"{growth.points:+g} points"
    rows = [["Market size", md.cell(size.before or "—"), md.cell(size.after or "—"), size_change],
            ["Growth (CAGR)", _share(growth.before), _share(growth.after), growth_change],
            ["Competitors", f"{len(comparison.competitors.left)} left", f"{len(comparison.competitors.entered)} entered",
             f"{len(comparison.competitors.moved)} moved share"],
            ["Customer segments", f"{len(comparison.segments.left)} left", f"{len(comparison.segments.entered)} entered",
             f"{len(comparison.segments.moved)} moved share"]]
    return md.table(["", f"Before ({comparison.since})", "Now", "Change"], rows)


def render_changes(comparison: RunComparison, *, heading: str = "##") -> str:
    """The comparison as a Markdown section: "What changed since <date>", a table and the lists."""
    parts = [f"{heading} What changed since {comparison.since}"]
    if comparison.summary:
        parts.append(md.prose(comparison.summary))
        parts += [f"> {md.inline(note)}" for note in comparison.summary_notes]
    if not comparison.material:
        parts.append(NO_CHANGE)
    else:
        parts.append(changes_table(comparison))
        if comparison.market_size.note:
            parts.append(f"Market size: {md.inline(comparison.market_size.note)}.")
        lines = _moves("Competitors", comparison.competitors) + _moves("Segments", comparison.segments)
        lines += [f"- **{md.inline(c.figure)}:** {c.before.mark} → {c.after.mark}" for c in comparison.grounding]
        if lines:
            parts.append("\n".join(lines))
    if comparison.new_sources:
        parts.append(f"{len(comparison.new_sources)} new source{'s' if len(comparison.new_sources) != 1 else ''}: "
                     + "; ".join(md.inline(s.title) for s in comparison.new_sources[:8]))
    return "\n\n".join(parts)


def render_comparison(comparison: RunComparison) -> str:
    """The comparison as a Markdown document of its own (what ``python -m research compare`` writes and the
    History page downloads): the topic as its title (both when they differ), the two runs, then
    :func:`render_changes`."""
    earlier, later = comparison.earlier_topic or comparison.topic, comparison.topic
    title = later if " ".join(earlier.split()).casefold() == " ".join(later.split()).casefold() else f"{earlier} → {later}"
    return f"# {md.inline(title)}\n\n{comparison.runs}\n\n{render_changes(comparison)}\n"
