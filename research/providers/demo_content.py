"""Deterministic, topic-dependent demo content for the offline demo model.

The research findings (market, competitors, customers) come from
:mod:`research.providers.demo_findings`; this module writes the report's prose from them and
answers each agent's request. Everything is pure and invented, and has no sources.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from research.agents.competitor import CompetitorReport
from research.agents.customer import CustomerReport
from research.agents.market import SCALE_FACTOR, MarketData
from research.agents.section import SectionText
from research.agents.summary import ExecutiveSummary
from research.providers import demo_phrases as phrases
from research.providers.demo_findings import _label, _num, _short, demo_competitors, demo_customers, demo_market
from research.reports.texts import DEMO_NOTICE

__all__ = ["DEMO_NOTICE", "DemoWriting", "demo_competitors", "demo_customers", "demo_market", "demo_output_for",
           "demo_report", "parse_request"]



def _money(currency: str, absolute: float) -> str:
    """An amount in currency units, written with the largest fitting scale, e.g. 'EUR 1.1 billion'."""
    for name, factor in (("trillion", 1e12), ("billion", 1e9), ("million", 1e6), ("thousand", 1e3)):
        if absolute >= factor:
            return f"{currency} {_num(absolute / factor)} {name}"
    return f"{currency} {_num(absolute)}"


def _pace(cagr: float) -> str:
    """How a yearly growth rate reads to someone deciding whether to enter."""
    if cagr < 4:
        return ("slow, mature-market growth: a newcomer would have to win most of its revenue from incumbents "
                "rather than from new demand")
    if cagr < 9:
        return ("moderate growth: new demand leaves some room for entrants, but most revenue still has to be won "
                "from incumbents")
    if cagr < 15:
        return ("fast growth: new demand alone leaves room for entrants without taking much share from incumbents")
    return ("very fast growth, typical of an early market: there is room for entrants, but a rate this high rarely "
            "holds for long, so plans should not depend on it")


def _market_reading(market: MarketData) -> str:
    """What the market figures and lists mean, in words: the pace, the market's size at the period's end,
    and what the lists below imply. It names no trend, driver or risk: the bullets below list them."""
    growth = market.growth
    cagr = growth.cagr_percent
    text = f"That is {_pace(cagr)}."
    if cagr > 0:
        doubling = math.log(2) / math.log1p(cagr / 100)  # a number of 10 or more would read as unbacked data
        text += (f" At this pace the market doubles in about {doubling:.0f} years" if round(doubling) < 10 else
                 " At this pace the market takes more than a decade to double")
        if (end := market.projection_end) is not None:
            multiple = market.projected_size(end) / market.market_size.value
            text += f", and by {end} it would be about {multiple:.1f} times its size in {market.market_size.year}"
        text += "."
    drivers, risks = len(market.drivers), len(market.risks)
    if drivers and risks:
        text += (" The drivers below explain where that demand comes from; the risks below are what could slow it, "
                 "so an entry plan should test those first.")
    elif drivers:
        text += " No risks are given, which is unlikely for a real market: treat this outlook as optimistic."
    elif risks:
        text += " No drivers are given, so nothing in the research explains the growth: treat the rate with caution."
    if len(market.key_trends) > 1:
        text += " The trends below describe how the market is changing, and so what a new offer has to fit."
    return text


def _joined(items: list[str]) -> str:
    """The items of a list that may be empty, joined by semicolons, or "none given"."""
    return "; ".join(items) or "none given"


def _load(model: type[BaseModel], value: Any) -> Any:
    try:
        return value if isinstance(value, model) else model.model_validate(value)
    except ValidationError:
        return None


@dataclass(frozen=True)
class DemoWriting:
    """The demo report's prose: the summary, each data section's text, recommendations and questions."""

    summary: str
    sections: dict[str, str]
    recommendations: list[str]
    questions: list[str]


def demo_report(topic: str, findings: Mapping[str, Any], missing: Sequence[Mapping[str, Any]]) -> DemoWriting:
    """The report's prose, quoting the given findings and flagging each missing input.

    ``findings`` maps "market", "competitor" and "customer" to the agents' outputs (models or their
    JSON dicts). For every input in ``missing`` (or absent from ``findings``) the matching section
    says the data is unavailable and why, and nothing is invented in its place.
    """
    label = _label(topic)
    reasons = {str(m.get("input")): _short(m.get("reason") or "no reason given", 300) for m in missing}
    kinds = {"market": MarketData, "competitor": CompetitorReport, "customer": CustomerReport}
    loaded: dict[str, Any] = {}
    for key, kind in kinds.items():
        value = None if key in reasons else _load(kind, findings.get(key))
        if value is None and key not in reasons:
            reasons[key] = "the findings could not be read" if findings.get(key) else "no findings were provided"
        loaded[key] = value
    market: MarketData | None = loaded["market"]
    comp: CompetitorReport | None = loaded["competitor"]
    cust: CustomerReport | None = loaded["customer"]
    summary = [f"This demo report on {label} summarises the estimated market, competitors and customers."]
    recs: list[str] = []
    questions: list[str] = []
    sections: dict[str, str] = {}

    if market is not None:
        size, growth = market.market_size, market.growth
        size_text = _money(size.currency, size.absolute)
        if (end := market.projection_end) is not None:
            projected = _money(size.currency, market.projected_size(end) * SCALE_FACTOR[size.scale])
            outlook = (f" from {growth.start_year} to {end}; at that pace the market would reach "
                       f"roughly {projected} by {end}")
        elif growth.period:
            outlook = f" from {growth.start_year} to {growth.end_year}"
        else:
            outlook = " (the period is not stated)"
        summary.append(f"The market is estimated at {size_text} in {size.year}, growing at about "
                       f"{_num(growth.cagr_percent)} % a year.")
        sections["market"] = (
            f"For {label}, the market is estimated at {size_text} in {size.year}. Growth is put at a CAGR of "
            f"{_num(growth.cagr_percent)} %{outlook}. {_market_reading(market)}")
        if market.is_estimate:
            sections["market"] += " These figures have no sources and are estimates."
        recs.append(f"Size the opportunity against the {_num(growth.cagr_percent)} % growth rate before committing")
        questions.append(f"Which factors could push growth above or below {_num(growth.cagr_percent)} % a year?")

    if comp is not None:
        ranked = sorted(comp.competitors, key=lambda c: c.market_share_percent or 0.0, reverse=True)
        top = ranked[0]
        shared = [c for c in ranked if c.market_share_percent is not None]
        combined = sum(c.market_share_percent or 0.0 for c in shared)
        listing = ", ".join(f"{c.name} ({_num(c.market_share_percent)} %)" if c.market_share_percent is not None
                            else c.name for c in ranked)
        top_share = f" with an estimated {_num(top.market_share_percent)} % share" if top.market_share_percent else ""
        summary.append(f"{top.name} leads the competitive field{top_share}.")
        spread = "the field is concentrated" if combined >= 75 else "a sizeable share remains with smaller players"
        sections["competitor"] = (
            f"{len(ranked)} competitors were profiled: {listing}. {top.name} leads; its positioning: "
            f"{top.positioning.rstrip('.')}. Strengths: {_joined(top.strengths)}. Weaknesses: "
            f"{_joined(top.weaknesses)}. Together the profiled players hold about {_num(combined)} % "
            f"of the market, so {spread}.")
        if comp.is_estimate:
            sections["competitor"] += " Shares have no sources and are estimates."
        recs.append(_short(f"Differentiate clearly against {top.name}, the market leader", 400))
        questions.append(_short(f"How is {top.name} likely to respond to a new entrant?", 400))

    if cust is not None:
        biggest = max(cust.segments, key=lambda s: s.share_percent or 0.0)
        premium = [s.name for s in cust.segments if s.willingness_to_pay.level == "high"]
        parts = [f"{s.name} ({_num(s.share_percent)} %, {s.willingness_to_pay.level} willingness to pay)"
                 if s.share_percent is not None else f"{s.name} ({s.willingness_to_pay.level} willingness to pay)"
                 for s in cust.segments]
        big_share = f" at about {_num(biggest.share_percent)} % of customers" if biggest.share_percent else ""
        summary.append(f"The largest customer segment is {biggest.name}{big_share}.")
        pains = " and ".join(biggest.pain_points).lower()
        sections["customer"] = (
            f"The research describes {len(cust.segments)} segments: {'; '.join(parts)}. "
            + (f"The largest, {biggest.name}, mainly struggles with {pains}." if pains
               else f"No pain points are given for the largest, {biggest.name}."))
        if premium:
            sections["customer"] += f" The highest willingness to pay is found among {', '.join(premium)}."
            recs.append(_short(f"Lead with a premium offer for {premium[0]}", 400))
        if cust.is_estimate:
            sections["customer"] += " Segment shares have no sources and are estimates."
        recs.append(_short(f"Build the core offer around the needs of {biggest.name}", 400))
        questions.append(_short(f"What would make {biggest.name} switch from their current provider?", 400))

    for key, (what, nothing) in phrases.UNAVAILABLE.items():
        if loaded[key] is None:
            summary.append(f"{what} data is unavailable ({reasons[key]}).")
            sections[key] = f"{what} data is unavailable: {reasons[key]}. {nothing}"
            recs.append(_short(f"Re-run the {key} analysis, which was unavailable ({reasons[key]})", 400))
    if any(value is not None for value in loaded.values()):
        summary.append("All figures are invented for the demo.")
    recs.append("Validate these estimates with primary research before making decisions")
    questions.append(_short(f"Which regulations will shape {label} over the next three years?", 400))
    text = {key: _short(value, 6000) for key, value in sections.items()}
    return DemoWriting(_short(" ".join(summary), 6000), text, recs[:8], questions[:6])


def parse_request(user_message: str) -> dict[str, Any]:
    """The JSON object in a request message (text after it, e.g. a repair note, is ignored)."""
    try:
        value, _ = json.JSONDecoder().raw_decode(user_message[user_message.index("{"):])
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def demo_changes(comparison: Mapping[str, Any]) -> str:
    """The demo's paragraph on what changed between two runs, from the comparison's JSON alone."""
    size = comparison.get("market_size") if isinstance(comparison.get("market_size"), dict) else {}
    parts = []
    if size.get("before") and size.get("before") == size.get("after"):
        parts.append(f"The market size estimate is unchanged at {size['before']}.")
    elif size.get("before") and size.get("after"):
        change = size.get("change_percent")
        moved = f", a change of {change:+.1f} %" if isinstance(change, int | float) else ""
        parts.append(f"The market size estimate moved from {size['before']} to {size['after']}{moved}.")
    competitors = comparison.get("competitors") if isinstance(comparison.get("competitors"), dict) else {}
    for key, verb in (("entered", "appear among the competitors for the first time"), ("left", "are no longer named")):
        names = [str(name) for name in competitors.get(key) or []]
        if names:
            parts.append(f"{', '.join(names[:3])} {verb}.")
    if not parts:
        parts.append("Nothing material moved between the two runs.")
    return " ".join(parts) + " Both runs are demo data: the change is illustrative, not a market movement."


def demo_output_for(schema_title: str, user_message: str) -> str:
    """JSON text of the demo output for the agent whose output schema is titled ``schema_title``."""
    request = parse_request(user_message)
    topic = str(request.get("topic") or "")
    try:
        today = dt.date.fromisoformat(str(request.get("today")))
    except ValueError:
        today = dt.date.today()
    if schema_title == "MarketData":
        result: BaseModel = demo_market(topic, today)
    elif schema_title == "CompetitorReport":
        result = demo_competitors(topic, today)
    elif schema_title == "CustomerReport":
        result = demo_customers(topic, today)
    elif schema_title in ("CompanyProfile", "CompanyComparison"):
        from research.providers.demo_companies import demo_company, demo_comparison

        profiles, gaps = request.get("profiles"), request.get("missing_companies")
        result = (demo_company(str(request.get("company") or ""), today) if schema_title == "CompanyProfile" else
                  demo_comparison(profiles if isinstance(profiles, dict) else {},
                                  [g for g in gaps if isinstance(g, dict)] if isinstance(gaps, list) else []))
    elif schema_title == "SectionText" and str(request.get("section") or "").startswith("What changed"):
        findings = request.get("findings")
        result = SectionText(prose=demo_changes(findings if isinstance(findings, dict) else {}))
    elif schema_title in ("ExecutiveSummary", "SectionText"):
        findings, missing = request.get("findings"), request.get("missing_inputs")
        findings = findings if isinstance(findings, dict) else {}
        missing = [m for m in missing if isinstance(m, dict)] if isinstance(missing, list) else []
        writing = demo_report(topic, findings, missing)
        if schema_title == "ExecutiveSummary":
            result = ExecutiveSummary(executive_summary=writing.summary, strategic_recommendations=writing.recommendations,
                                      follow_up_questions=writing.questions)
        else:  # a section is written from one agent's findings
            agent = next(iter([*findings, *(str(m.get("input")) for m in missing)]), "market")
            result = SectionText(prose=writing.sections.get(agent, writing.summary))
    else:
        raise ValueError(f"the demo model has no content for output schema {schema_title!r}")
    if request.get("evidence"):
        _cite_demo_evidence(result)
    return result.model_dump_json(exclude={"notes", "sources", "figures"})  # those are the app's, never the model's


def _cite_demo_evidence(result: BaseModel) -> None:
    """Cite the demo passages (research.providers.demo_evidence) that state each demo figure."""
    if isinstance(result, MarketData):
        result.market_size.cites, result.growth.cites = ["E1"], ["E2"]
    for item in [*getattr(result, "competitors", []), *getattr(result, "segments", [])]:
        item.cites = ["E1"]
    if getattr(result, "revenue_estimate_usd_millions", None) is not None:
        result.cites = ["E1"]  # type: ignore[attr-defined]
