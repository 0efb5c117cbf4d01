"""The market report on the page, drawn from the report's typed sections, each chart beside its data."""

from __future__ import annotations

import threading
from collections import OrderedDict

import streamlit as st
from plotly.graph_objects import Figure
from pydantic import BaseModel

from research.agents.competitor import CompetitorReport
from research.agents.customer import CustomerReport
from research.agents.market import MarketData
from research.reports.charts import competitor_share_chart, market_size_chart, segment_chart
from research.reports.market import section_details, section_intro
from research.reports.sections import ReportSection

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
