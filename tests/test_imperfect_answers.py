"""Real models' near-miss answers over HTTP: each is salvaged, and the user is told what was fixed.

Every test runs the whole market pipeline (or a company batch) through the real Agents SDK and ``openai`` client
against the test server, which answers one agent with a flaw from ``tests/support/imperfect.py``
(both APIs; strict structured output, and JSON mode as llama.cpp-style servers need it).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from stub import agent_of

from research.agents.spec import request_message
from research.config import Settings
from research.core.limits import Limits
from research.reports.charts import market_size_chart
from research.reports.companies import render_batch_json, render_batch_markdown
from research.reports.market import market_tables, render_json, section_markdown, segment_table
from research.reports.sections import report_sections
from research.workflows.companies import CompanyBatchResult, company_name, run_company_batch
from research.workflows.market import MarketResearchResult, run_market_research
from tests.support.imperfect import FLAWS, break_line, imperfect_responder, valid_answer
from tests.support.openai_server import Reply, Responder, StubOpenAIServer, StubRequest

TOPIC = "plant-based dairy"
FAST = Limits(attempt_timeout=10, max_retries=1, backoff_initial=0.01, backoff_max=0.05)
LLAMA_CPP_REFUSAL = {"error": {"message": "response_format.type: Input should be 'text' or 'json_object'",
                               "type": "invalid_request_error"}}


def json_mode_only(responder: Responder) -> Responder:
    """A server that refuses the json_schema response format, like llama-cpp-python's."""

    def respond(request: StubRequest) -> Reply:
        if request.response_format_type == "json_schema":
            return Reply(status=400, error_body=LLAMA_CPP_REFUSAL)
        return responder(request)

    return respond


def valid(title: str) -> dict[str, Any]:
    return valid_answer(title, request_message(topic=TOPIC, today=dt.date.today().isoformat()))


Check = Callable[[MarketResearchResult], None]


def market_is(path: str, expected: Any, note: str | None = None) -> Check:
    def check(result: MarketResearchResult) -> None:
        value: Any = result.market.result
        for key in path.split("."):
            value = getattr(value, key)
        assert value == expected
        assert result.market.result.notes == ([note] if note else [])
    return check


def growth_reversed(result: MarketResearchResult) -> None:
    growth, given = result.market.result.growth, valid("MarketData")["growth"]
    assert (growth.start_year, growth.end_year) == (given["start_year"], given["end_year"])
    assert result.market.result.notes == [f"Growth period was given backwards; read as {growth.period}."]


def growth_equal(result: MarketResearchResult) -> None:
    given = valid("MarketData")["growth"]
    growth = result.market.result.growth
    assert growth.period == "" and growth.cagr_percent == given["cagr_percent"]
    year = given["start_year"]
    assert result.market.result.notes == [f"Growth period was unclear ({year}–{year}); the rate is shown without it."]


def market_as_given(result: MarketResearchResult) -> None:
    assert result.market.result.model_dump(mode="json", exclude={"notes", "sources", "figures"}) == valid("MarketData")
    assert result.market.result.notes == []


def repaired_growth_only(result: MarketResearchResult, requests: list[StubRequest]) -> None:
    market = [r for r in requests if agent_of(r) == "market"]
    assert len(market) == 2 and list(market[1].schema["properties"]) == ["growth"], "only what was missing"
    assert result.market.result.growth.cagr_percent == valid("MarketData")["growth"]["cagr_percent"]
    assert result.market.attempts == 2


def competitor_shares(expected: Callable[[list[float | None]], bool], note: str | None = None) -> Check:
    def check(result: MarketResearchResult) -> None:
        data = result.competitor.result
        assert expected([c.market_share_percent for c in data.competitors])
        assert data.notes == ([note] if note else [])
    return check


def duplicate_merged(result: MarketResearchResult) -> None:
    data, given = result.competitor.result, valid("CompetitorReport")["competitors"]
    assert [c.name for c in data.competitors] == [c["name"] for c in given]
    assert data.notes == [f"Competitor “{given[0]['name']}” was listed twice; the entries were merged."]


def competitors_as_given(result: MarketResearchResult) -> None:
    assert result.competitor.result.model_dump(mode="json", exclude={"notes", "sources", "figures"}) == valid("CompetitorReport")


def cut_off_kept(result: MarketResearchResult) -> None:
    data, given = result.competitor.result, valid("CompetitorReport")["competitors"]
    assert 1 <= len(data.competitors) < len(given) + 1
    assert data.competitors[0].name == given[0]["name"]
    assert data.notes[0] == "The answer was cut off before it was complete; the parts that arrived are used."


def levels(expected: Callable[[list[str]], list[str]]) -> Check:
    def check(result: MarketResearchResult) -> None:
        given = [s["willingness_to_pay"]["level"] for s in valid("CustomerReport")["segments"]]
        assert [s.willingness_to_pay.level for s in result.customer.result.segments] == expected(given)
        assert result.customer.result.notes == []
    return check


def segment_shares_read(result: MarketResearchResult) -> None:
    given = [s["share_percent"] for s in valid("CustomerReport")["segments"]]
    assert [s.share_percent for s in result.customer.result.segments] == given


def customers_as_given(result: MarketResearchResult) -> None:
    assert result.customer.result.model_dump(mode="json", exclude={"notes", "sources", "figures"}) == valid("CustomerReport")


def line_break_kept(result: MarketResearchResult) -> None:
    trends = valid("MarketData")["key_trends"]
    assert result.market.result.key_trends == [break_line(trends[0]), *trends[1:]]
    assert result.market.result.notes == []


def no_projection(path: str, expected: Any, note: Callable[[dict[str, Any]], str]) -> Check:
    """The value at ``path`` kept as given, the one note (made from the valid answer), and no projection anywhere."""
    def check(result: MarketResearchResult) -> None:
        market_is(path, expected, note(valid("MarketData")))(result)
        data = result.market.result
        assert data.projection_end is None and data.derived_numbers() == []
        assert "Projected size" not in market_tables(data)
        assert [trace.name for trace in market_size_chart(data).data] == [f"Stated ({data.market_size.year})"]
    return check


def size_note_unknown(result: MarketResearchResult) -> None:
    given = valid("CustomerReport")["segments"]
    data = result.customer.result
    assert [s.name for s in data.segments] == [s["name"] for s in given], "no segment is dropped"
    assert [s.size_note for s in data.segments] == [None, *(s["size_note"] for s in given[1:])]
    assert data.notes == [f"Size note of “{given[0]['name']}” was empty and is shown as unknown."]
    assert f"| {given[0]['name']} |" in segment_table(data) and "| n/a |" in segment_table(data)


EXPECTED: dict[str, Check] = {
    "currency_name": market_is("market_size.currency", "USD"),
    "currency_symbol": market_is("market_size.currency", "EUR"),
    "currency_unknown": market_is("market_size.currency", "Martian credits",
                                  "Currency “Martian credits” is not a known ISO 4217 code; amounts are shown as written."),
    "scale_capitalised": market_is("market_size.scale", "billion"),
    "scale_abbreviation": market_is("market_size.scale", "billion"),
    "value_as_string": market_is("market_size.value", 1234.5),
    "value_decimal_comma": market_is("market_size.value", 12.5),
    "cagr_percent_string": market_is("growth.cagr_percent", 12.0),
    "growth_equal_years": growth_equal,
    "growth_reversed": growth_reversed,
    "as_of_year_only": market_is("as_of", "2025"),
    "extra_keys": market_as_given,
    "fenced": market_as_given,
    "omitted_nullable": competitor_shares(lambda shares: set(shares) == {None}),
    "shares_over_100": competitor_shares(lambda shares: round(sum(shares), 1) == 106.0,
                                         "Competitor shares add up to 106 %, more than the whole market; they are shown as given."),
    "duplicate_competitor": duplicate_merged,
    "preface": competitors_as_given,
    "cut_off": cut_off_kept,
    "wtp_capitalised": levels(lambda given: given),
    "wtp_synonym": levels(lambda given: ["medium"] * len(given)),
    "share_percent_string": segment_shares_read,
    "think_block": customers_as_given,
    "raw_line_break": line_break_kept,
    "growth_1000": no_projection("growth.cagr_percent", 1000.0,
                                 lambda _: "A growth rate of 1000 % a year is implausible; no projection is drawn from it."),
    "growth_in_the_past": no_projection("growth.period", "1985–2017", lambda given: (
        f"The growth period (1985–2017) ends before the year of the market size ({given['market_size']['year']}); "
        "no projection is drawn from it.")),
    "size_note_empty": size_note_unknown,
}

COMPANIES = ["Acme Robotics", "Globex"]


def no_advantages(result: CompanyBatchResult) -> None:
    for outcome in result.companies:
        profile = outcome.result
        given = valid_answer("CompanyProfile", request_message(company=company_name(outcome.key)))
        assert (profile.name, profile.industry) == (given["name"], given["industry"])
        assert profile.competitive_advantages == [] and profile.key_products == given["key_products"]
        assert profile.notes == ["No competitive advantages were given."]
    assert "**Competitive advantages**\n\n_None given._" in render_batch_markdown(result)


COMPANY_EXPECTED: dict[str, Callable[[CompanyBatchResult], None]] = {
    "no_competitive_advantages": no_advantages,
}


def run(responder: Responder, api: str = "chat_completions", **settings: Any) -> tuple[MarketResearchResult, list[StubRequest]]:
    with StubOpenAIServer(responder) as server:
        config = Settings(api_key="sk-test", base_url=server.base_url, api=api, model="stub-model", **settings)  # type: ignore[arg-type]
        result = asyncio.run(run_market_research(TOPIC, config, limits=FAST))
        return result, server.requests


@pytest.mark.parametrize("mode", ["strict", "json_mode"])
@pytest.mark.parametrize("api", ["chat_completions", "responses"])
@pytest.mark.parametrize("flaw", sorted(EXPECTED))
def test_a_near_miss_answer_is_salvaged_without_asking_again(flaw: str, api: str, mode: str) -> None:
    responder = imperfect_responder(flaw)
    result, requests = run(json_mode_only(responder) if mode == "json_mode" else responder, api)
    agent = {"MarketData": "market", "CompetitorReport": "competitor", "CustomerReport": "customer"}[FLAWS[flaw].title]
    assert result.status.value == "complete", [o.error for o in result.all_outcomes]
    answered = [r for r in requests if agent_of(r) == agent and (mode == "strict" or r.response_format_type == "json_object")]
    assert len(answered) == 1, "no repair request"
    EXPECTED[flaw](result)
    notes = getattr(result, agent).result.notes
    exported = json.loads(render_json(result))[agent]["result"]["notes"]
    assert exported == notes, "the JSON export carries the notes"
    section = next(s for s in report_sections(result) if s.agent == agent)
    assert ("**Data notes**" in section_markdown(section)) == bool(notes), "the report section shows the notes"


def run_companies(responder: Responder, api: str) -> tuple[CompanyBatchResult, list[StubRequest]]:
    with StubOpenAIServer(responder) as server:
        config = Settings(api_key="sk-test", base_url=server.base_url, api=api, model="stub-model")  # type: ignore[arg-type]
        return asyncio.run(run_company_batch(COMPANIES, config, limits=FAST)), server.requests


@pytest.mark.parametrize("mode", ["strict", "json_mode"])
@pytest.mark.parametrize("api", ["chat_completions", "responses"])
@pytest.mark.parametrize("flaw", sorted(COMPANY_EXPECTED))
def test_a_near_miss_company_profile_is_salvaged_without_asking_again(flaw: str, api: str, mode: str) -> None:
    responder = imperfect_responder(flaw)
    result, requests = run_companies(json_mode_only(responder) if mode == "json_mode" else responder, api)
    assert result.status.value == "complete", [o.error for o in result.companies]
    answered = [r for r in requests if agent_of(r) == "company" and (mode == "strict" or r.response_format_type == "json_object")]
    assert len(answered) == len(COMPANIES), "no repair request"
    COMPANY_EXPECTED[flaw](result)
    exported = json.loads(render_batch_json(result))["companies"]
    assert [c["result"]["notes"] for c in exported] == [o.result.notes for o in result.companies], "the export carries the notes"
    assert render_batch_markdown(result).count("**Data notes**") == len(COMPANIES), "each profile shows its notes"


@pytest.mark.parametrize("api", ["chat_completions", "responses"])
def test_a_missing_part_is_asked_for_alone_and_merged(api: str) -> None:
    result, requests = run(imperfect_responder("missing_required", times=1), api)
    assert result.status.value == "complete"
    repaired_growth_only(result, requests)
