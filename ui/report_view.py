"""The market report on the page, drawn from the report's typed sections, each chart beside its data."""

from __future__ import annotations

import threading
from collections import OrderedDict

import streamlit as st
from plotly.graph_objects import Figure
from pydantic import BaseModel

from research.agents.common import FigureStatus, Sourced
from research.agents.competitor import CompetitorReport
from research.agents.customer import CustomerReport
from research.agents.market import MarketData
from research.reports.charts import competitor_share_chart, market_size_chart, segment_chart
from research.reports.market import section_details, section_intro
from research.reports.sections import ReportSection
from research.workflows.market import MarketResearchResult

CHARTS = {MarketData: market_size_chart, CompetitorReport: competitor_share_chart, CustomerReport: segment_chart}


_FIGURES: OrderedDict[int, tuple[BaseModel, Figure]] = OrderedDict()
_FIGURES_LOCK = threading.Lock()
_FIGURES_KEPT = 64


def chart_for(section: ReportSection) -> Figure | None:
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
    figure = CHARTS[type(data)](data)
    with _FIGURES_LOCK:
        _FIGURES[id(data)] = (data, figure)
        while len(_FIGURES) > _FIGURES_KEPT:
            _FIGURES.popitem(last=False)
    return figure


def sections(report: list[ReportSection], key: str, *, only_ready: bool = False) -> None:
    """Draw the sections (``only_ready``: those whose prose or data has arrived, while the job runs)."""
    for section in report:
        if only_ready and section.pending and section.data is None:
            continue
        st.markdown(f"## {section.title}")
        intro = section_intro(section)
        if intro:
            st.markdown(intro)
        figure = chart_for(section)
        if figure is not None:
            st.plotly_chart(figure, key=f"chart-{section.key}-{key}", config={"displaylogo": False})
        details = section_details(section)
        if details:
            st.markdown(details)


_SCALE_SHORT = {"thousand": "k", "million": "M", "billion": "bn", "trillion": "tn"}


def _status(data: Sourced, label: str) -> FigureStatus:
    return data.status_of(label)


def headline_metrics(result: MarketResearchResult) -> None:
    """The report's key figures at a glance, each with its checked status (in full in its tooltip)."""
    market, competitors, customers = (o.result if o.ok else None for o in result.research)
    columns = st.columns(5, border=True)
    quiet = {"delta_color": "off", "delta_arrow": "off"}  # the line under a value is a caption, not a change
    if market is not None:
        size, growth = market.market_size, market.growth
        size_status, growth_status = _status(market, "market size"), _status(market, "growth rate")
        columns[0].metric(f"Market size ({size.year})", f"{size.value:,.1f} {_SCALE_SHORT[size.scale]}",
                          delta=f"{size.currency} · {size_status.short}", **quiet,
                          help=f"{size.value:g} {size.scale} {size.currency} — {size_status.value}")
        columns[1].metric("Growth (CAGR)", f"{growth.cagr_percent:g} %", **quiet,
                          delta=f"{growth.period or 'period not stated'} · {growth_status.short}",
                          help=f"{growth.cagr_percent:g} % a year — {growth_status.value}")
    for column, label, data in ((columns[2], "Leader", competitors), (columns[3], "Largest segment", customers)):
        if data is not None:
            part = data.largest()
            share = data.share_of(part)
            column.metric(label, f"{share:g} %" if share is not None else "n/a", delta=part.name, **quiet,
                          help=f"{part.name} — {_status(data, f'share of {part.name}').value}")
    figures = [f for data in (market, competitors, customers) if data is not None for f in data.figures]
    verified = sum(1 for f in figures if f.status is FigureStatus.VERIFIED)
    if any(f.status is FigureStatus.ILLUSTRATIVE for f in figures):
        columns[4].metric("Figures verified", "none", delta="demo: illustrative", **quiet,
                          help="Demo figures: their sources are invented, so none is verified")
    else:
        columns[4].metric("Figures verified", f"{verified} of {len(figures)}",
                          help="Checked in code: a cited sentence states the figure's value, unit, subject and year")


def jump_links(report: list[ReportSection]) -> None:
    """Links to each section of the report."""
    links = [f"[{section.title}](#{section.title.lower().replace(' ', '-')})" for section in report]
    st.markdown(" · ".join(links))
