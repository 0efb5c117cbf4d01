"""The grounding rules, one case each (benchmarks/faithfulness_cases.py), and what the report makes of them.

A figure is *verified* only where one cited sentence states its value, scale, unit, subject and year;
every other outcome has a status of its own, the sentence behind each figure is shown, sources that
disagree are shown, prose that contradicts the data gets a note, and the demo never says verified.
"""

from __future__ import annotations

import datetime as dt

import pytest

from benchmarks.faithfulness import check_case
from benchmarks.faithfulness_cases import CASES, KNOWN_MISSES, SIZE_2025, SURVEY, VENDORS
from research.agents.common import FigureStatus
from research.agents.competitor import CompetitorReport
from research.agents.customer import CustomerReport
from research.agents.market import MarketData
from research.inputs import MarketRequest
from research.providers.demo_content import demo_competitors, demo_market
from research.providers.demo_evidence import demo_evidence
from research.reports.market import competitor_table, market_tables
from research.reports.sections import grounding_line
from research.retrieval.grounding import contradictions, ground
from research.retrieval.types import Evidence, Passage


@pytest.mark.parametrize("case", [pytest.param(c, id=c.rule, marks=[pytest.mark.xfail(strict=True, reason="known miss")]
                                               if c.rule in KNOWN_MISSES else []) for c in CASES])
def test_each_rule_gives_the_expected_status(case) -> None:
    check = check_case(case)
    assert (check.status, len(check.disagreeing)) == (case.expected, case.disagree)


def test_no_case_is_wrongly_verified() -> None:
    wrong = [c.rule for c in CASES if check_case(c).status is FigureStatus.VERIFIED and c.expected is not FigureStatus.VERIFIED]
    assert wrong == []


def _evidence(*texts: str, published: str | None = None) -> Evidence:
    return Evidence(agent="market", passages=[
        Passage(id=f"E{n}", url=f"https://example.com/{n}", title=f"Report {n}", text=text, retrieved_at=0,
                published=published) for n, text in enumerate(texts, 1)])


def _market(value: float, scale: str, cites: list[str], quote: str | None = None) -> MarketData:
    return MarketData.model_validate({
        "market_size": {"value": value, "currency": "USD", "scale": scale, "year": 2025, "cites": cites, "quote": quote},
        "growth": {"cagr_percent": 12.5, "start_year": 2025, "end_year": 2030, "cites": cites},
        "key_trends": ["t"], "drivers": ["d"], "risks": ["r"]})


def test_a_wrong_scale_shows_both_values_and_the_sentence() -> None:
    data = _market(48, "thousand", ["E1"])
    ground(data, _evidence(SIZE_2025 + " Analysts expect a CAGR of 12.5% from 2025 to 2030 for the market."))
    assert [f.status for f in data.figures] == [FigureStatus.DIFFERS, FigureStatus.VERIFIED]
    tables = market_tables(data)
    assert "48.00 thousand USD (⚠ source says otherwise, E1)" in tables
    assert "model: 48 thousand USD (2025) · E1: USD 48.0 billion (2025) — “The global widget market was valued" in tables
    assert "- **Growth rate** ✓ — E1 (Report 1): “Analysts expect a CAGR of 12.5% from 2025 to 2030" in tables


def test_disagreeing_sources_are_shown_with_their_range() -> None:
    data = _market(48, "billion", ["E1"])
    ground(data, _evidence(SIZE_2025, "Another study puts the widget market at USD 52 billion in 2025."))
    size = data.check_of("market size")
    assert size.status is FigureStatus.VERIFIED and [s.cite for s in size.disagreeing] == ["E1", "E2"]
    tables = market_tables(data)
    assert "(✓ verified, E1; sources disagree)" in tables
    assert "sources disagree: E1 says USD 48.0 billion (2025); E2 says USD 52 billion (2025) " \
           "(range USD 48.0 billion – USD 52 billion)" in tables
    assert "sources disagree on 1" in grounding_line([data], "")


def test_a_verbatim_quote_is_shown_and_an_invented_one_is_not() -> None:
    passage = "Widgets are everywhere. The global widget market was valued at USD 48.0 billion in 2025."
    quoted = _market(48, "billion", ["E1"], quote="The  global widget market was valued at USD 48.0 billion")
    ground(quoted, _evidence(passage, published="2025-05-01"))
    assert quoted.check_of("market size").statement.sentence == "The global widget market was valued at USD 48.0 billion"
    assert quoted.notes == []
    invented = _market(48, "billion", ["E1"], quote="The widget market was worth USD 48 billion in 2025.")
    ground(invented, _evidence(passage))
    check = invented.check_of("market size")
    assert check.status is FigureStatus.VERIFIED and check.statement.sentence == passage.split(". ")[1]
    assert any("was not word for word in its source" in note for note in invented.notes)


def test_vendor_shares_verified_and_invented_segments_not() -> None:
    competitors = CompetitorReport.model_validate({"competitors": [
        {"name": f"Competitor Co {i}", "market_share_percent": share, "positioning": "p", "strengths": ["s"],
         "weaknesses": ["w"], "cites": ["E1", "E2"]} for i, share in ((1, 31), (2, 22), (3, 14), (4, 9))]})
    ground(competitors, _evidence(VENDORS, SURVEY))
    assert {f.status for f in competitors.figures} == {FigureStatus.VERIFIED}
    assert "“Leading vendors: Competitor Co 1 (31% share)" in competitor_table(competitors)
    segments = CustomerReport.model_validate({"segments": [
        {"name": name, "share_percent": share, "size_note": "n", "pain_points": ["p"], "buying_patterns": ["b"],
         "willingness_to_pay": {"level": "low", "note": "n"}, "cites": ["E1", "E2"]}
        for name, share in (("Large retailers", 31), ("Online shops", 22), ("Makers", 14), ("Schools", 9))]})
    ground(segments, _evidence(VENDORS, SURVEY))
    assert FigureStatus.VERIFIED not in {f.status for f in segments.figures}


def test_prose_that_contradicts_the_data_is_named() -> None:
    competitors = CompetitorReport.model_validate({"competitors": [
        {"name": name, "market_share_percent": share, "positioning": "p", "strengths": ["s"], "weaknesses": ["w"]}
        for name, share in (("Acme", 31), ("Beta", 22))]})
    market = _market(48, "billion", [])
    prose = ("Acme leads with 22% of the market, ahead of Beta (22%). The market was worth USD 48 million in 2025 "
             "and may reach USD 86.5 billion by 2030.")
    assert contradictions(prose, [competitors, market]) == [
        "the text gives share of Acme as 22%, but the research data says 31 %",
        "the text gives market size as USD 48 million, but the research data says 48 billion USD (2025)"]
    assert contradictions("Acme leads with 31% of the market; it was worth USD 48 billion in 2025.",
                          [competitors, market]) == []


def test_the_demo_never_says_verified() -> None:
    today = dt.date(2026, 12, 4)
    market, competitors = demo_market("widgets", today), demo_competitors("widgets", today)
    ground(market, demo_evidence("market", "widgets", today))
    ground(competitors, demo_evidence("competitor", "widgets", today))
    statuses = {f.status for f in market.figures + competitors.figures}
    assert statuses == {FigureStatus.ILLUSTRATIVE}
    line = grounding_line([market, competitors], "Demo evidence: invented for the offline demo, not web sources.")
    assert line.startswith(f"{len(market.figures + competitors.figures)} of {len(market.figures + competitors.figures)}"
                           " figures are illustrative: the demo's sources are invented, so no figure is verified")
    assert "✓" not in market_tables(market) + competitor_table(competitors)
    assert "verified" not in market_tables(market) + competitor_table(competitors)


async def test_a_saved_report_is_checked_again_by_todays_rules(tmp_path) -> None:
    """A report saved when "verified" meant less (or a demo report) is shown with today's statuses."""
    from research.config import Settings
    from research.jobs.snapshots import snapshot_from_store
    from research.store import ReportStore, new_job_id
    from research.workflows.market import run_market_research

    demo = await run_market_research("widgets", Settings(demo=True, data_dir=tmp_path))
    careless = demo.model_copy(deep=True)
    careless.demo = False
    careless.market.result.market_size.value, careless.market.result.market_size.scale = 48, "thousand"
    careless.evidence["market"].result = _evidence(SIZE_2025, published="2025-01-01")
    careless.market.result.market_size.cites = ["E1"]
    store = ReportStore(tmp_path)
    shown = {}
    for name, result in (("demo", demo), ("careless", careless)):
        for figure in result.market.result.figures:  # as an earlier release saved them
            figure.status = FigureStatus.VERIFIED
        job_id = new_job_id()
        store.record_started(job_id, request=MarketRequest(topic="widgets"), provider="p", model="m", demo=result.demo,
                             created_at=1.0)
        store.record_finished(job_id, status="complete", finished_at=2.0, result_json=result.model_dump_json())
        shown[name] = snapshot_from_store(store, job_id).result.market.result
    store.close()
    assert {f.status for f in shown["demo"].figures} == {FigureStatus.ILLUSTRATIVE}
    assert shown["careless"].status_of("market size") is FigureStatus.DIFFERS


def test_blank_citations_are_ignored_not_reported_as_unknown_ids() -> None:
    data = _market(48, "billion", ["", " E1 ", "  "])
    ground(data, _evidence(SIZE_2025))
    assert data.check_of("market size").cites == ["E1"] and data.status_of("market size") is FigureStatus.VERIFIED
    assert not any("Citations to" in note for note in data.notes)


def test_citations_that_are_no_evidence_ids_are_counted_not_quoted() -> None:
    data = _market(48, "billion", ["E1", "E99", "https://made.up/x", "None"])
    ground(data, _evidence(SIZE_2025))
    assert "Citations to E99 were not among the evidence given and were dropped." in data.notes
    assert "2 citations that were not an evidence id (E1, E2, …) were dropped." in data.notes
    assert not any("made.up" in note or "None" in note for note in data.notes)
    without = _market(48, "billion", ["E1", "junk"])
    ground(without, None)
    assert without.notes == [] and without.status_of("market size") is FigureStatus.ESTIMATE
