"""Grounded research end to end: search, fetched pages, and every cited figure checked in code.

A SearXNG-compatible search server and a page server (HTML, PDF, a prompt injection, a 404)
run on 127.0.0.1 beside the OpenAI-compatible test server. One model cites the evidence it
was given, one cites an id and a source it was never given, one cites a passage that does
not hold its number: verified, dropped and not found, each checked in the report and JSON.
"""

from __future__ import annotations

import json
import re

from stub import Plan

from research.agents.common import FigureStatus
from research.config import SearchChoice, Settings
from research.core.limits import Limits
from research.reports.market import render_json, render_markdown
from research.workflows.market import run_market_research
from tests.support.grounded import evidence_of, grounded_responder
from tests.support.openai_server import Reply, StubOpenAIServer
from tests.support.page_server import INJECTION, WIDGET_PAGES, PageServer
from tests.support.responders import schema_title
from tests.support.search_server import SearchServer, result

FAST = Limits(attempt_timeout=20, max_retries=0)


def inventing_competitor(answer: dict) -> None:
    """The competitor agent cites an id it was never given and names a source it never read."""
    for competitor in answer["competitors"]:
        competitor["cites"] = ["E99"]
    answer["sources"] = [{"title": "Totally real study", "url": "https://invented.example/study"}]


grounded_model = grounded_responder(Plan(), inventing_competitor)


async def test_figures_are_verified_dropped_or_not_found_against_fetched_sources() -> None:
    with PageServer() as pages, StubOpenAIServer(grounded_model) as model:
        hits = [result("Heat pump market 2024", pages.url("/article"), "market size", "2025-01-15"),
                result("Heat pump report (PDF)", pages.url("/report.pdf")),
                result("Helpful page", pages.url("/injection")), result("Gone", pages.url("/gone"))]
        with SearchServer(default=hits) as search:
            settings = Settings(api_key="sk-test", base_url=model.base_url, api="chat_completions", model="stub-model",
                                search=SearchChoice.SEARXNG, searxng_url=search.base_url, fetch_private=True)
            result_ = await run_market_research("heat pumps in Europe", settings, limits=FAST)
            queries = search.queries
        fetched = pages.paths
        requests = model.requests

    assert result_.status.value == "complete", [o.error for o in result_.all_outcomes]
    assert len(queries) == 6 and len(set(queries)) == 6, "two queries per agent, all different"
    assert sorted(fetched) == ["/article", "/gone", "/injection", "/report.pdf"], "each page read once for all agents"

    market, competitor, customer = (o.result for o in result_.research)
    assert [(f.label, f.status) for f in market.figures] == [("market size", FigureStatus.VERIFIED),
                                                            ("growth rate", FigureStatus.VERIFIED)]
    assert [s.url for s in market.sources] == [pages.url("/article")] and market.sources[0].retrieved_at
    assert {f.status for f in competitor.figures} == {FigureStatus.ESTIMATE} and competitor.sources == []
    assert "Citations to E99 were not among the evidence given and were dropped." in competitor.notes
    assert "1 source(s) the model named were not among the pages read and are not shown." in competitor.notes
    assert {f.status for f in customer.figures} == {FigureStatus.NOT_FOUND}
    assert any("could not be read: not found (HTTP 404)" in note for note in market.notes)

    report = render_markdown(result_)
    assert "| Market size (2024) | 23.70 billion EUR (✓ verified, E" in report
    assert f"](<{pages.url('/article')}>) — retrieved " in report, "sources are links with their retrieval date"
    assert "⚠ cited, not found in source" in report and "https://invented.example" not in report
    grounding = re.search(r"\*\*Grounding:\*\* (.*)", report).group(1)
    total = len(market.figures) + len(competitor.figures) + len(customer.figures)
    assert grounding.startswith(f"2 of {total} figures verified against 1 source; {len(customer.figures)} cited, not found "
                                f"in source; {len(competitor.figures)} estimates.")
    exported = json.loads(render_json(result_))
    assert [f["status"] for f in exported["market"]["result"]["figures"]] == ["verified", "verified"]
    assert exported["evidence"]["market"]["result"]["passages"], "the evidence is kept with the run"

    assert all(INJECTION not in r.system for r in requests), "fetched pages never reach the instructions"
    for request in requests:  # where a page's text reaches a model, it is a value inside the evidence data
        if INJECTION in request.user_text:
            assert any(INJECTION in passage["text"] for passage in evidence_of(request))


async def test_without_web_search_the_report_says_so_and_nothing_is_searched() -> None:
    with StubOpenAIServer(Plan()) as model:
        settings = Settings(api_key="sk-test", base_url=model.base_url, api="chat_completions", model="stub-model")
        result_ = await run_market_research("heat pumps in Europe", settings, limits=FAST)
    report = render_markdown(result_)
    assert "No web search is configured" in report
    assert all(f.status is FigureStatus.ESTIMATE for o in result_.research for f in o.result.figures)


def _all_ids(request) -> list[str]:
    return [p["id"] for p in evidence_of(request)]


def careless_model(request) -> Reply:
    """Cites every passage for every figure: a size off by a million, the vendors' shares given to invented
    segments, and a summary that gives the leader the runner-up's share."""
    reply, title = Plan()(request), schema_title(request)
    answer = json.loads(reply.content)
    if title == "MarketData":
        answer["market_size"] = {"value": 48, "currency": "USD", "scale": "thousand", "year": 2025,
                                 "cites": _all_ids(request)}
        answer["growth"] = {"cagr_percent": 12.5, "start_year": 2026, "end_year": 2033, "cites": _all_ids(request),
                            "quote": "It is expected to expand at a CAGR of 12.5% from 2026 to 2033"}
    elif title in ("CompetitorReport", "CustomerReport"):
        names = ([f"Competitor Co {i}" for i in range(1, 5)] if title == "CompetitorReport"
                 else ["Large retailers", "Online shops", "Makers", "Schools"])
        key = "competitors" if title == "CompetitorReport" else "segments"
        template = answer[key][0]
        answer[key] = [{**template, "name": name, "market_share_percent": share, "share_percent": share,
                        "cites": _all_ids(request)} for name, share in zip(names, (31, 22, 14, 9))]
    elif title == "ExecutiveSummary":
        answer["executive_summary"] = "Competitor Co 1 leads the widget market with 22% of it."
    return Reply(content=json.dumps(answer))


async def test_a_careless_model_gets_nothing_wrongly_verified_over_http() -> None:
    with PageServer() as pages, StubOpenAIServer(careless_model) as model:
        hits = [result(WIDGET_PAGES[path][0], pages.url(path), "widgets") for path in WIDGET_PAGES]
        with SearchServer(default=hits) as search:
            settings = Settings(api_key="sk-test", base_url=model.base_url, api="chat_completions", model="stub-model",
                                search=SearchChoice.SEARXNG, searxng_url=search.base_url, fetch_private=True)
            result_ = await run_market_research("widgets", settings, limits=FAST)

    market, competitor, customer = (o.result for o in result_.research)
    assert [(f.label, f.status) for f in market.figures] == [("market size", FigureStatus.DIFFERS),
                                                            ("growth rate", FigureStatus.VERIFIED)]
    assert [f.status for f in competitor.figures] == [FigureStatus.VERIFIED] * 4
    assert FigureStatus.VERIFIED not in {f.status for f in customer.figures}, "vendors' shares are not segments' shares"

    report = render_markdown(result_)
    assert re.search(r"model: 48 thousand USD \(2025\) · E\d: USD 48\.0 billion \(2025\) — “[^”]*The global widget "
                     r"market was valued at USD 48\.0 billion in 2025\.”", report)
    assert "- **Growth rate** ✓ — E" in report and "“It is expected to expand at a CAGR of 12.5% from 2026 to 2033”" in report
    assert re.search(r"- \*\*Share of Competitor Co 2\*\* ✓ — E\d \(Widget vendors ranked\): “Competitor Co 1 \(31% "
                     r"share\), Competitor Co 2 \(22%\)", report)
    grounding = re.search(r"\*\*Grounding:\*\* (.*)", report).group(1)
    assert grounding.startswith("5 of 10 figures verified against 3 sources; 1 source says otherwise; "
                                "4 cited, not found in source; 0 estimates."), grounding
    assert "Data check: the text gives share of Competitor Co 1 as 22%, but the research data says 31 %." in report
