"""Tests for the pure chart builders in research.reports.charts."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import pytest

from research.agents.common import Source
from research.agents.competitor import CompetitorReport
from research.agents.customer import CustomerReport
from research.agents.market import MarketData
from research.providers.demo_content import demo_competitors, demo_customers, demo_market
from research.reports import charts
from research.reports.charts import (
    ESTIMATE_SUFFIX,
    OTHERS_LABEL,
    competitor_share_chart,
    market_size_chart,
    plain,
    segment_chart,
)

TOPICS = ["EV charging in Europe", "B2B payroll software", "Plant-based snacks in the UK"]
TODAY = dt.date(2025, 6, 1)
SOURCED = {"sources": [Source(title="x", url="https://example.com")]}
EVIL = "<img src=x onerror=alert(1)>"
# the only markup the builders themselves put into hover templates
OWN_TAGS = re.compile(r"<br>|<extra></extra>")


def strings(value: Any) -> Iterator[str]:
    """Every string inside a decoded JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def figure_strings(fig: go.Figure) -> list[str]:
    """All strings in the figure's traces and layout (the template's own styling left out)."""
    decoded = json.loads(fig.to_json())
    decoded["layout"].pop("template", None)
    return list(strings(decoded))


def title(fig: go.Figure) -> str:
    return fig.layout.title.text


def bars(fig: go.Figure) -> list[go.Bar]:
    return [t for t in fig.data if isinstance(t, go.Bar)]


def test_module_is_pure() -> None:
    source = Path(charts.__file__).read_text(encoding="utf-8")
    assert "import streamlit" not in source and "from streamlit" not in source
    assert not re.search(r"\bopen\(|write_image|write_html", source)


# --- plain --------------------------------------------------------------------------------------


def test_plain_escapes_markup() -> None:
    assert plain(EVIL) == "&lt;img src=x onerror=alert(1)&gt;"
    assert plain("AT&T <b>") == "AT&amp;T &lt;b&gt;"
    assert plain("Acme Labs") == "Acme Labs"


# --- market -------------------------------------------------------------------------------------


@pytest.mark.parametrize("topic", TOPICS)
def test_market_chart_bars_are_stated_then_projected(topic: str) -> None:
    data = demo_market(topic, TODAY)
    fig = market_size_chart(data)
    size, growth = data.market_size, data.growth
    points = sorted((x, y) for trace in bars(fig) for x, y in zip(trace.x, trace.y))
    expected_years = list(range(size.year, growth.end_year + 1))
    assert [x for x, _ in points] == expected_years
    for (year, value) in points:
        expected = size.value * (1 + growth.cagr_percent / 100) ** (year - size.year)
        assert value == pytest.approx(expected, abs=0.005)
        assert round(value, 2) == round(data.projected_size(year), 2)
    stated, projected = bars(fig)
    assert list(stated.x) == [size.year] and list(stated.y) == [size.value]
    assert "Stated" in stated.name and "Projected" in projected.name
    assert {row[0] for row in stated.customdata} == {"stated, estimate"}, "an unchecked figure is an estimate"
    assert {row[0] for row in projected.customdata} == {"projected"}
    assert stated.marker.color != projected.marker.color
    assert fig.layout.yaxis.title.text == f"{size.scale} {size.currency}"
    assert title(fig).startswith(f"Market size and growth (CAGR {growth.cagr_percent:g} %)")
    fig.to_json()


def test_market_chart_estimate_suffix() -> None:
    data = demo_market(TOPICS[0], TODAY)
    assert data.is_estimate
    assert title(market_size_chart(data)).endswith(ESTIMATE_SUFFIX)
    sourced = data.model_copy(update=SOURCED)
    assert not sourced.is_estimate
    assert ESTIMATE_SUFFIX not in title(market_size_chart(sourced))


def test_market_chart_base_year_after_growth_period() -> None:
    data = demo_market(TOPICS[1], TODAY)
    late = data.model_copy(update={"market_size": data.market_size.model_copy(update={"year": 2040})})
    fig = market_size_chart(MarketData.model_validate(late.model_dump()))
    assert [list(t.y) for t in bars(fig)] == [[data.market_size.value]]
    fig.to_json()


# --- competitors --------------------------------------------------------------------------------


@pytest.mark.parametrize("topic", TOPICS)
def test_competitor_chart_holds_shares_and_remainder(topic: str) -> None:
    data = demo_competitors(topic, TODAY)
    fig = competitor_share_chart(data)
    (bar,) = bars(fig)
    shares = sorted((c.market_share_percent for c in data.competitors), reverse=True)
    names = [c.name for c in sorted(data.competitors, key=lambda c: c.market_share_percent, reverse=True)]
    remainder = 100 - sum(shares)
    assert remainder > 0
    assert list(bar.y) == names + [OTHERS_LABEL]
    assert list(bar.x[:-1]) == shares
    assert bar.x[-1] == pytest.approx(remainder, abs=0.005)
    assert bar.orientation == "h"
    assert fig.layout.yaxis.autorange == "reversed"  # first (largest) at the top
    assert tuple(fig.layout.xaxis.range) == (0, 100)
    assert title(fig) == "Competitors by estimated market share" + ESTIMATE_SUFFIX
    assert ESTIMATE_SUFFIX not in title(competitor_share_chart(data.model_copy(update=SOURCED)))
    fig.to_json()


def test_competitor_chart_no_remainder_when_shares_fill_the_market() -> None:
    data = demo_competitors(TOPICS[0], TODAY)
    first, *rest = data.competitors
    full = 100 - sum(c.market_share_percent for c in rest)
    data = CompetitorReport.model_validate(
        data.model_copy(update={"competitors": [first.model_copy(update={"market_share_percent": full}), *rest]})
        .model_dump())
    (bar,) = bars(competitor_share_chart(data))
    assert OTHERS_LABEL not in bar.y
    assert len(bar.x) == len(data.competitors)


def test_competitor_chart_handles_unknown_share() -> None:
    data = demo_competitors(TOPICS[1], TODAY)
    first, *rest = data.competitors
    data = CompetitorReport.model_validate(
        data.model_copy(update={"competitors": [first.model_copy(update={"market_share_percent": None}), *rest]})
        .model_dump())
    fig = competitor_share_chart(data)
    (bar,) = bars(fig)
    position = list(bar.y).index(first.name)
    assert bar.x[position] is None
    assert "not estimated" in bar.customdata[position]
    known = sum(c.market_share_percent for c in rest)
    assert bar.y[-1] == OTHERS_LABEL and bar.x[-1] == pytest.approx(100 - known, abs=0.005)
    notes = [t for t in fig.data if isinstance(t, go.Scatter)]
    assert notes and list(notes[0].y) == [first.name] and "not estimated" in notes[0].hovertemplate
    fig.to_json()


def test_competitor_names_are_escaped() -> None:
    data = demo_competitors(TOPICS[0], TODAY)
    first, *rest = data.competitors
    data = CompetitorReport.model_validate(
        data.model_copy(update={"competitors": [first.model_copy(update={"name": EVIL}), *rest]}).model_dump())
    fig = competitor_share_chart(data)
    raw = fig.to_json()
    assert "<" not in raw and ">" not in raw
    assert "\\u003cimg" not in raw  # the JSON encoder's escape of a raw "<img"
    for text in figure_strings(fig):
        remaining = OWN_TAGS.sub("", text)
        assert "<" not in remaining and ">" not in remaining, text
    assert plain(EVIL) in bars(fig)[0].y


# --- customers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("topic", TOPICS)
def test_segment_chart_holds_shares_and_wtp(topic: str) -> None:
    data = demo_customers(topic, TODAY)
    fig = segment_chart(data)
    bars = {name: (share, trace.name) for trace in fig.data for name, share in zip(trace.y, trace.x)}
    for segment in data.segments:
        share, legend = bars[segment.name]
        assert share == segment.share_percent and legend == f"{segment.willingness_to_pay.level} willingness to pay"
    assert tuple(fig.layout.xaxis.range) == (0, 100) and fig.layout.xaxis.ticksuffix == " %", "no negative axis"
    remainder = round(100 - data.share_total, 2)
    assert (bars.get(OTHERS_LABEL, (0, None))[0] == remainder) if remainder > 0 else OTHERS_LABEL not in bars
    order = list(fig.layout.yaxis.categoryarray)
    named = [n for n in order if n != OTHERS_LABEL]
    assert named == [s.name for s in sorted(data.segments, key=lambda s: s.share_percent or 0, reverse=True)]
    assert title(fig) == "Customer segments by share of customers" + ESTIMATE_SUFFIX
    assert ESTIMATE_SUFFIX not in title(segment_chart(data.model_copy(update=SOURCED)))
    fig.to_json()


def test_segment_chart_handles_unknown_share_and_markup() -> None:
    data = demo_customers(TOPICS[2], TODAY)
    first, *rest = data.segments
    data = CustomerReport.model_validate(
        data.model_copy(update={"segments": [first.model_copy(update={"share_percent": None, "name": EVIL}), *rest]})
        .model_dump())
    fig = segment_chart(data)
    (trace,) = [t for t in fig.data if plain(EVIL) in t.y]
    index = list(trace.y).index(plain(EVIL))
    assert trace.x[index] == 0 and "not estimated" in trace.customdata[index][0]
    for text in figure_strings(fig):
        remaining = OWN_TAGS.sub("", text)
        assert "<" not in remaining and ">" not in remaining, text


def test_verified_figures_are_solid_and_estimates_hatched() -> None:
    from research.agents.common import FigureCheck, FigureStatus
    from research.providers.demo_content import demo_competitors, demo_customers, demo_market

    today = dt.date(2026, 11, 30)
    market = demo_market("heat pumps", today)
    market.figures = [FigureCheck(label="market size", value="x", status=FigureStatus.VERIFIED, cites=["E1"])]
    stated = market_size_chart(market).data[0]
    assert stated.marker.pattern.shape in ("", None) and "verified against its source" in stated.customdata[0][0]

    competitors = demo_competitors("heat pumps", today)
    first, second = competitors.competitors[0], competitors.competitors[1]
    competitors.figures = [FigureCheck(label=f"share of {first.name}", value="x", status=FigureStatus.VERIFIED),
                           FigureCheck(label=f"share of {second.name}", value="x", status=FigureStatus.NOT_FOUND)]
    bars = competitor_share_chart(competitors).data[0]
    by_name = dict(zip(bars.y, bars.marker.pattern.shape))
    assert by_name[first.name] == "" and by_name[second.name] == "x"
    assert all(by_name[c.name] == "/" for c in competitors.competitors[2:] if c.market_share_percent is not None)

    customers = demo_customers("heat pumps", today)
    top = customers.segments[0]
    customers.figures = [FigureCheck(label=f"share of {top.name}", value="x", status=FigureStatus.VERIFIED)]
    patterns = {name: shape for trace in segment_chart(customers).data if trace.name != OTHERS_LABEL
                for name, shape in zip(trace.y, trace.marker.pattern.shape)}
    assert patterns[top.name] == "" and all(patterns[s.name] == "/" for s in customers.segments[1:])



def test_a_narrow_chart_wraps_its_title_and_keeps_escaped_text_whole() -> None:
    fig = charts._style(go.Figure(go.Bar(x=[1], y=[2], name="a")),
                        charts.plain("Competitors by estimated market share of <Acme & Sons> — estimate"), legend=True)
    before = fig.to_json()
    narrowed = charts.narrow(fig)
    lines = narrowed.layout.title.text.split("<br>")
    assert len(lines) > 1 and all(len(line) <= charts.NARROW_TITLE_CHARS for line in lines)
    title = narrowed.layout.title.text
    assert "&lt;Acme" in title and "&amp;" in title and "<Acme" not in title
    assert narrowed.layout.legend.y < 0, "the legend goes under the plot, not between the title and the plot"
    assert fig.to_json() == before, "the report's own (kept) figure is left as it was"
