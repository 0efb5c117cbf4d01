"""Pure chart builders: research data in, ``plotly.graph_objects.Figure`` out.

No Streamlit and no I/O here, so the builders are easy to test and reuse. Every piece of
user or model text (names, notes, currency codes) goes through :func:`plain` before it is
placed in a figure, because Plotly renders some HTML tags in titles, labels and hovers.
"""

from __future__ import annotations

import textwrap
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import plotly.graph_objects as go
from pydantic import BaseModel

from research.agents.common import SHARE_TOLERANCE, FigureStatus, Sourced
from research.agents.company import CompanyProfile
from research.agents.competitor import CompetitorReport
from research.agents.customer import WTP_SCORE, CustomerReport
from research.agents.market import MarketData
from research.workflows.keys import StepKey

if TYPE_CHECKING:
    from research.reports.sections import ReportSection
    from research.workflows.companies import CompanyBatchResult

TEMPLATE = "plotly_white"
HEIGHT = 360
ESTIMATE_SUFFIX = " — estimate"
OTHERS_LABEL = "Others / unallocated"
WTP_ORDER: list[str] = sorted(WTP_SCORE, key=WTP_SCORE.__getitem__)  # low, medium, high

_STATED, _PROJECTED = "#1f4e79", "#9dc3e6"
_BAR, _OTHERS = "#2e75b6", "#bfbfbf"
_HATCH = "white"  # one colour for every hatch: Plotly cannot take it from a per-bar colour list
_WTP_COLOUR = {"low": "#9dc3e6", "medium": "#2e75b6", "high": "#1f4e79", "unknown": _OTHERS}
UNKNOWN_LEVEL = "unknown"
_LABEL_CHARS = 40


def plain(text: str) -> str:
    """``text`` made safe to show as plain text in a Plotly figure.

    ``&``, ``<`` and ``>`` become HTML entities, which Plotly displays as the original
    characters but never interprets as markup.
    """
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _short(text: str, limit: int = _LABEL_CHARS) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis (not yet escaped)."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _num(value: float) -> str:
    """A number with at most one decimal and no trailing zeros, e.g. 12.3 or 5."""
    return f"{value:,.1f}".rstrip("0").rstrip(".")


PATTERNS = {status: "" if status is FigureStatus.VERIFIED else "/" if status in (
    FigureStatus.ESTIMATE, FigureStatus.ILLUSTRATIVE) else "x" for status in FigureStatus}
"""Bar hatching by a figure's checked status: verified bars are solid; estimates "/", checks that failed "x"."""


def _title(text: str, data: Sourced) -> str:
    """A chart title, marked as an estimate when nothing backs the figures."""
    return text + ESTIMATE_SUFFIX if data.is_estimate else text


def _style(fig: go.Figure, title: str, *, legend: bool = False) -> go.Figure:
    """Apply the shared look: template, height, margins, title and (usually no) legend."""
    fig.update_layout(
        template=TEMPLATE,
        height=HEIGHT,
        margin=dict(l=20, r=30, t=70 if legend else 60, b=40),
        title=dict(text=title, x=0.01, xanchor="left"),
        showlegend=legend,
        hoverlabel=dict(align="left"),
    )
    if legend:
        fig.update_layout(legend=dict(orientation="h", x=0, y=1.02, xanchor="left", yanchor="bottom"))
    return fig


NARROW_TITLE_CHARS = 30
"""A title's line length in a half-width chart (two side by side on a 1024 px screen)."""


def narrow(figure: go.Figure) -> go.Figure:
    """A copy of ``figure`` for half a page (two reports' charts side by side): its title wrapped onto lines rather
    than cut off at the figure's edge, and its legend under the plot rather than between the title and the plot.
    (A copy: :func:`chart_for_section` keeps its figures for the report's own page.)"""
    fig = go.Figure(figure)
    lines = textwrap.wrap(fig.layout.title.text or "", NARROW_TITLE_CHARS) or [""]  # entities hold no spaces
    top = 24 + 22 * len(lines)
    fig.update_layout(title=dict(text="<br>".join(lines), font=dict(size=15)),
                      margin=dict(t=top, b=100 if fig.layout.showlegend else 40))
    if fig.layout.showlegend:
        fig.update_layout(legend=dict(orientation="h", x=0, y=-0.3, xanchor="left", yanchor="top"),
                          height=HEIGHT + 50)
    return fig


def market_size_chart(data: MarketData) -> go.Figure:
    """Bars of the market size per year, from the base year to the end of the growth period.

    The base year's bar is the stated figure; later years up to :attr:`MarketData.projection_end` are
    projected with the CAGR (:meth:`MarketData.projected_size`) and drawn in a lighter colour.
    """
    size, growth, end = data.market_size, data.growth, data.projection_end
    unit = f"{size.scale} {plain(size.currency)}"
    years = list(range(size.year + 1, end + 1)) if end is not None else []
    show_text = len(years) < 15
    fig = go.Figure()
    for name, xs, ys, colour, status in (
        (f"Stated ({size.year})", [size.year], [size.value], _STATED, "stated"),
        (f"Projected at {_num(growth.cagr_percent)} % CAGR", years, [data.projected_size(y) for y in years],
         _PROJECTED, "projected"),
    ):
        if not xs:
            continue
        stated = status == "stated"
        checked = data.status_of("market size")
        fig.add_trace(go.Bar(  # a projection is derived, not cited: only the stated bar shows its check
            name=name, x=xs, y=ys, marker_color=colour, marker_pattern=dict(shape=PATTERNS[checked] if stated else "", fgcolor=_HATCH),
            customdata=[[f"{status}, {checked.words}" if stated else status, unit]] * len(xs),
            texttemplate="%{y:,.1f}" if show_text else None, textposition="outside", cliponaxis=False,
            hovertemplate="%{x}: %{y:,.2f} %{customdata[1]} (%{customdata[0]})<extra></extra>",
        ))
    fig.update_xaxes(title_text="Year", tickmode="linear", dtick=1 if show_text else 5, tickformat="d")
    fig.update_yaxes(title_text=unit, rangemode="tozero", automargin=True)
    period = "" if growth.period else ", period not stated"
    return _style(fig, _title(f"Market size and growth (CAGR {_num(growth.cagr_percent)} %{period})", data), legend=True)


def competitor_share_chart(data: CompetitorReport) -> go.Figure:
    """Horizontal bars of each competitor's estimated market share, largest at the top.

    Competitors without a share estimate are listed without a bar (marked "share not
    estimated" at 0, with a hover note); the rest of the market up to 100 % is shown as an
    "Others / unallocated" bar when there is any.
    """
    known = sorted((c for c in data.competitors if c.market_share_percent is not None),
                   key=lambda c: c.market_share_percent or 0.0, reverse=True)
    unknown = [c for c in data.competitors if c.market_share_percent is None]
    names = [plain(c.name) for c in known + unknown]
    shares: list[float | None] = [c.market_share_percent for c in known] + [None] * len(unknown)
    statuses = [data.status_of(f"share of {c.name}") for c in known + unknown]
    hover = [f"{_num(s)} % share ({status.words})" if s is not None else "share not estimated"
             for s, status in zip(shares, statuses)]
    patterns = [PATTERNS[status] for status in statuses]
    colours = [_BAR] * len(names)
    labels = [plain(_short(c.name)) for c in known + unknown]
    remainder = round(100.0 - sum(c.market_share_percent or 0.0 for c in known), 2)
    if remainder > 0:
        names.append(OTHERS_LABEL)
        shares.append(remainder)
        hover.append(f"{_num(remainder)} % not allocated to the competitors listed")
        colours.append(_OTHERS)
        labels.append(OTHERS_LABEL)
        patterns.append("")
    fig = go.Figure(go.Bar(
        x=shares, y=names, orientation="h", marker_color=colours, marker_pattern=dict(shape=patterns, fgcolor=_HATCH), customdata=hover,
        texttemplate="%{x:.1f} %", textposition="outside", cliponaxis=False,
        hovertemplate="%{y}: %{customdata}<extra></extra>",
    ))
    if unknown:
        fig.add_trace(go.Scatter(
            x=[0.0] * len(unknown), y=[plain(c.name) for c in unknown], mode="markers+text",
            marker=dict(symbol="line-ns-open", size=12, color=_OTHERS), text=["share not estimated"] * len(unknown),
            textposition="middle right", hovertemplate="%{y}: share not estimated<extra></extra>",
        ))
    fig.update_xaxes(title_text="Estimated market share (%)", range=[0, 100], ticksuffix=" %")
    fig.update_yaxes(autorange="reversed", tickmode="array", tickvals=names, ticktext=labels, automargin=True)
    title = "Competitors by estimated market share"
    if data.share_total > SHARE_TOLERANCE:
        title += f" — shares total {_num(data.share_total)} %, over 100 %"
    return _style(fig, _title(title, data))


def segment_chart(data: CustomerReport) -> go.Figure:
    """Horizontal bars of each segment's share of customers, coloured by willingness to pay.

    Largest segment at the top; one colour (and legend entry) per willingness-to-pay level;
    figures not verified against a source are hatched; the customers no segment covers are
    shown as an "Others / unallocated" bar, and a total over 100 % is flagged in the title.
    Segments without a share estimate are listed at 0 with a hover note.
    """
    ordered = sorted(data.segments, key=lambda s: s.share_percent or 0.0, reverse=True)
    fig = go.Figure()
    for level in [UNKNOWN_LEVEL, *WTP_ORDER]:
        members = [s for s in ordered if (s.willingness_to_pay.level or UNKNOWN_LEVEL) == level]
        if not members:
            continue
        statuses = [data.status_of(f"share of {s.name}") for s in members]
        fig.add_trace(go.Bar(
            name=f"{level} willingness to pay", orientation="h", marker_color=_WTP_COLOUR[level],
            x=[s.share_percent or 0.0 for s in members], y=[plain(s.name) for s in members],
            marker_pattern=dict(shape=[PATTERNS[status] for status in statuses], fgcolor=_HATCH),
            customdata=[[f"{_num(s.share_percent)} % of customers ({status.words})" if s.share_percent
                         is not None else "share not estimated", plain(_short(s.willingness_to_pay.note or "", 120))]
                        for s, status in zip(members, statuses)],
            texttemplate="%{x:.1f} %", textposition="outside", cliponaxis=False,
            hovertemplate="%{y}: %{customdata[0]}<br>%{customdata[1]}<extra></extra>",
        ))
    remainder = round(100.0 - data.share_total, 2)
    names = [plain(s.name) for s in ordered]
    if remainder > 0:
        names.append(OTHERS_LABEL)
        fig.add_trace(go.Bar(name=OTHERS_LABEL, orientation="h", x=[remainder], y=[OTHERS_LABEL], marker_color=_OTHERS,
                             texttemplate="%{x:.1f} %", textposition="outside", cliponaxis=False,
                             hovertemplate=f"{_num(remainder)} % of customers in no segment listed<extra></extra>"))
    fig.update_xaxes(title_text="Share of customers (%)", range=[0, 100], ticksuffix=" %")
    fig.update_yaxes(categoryorder="array", categoryarray=names, autorange="reversed", automargin=True,
                     tickvals=names, ticktext=[_short(name) for name in names])
    title = "Customer segments by share of customers"
    if data.share_total > SHARE_TOLERANCE:
        title += f" — shares total {_num(data.share_total)} %, over 100 %"
    return _style(fig, _title(title, data), legend=True)


def company_revenue_chart(profiles: dict[str, CompanyProfile]) -> go.Figure:
    """Horizontal bars of each company's estimated revenue, labelled with the name the user asked for
    (companies without an estimate are listed at 0)."""
    ordered = sorted(profiles.items(), key=lambda item: item[1].revenue_estimate_usd_millions or 0)
    values = [p.revenue_estimate_usd_millions or 0 for _, p in ordered]
    notes = ["no estimate" if p.revenue_estimate_usd_millions is None else
             ("estimate" if p.is_estimate else "sourced") for _, p in ordered]
    fig = go.Figure(go.Bar(
        x=values, y=[plain(_short(name)) for name, _ in ordered], orientation="h", marker_color=_BAR,
        customdata=[[plain(name), n] for (name, _), n in zip(ordered, notes)],
        hovertemplate="%{customdata[0]}: %{x:,.1f} million USD (%{customdata[1]})<extra></extra>",
    ))
    fig.update_xaxes(title_text="Revenue, million USD")
    title = "Estimated annual revenue" + (ESTIMATE_SUFFIX if any(p.is_estimate for _, p in ordered) else "")
    return _style(fig, title)


SECTION_CHARTS: dict[type[BaseModel], Callable[[Any], go.Figure]] = {
    MarketData: market_size_chart, CompetitorReport: competitor_share_chart, CustomerReport: segment_chart}
"""The chart of each research agent's data (the page and the HTML report draw the same ones)."""

_FIGURES: OrderedDict[int, tuple[BaseModel, go.Figure]] = OrderedDict()
_FIGURES_LOCK = threading.Lock()
_FIGURES_KEPT = 64


def chart_for_section(section: ReportSection) -> go.Figure | None:
    """The section's chart, when it has data.

    Building a figure costs ~20 ms and a running job's page redraws twice a
    second, so figures are kept per data object (the object itself is held,
    so its id cannot be reused while the entry lives).
    """
    data = section.data
    if data is None:
        return None
    with _FIGURES_LOCK:
        kept = _FIGURES.get(id(data))
        if kept is not None and kept[0] is data:
            _FIGURES.move_to_end(id(data))
            return kept[1]
    figure = SECTION_CHARTS[type(data)](data)
    with _FIGURES_LOCK:
        _FIGURES[id(data)] = (data, figure)
        while len(_FIGURES) > _FIGURES_KEPT:
            _FIGURES.popitem(last=False)
    return figure


def company_profiles(result: CompanyBatchResult) -> dict[str, CompanyProfile]:
    """The profiles of the companies researched successfully, by the name the user asked for."""
    return {StepKey.parse(o.key).subject: o.result for o in result.companies if o.ok and o.result is not None}


def batch_revenue_chart(result: CompanyBatchResult) -> go.Figure | None:
    """The batch's revenue chart (:func:`company_revenue_chart`), or None when no company was profiled."""
    profiles = company_profiles(result)
    return company_revenue_chart(profiles) if profiles else None
