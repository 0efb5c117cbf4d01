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
from tests.support.openai_server import StubOpenAIServer
from tests.support.page_server import INJECTION, PageServer
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
    assert grounding.startswith(f"2 of {total} figures verified against 1 source; {len(customer.figures)} cited but not "
                                f"found in their source; {len(competitor.figures)} estimates.")
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
