"""The headline tiles while a report is researched: each agent's figures once it has finished, "…" while it
researches, a dash and the reason when it failed, and no count of verified figures until the research is in."""

from __future__ import annotations

from research.agents.competitor import CompetitorReport
from research.agents.customer import CustomerReport
from research.agents.market import MarketData
from research.providers.demo_content import demo_output_for
from research.reports.market import headline_metrics_so_far
from research.workflows.keys import StepKey


def data(model: type) -> object:
    return model.model_validate_json(demo_output_for(model.__name__, "Topic: plant-based dairy"))


def tiles(results: dict, problems: dict | None = None) -> dict[str, tuple[str, str | None]]:
    return {m.label.split(" (")[0]: (m.value, m.delta) for m in headline_metrics_so_far(results, problems or {})}


def test_before_anything_finished_every_tile_waits() -> None:
    assert {value for value, _ in tiles({}).values()} == {"…"}
    assert len(tiles({})) == 5


def test_a_finished_agent_fills_its_tiles_and_a_failed_one_says_why() -> None:
    market = data(MarketData)
    shown = tiles({StepKey.agent("market"): market}, {StepKey.agent("competitor"): "server error (HTTP 500)"})
    assert shown["Market size"][0].startswith(f"{market.market_size.value:,.1f}")
    assert shown["Market size"][1].startswith(market.market_size.currency)
    assert shown["Growth"][0] == f"{market.growth.cagr_percent:g} %"
    assert shown["Leader"] == ("—", "no competitor data")
    assert shown["Largest segment"] == ("…", "being researched")
    assert shown["Figures verified"] == ("…", "being checked"), "no count while research is still running"


def test_once_all_research_is_in_the_tiles_are_the_reports() -> None:
    results = {StepKey.agent("market"): data(MarketData), StepKey.agent("competitor"): data(CompetitorReport),
               StepKey.agent("customer"): data(CustomerReport)}
    shown = tiles(results)
    assert "…" not in {value for value, _ in shown.values()}
    assert shown["Figures verified"] == ("—", "no figures to check")  # the raw answers have no checked figures yet
