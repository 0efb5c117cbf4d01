"""The market report on the page, drawn from the report's typed sections, each chart beside its data."""

from __future__ import annotations

import streamlit as st
from plotly.graph_objects import Figure

from research.agents.competitor import CompetitorReport
from research.agents.customer import CustomerReport
from research.agents.market import MarketData
from research.reports.charts import competitor_share_chart, market_size_chart, segment_chart
from research.reports.market import section_details, section_intro
from research.reports.sections import ReportSection

CHARTS = {MarketData: market_size_chart, CompetitorReport: competitor_share_chart, CustomerReport: segment_chart}


def chart_for(section: ReportSection) -> Figure | None:
    """The section's chart, when it has data."""
    return CHARTS[type(section.data)](section.data) if section.data is not None else None


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
