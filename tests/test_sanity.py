"""Sanity checks on figures no real market can have: kept as given, flagged with a note, never projected.

And how the reports read when a minor list is empty.
"""

from __future__ import annotations

from typing import Any

import pytest

from research.agents.company import CompanyProfile
from research.agents.market import MarketData
from research.agents.salvage import salvage
from research.core.steps import StepOutcome, StepState
from research.reports.charts import market_size_chart
from research.reports.companies import _profile
from research.reports.market import market_tables
from research.workflows.companies import company_key
from tests.support.imperfect import valid_answer

NO_PROJECTION = "no projection is drawn from it."


def market_answer() -> dict[str, Any]:
    """The demo market answer with its size in 2025 and growth of 12 % a year over 2025–2032."""
    answer = valid_answer("MarketData", '{"topic": "plant-based dairy", "today": "2025-06-01"}')
    answer["market_size"]["year"] = 2025
    answer["growth"].update(cagr_percent=12, start_year=2025, end_year=2032)
    return answer


def market(**growth: Any) -> MarketData:
    """:func:`market_answer` with ``growth`` changed, salvaged."""
    answer = market_answer()
    answer["growth"].update(growth)
    return salvage(MarketData, answer).value


def projected_years(data: MarketData) -> list[int]:
    """The years the market-size chart draws as projected bars."""
    return [x for trace in market_size_chart(data).data if trace.name.startswith("Projected") for x in trace.x]


def test_a_plausible_market_is_projected_to_the_end_of_its_period_everywhere() -> None:
    data = market()
    assert data.notes == [] and data.projection_end == 2032
    assert data.derived_numbers()[0] == pytest.approx(data.projected_size(2032))
    assert "Projected size (2032)" in market_tables(data)
    assert projected_years(data) == list(range(2026, 2033))


@pytest.mark.parametrize("rate", [1000, 100.5, 250])
def test_growth_beyond_100_percent_a_year_is_kept_flagged_and_never_projected(rate: float) -> None:
    data = market(cagr_percent=rate)
    assert data.growth.cagr_percent == rate and data.growth.period == "2025–2032"
    assert data.notes == [f"A growth rate of {rate:g} % a year is implausible; {NO_PROJECTION}"]
    assert data.projection_end is None and data.derived_numbers() == []
    assert "Projected size" not in market_tables(data) and f"{rate:g} % per year, 2025–2032" in market_tables(data)
    assert projected_years(data) == []


@pytest.mark.parametrize("rate", [100, -100, -35])
def test_growth_within_100_percent_a_year_is_projected(rate: float) -> None:
    data = market(cagr_percent=rate)
    assert data.notes == [] and data.projection_end == 2032


@pytest.mark.parametrize(("start", "end", "when"), [(1985, 2017, "before"), (2020, 2025, "in")])
def test_a_growth_period_ending_by_the_size_year_draws_no_projection(start: int, end: int, when: str) -> None:
    data = market(start_year=start, end_year=end)
    assert data.growth.period == f"{start}–{end}", "the period is shown as given"
    assert data.notes == [f"The growth period ({start}–{end}) ends {when} the year of the market size (2025); "
                          f"{NO_PROJECTION}"]
    assert data.projection_end is None and data.derived_numbers() == []
    assert "Projected size" not in market_tables(data)
    assert projected_years(data) == []


def test_a_period_starting_before_the_size_year_is_projected_from_the_size_year() -> None:
    data = market(start_year=2020, end_year=2027)
    assert data.notes == [] and data.projection_end == 2027 and projected_years(data) == [2026, 2027]


def test_a_backwards_period_into_the_past_is_turned_round_and_still_not_projected() -> None:
    data = market(start_year=2017, end_year=1985)
    assert data.notes == ["Growth period was given backwards; read as 1985–2017.",
                          f"The growth period (1985–2017) ends before the year of the market size (2025); {NO_PROJECTION}"]
    assert data.projection_end is None


LARGE = "is more than the whole world's yearly output (about 100 trillion USD) and is implausible; it is shown as given."
SMALL = "is implausibly small for a whole market (a scale error?); it is shown as given."


@pytest.mark.parametrize(("value", "scale", "currency", "flag"), [
    (150, "trillion", "USD", LARGE), (200_000, "billion", "EUR", LARGE), (100, "trillion", "USD", None),
    (150, "trillion", "JPY", None), (99_000, "billion", "GBP", None),
    (12.5, "thousand", "USD", SMALL), (900, "thousand", "EUR", SMALL), (1, "million", "USD", None),
    (12.5, "thousand", "JPY", None),
])
def test_a_market_size_no_market_can_have_is_kept_and_flagged(value: float, scale: str, currency: str,
                                                              flag: str | None) -> None:
    answer = market_answer()
    answer["market_size"].update(value=value, scale=scale, currency=currency)
    data = salvage(MarketData, answer).value
    assert (data.market_size.value, data.market_size.scale) == (value, scale), "kept, not rejected"
    assert data.notes == ([f"A market size of {value:,g} {scale} {currency} {flag}"] if flag else [])


def test_empty_minor_lists_read_as_none_given_in_the_reports() -> None:
    answer = market_answer()
    answer["risks"] = []
    tables = market_tables(salvage(MarketData, answer).value)
    assert "**Risks**\n\n_None given._" in tables and "**Key trends**\n\n- " in tables

    profile = valid_answer("CompanyProfile", '{"company": "Acme Robotics"}')
    profile.update(competitive_advantages=[], recent_developments=[])
    outcome = StepOutcome[CompanyProfile](key=company_key("Acme Robotics"), state=StepState.DONE,
                                          result=salvage(CompanyProfile, profile).value)
    text = _profile(outcome)
    assert "**Competitive advantages**\n\n_None given._" in text and "**Recent developments**\n\n_None given._" in text
    assert "**Key products and services**\n\n- " in text
    assert "No competitive advantages were given." in text, "the data notes say which list is empty"
