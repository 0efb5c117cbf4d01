"""Typed step keys: each kind round-trips through its stored text, and each step is named in one place."""

from __future__ import annotations

import copy
import json
import pickle

import pytest

from research.agents import competitor, customer, market
from research.core.steps import StepOutcome
from research.inputs import CompanyRequest, MarketRequest
from research.workflows import COMPANIES, MARKET
from research.workflows.keys import RESEARCH_AGENTS, StepKey, StepKind, research_agent, step_label

KEYS = [
    (StepKey.evidence("market"), "evidence:market", StepKind.EVIDENCE, "market", "Market analysis: evidence"),
    (StepKey.agent("competitor"), "agent:competitor", StepKind.AGENT, "competitor", "Competitor analysis"),
    (StepKey.section("customer"), "section:customer", StepKind.SECTION, "customer", "Customer Segments"),
    (StepKey.SUMMARY, "report:summary", StepKind.SUMMARY, "", "Executive summary"),
    (StepKey.company("Stripe"), "company:Stripe", StepKind.COMPANY, "Stripe", "Stripe"),
    (StepKey.company_evidence("Stripe"), "evidence:company:Stripe", StepKind.COMPANY_EVIDENCE, "Stripe",
     "Stripe: evidence"),
    (StepKey.COMPARISON, "report:comparison", StepKind.COMPARISON, "", "Comparison"),
    (StepKey.company("a:b"), "company:a:b", StepKind.COMPANY, "a:b", "a:b"),
    (StepKey.company_evidence("a:b"), "evidence:company:a:b", StepKind.COMPANY_EVIDENCE, "a:b", "a:b: evidence"),
    (StepKey.company("market"), "company:market", StepKind.COMPANY, "market", "market"),
    (StepKey.company("evidence:company:x"), "company:evidence:company:x", StepKind.COMPANY, "evidence:company:x",
     "evidence:company:x"),
]


@pytest.mark.parametrize(("key", "text", "kind", "subject", "label"), KEYS, ids=[k[1] for k in KEYS])
def test_every_kind_round_trips_through_its_stored_text(key: StepKey, text: str, kind: StepKind, subject: str,
                                                       label: str) -> None:
    assert isinstance(key, str) and key == text and str(key) == text and type(str(key)) is str
    assert (key.kind, key.subject, key.label) == (kind, subject, label)
    parsed = StepKey.parse(text)
    assert type(parsed) is StepKey and parsed == key and (parsed.kind, parsed.subject) == (kind, subject)
    assert StepKey(kind, subject) == key
    assert step_label(text) == label and step_label(key) == label


@pytest.mark.parametrize("key", [k[0] for k in KEYS], ids=[k[1] for k in KEYS])
def test_a_key_equals_and_hashes_like_its_text(key: StepKey) -> None:
    text = str(key)
    assert hash(key) == hash(text) and {text: 1}[key] == 1 and {key: 1}[text] == 1 and key in {text}
    assert json.dumps({key: key}) == json.dumps({text: text}), "saved JSON is unchanged"
    assert f"{key}" == text and f"<{key}>" == f"<{text}>"
    for copied in (pickle.loads(pickle.dumps(key)), copy.copy(key), copy.deepcopy(key)):
        assert type(copied) is StepKey and copied == key and (copied.kind, copied.subject) == (key.kind, key.subject)


def test_an_outcome_stores_its_key_as_plain_text() -> None:
    outcome = StepOutcome(key=StepKey.company("a:b"))
    assert type(outcome.key) is str and outcome.key == "company:a:b"
    again = StepOutcome.model_validate_json(outcome.model_dump_json())
    assert StepKey.parse(again.key).subject == "a:b"


def test_parse_returns_a_typed_key_as_it_is() -> None:
    key = StepKey.agent("market")
    assert StepKey.parse(key) is key


@pytest.mark.parametrize("text", ["", "agent", "agent:", "agent:nobody", "evidence:company", "evidence:company:",
                                  "section:summary", "company:", "report:", "report:everything", "report:summary:x",
                                  "Agent:market", " agent:market", "market"])
def test_unknown_text_raises(text: str) -> None:
    with pytest.raises(ValueError):
        StepKey.parse(text)
    assert step_label(text) == text, "what is no step's key is shown as it is"


def test_bad_keys_cannot_be_built() -> None:
    for build in (lambda: StepKey.agent("nobody"), lambda: StepKey.section("company"), lambda: StepKey.company(""),
                  lambda: StepKey(StepKind.SUMMARY, "x"), lambda: StepKey("agent:market")):  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            build()
    with pytest.raises(AttributeError):
        StepKey.SUMMARY.subject = "x"  # type: ignore[misc]


def test_one_table_names_the_research_agents() -> None:
    assert [a.spec for a in RESEARCH_AGENTS] == [market.SPEC, competitor.SPEC, customer.SPEC]
    assert [(a.key, a.title, a.section_title, a.card_title) for a in RESEARCH_AGENTS] == [
        ("market", "Market analysis", "Market Overview", "Market"),
        ("competitor", "Competitor analysis", "Competitive Landscape", "Competitors"),
        ("customer", "Customer analysis", "Customer Segments", "Customers")]
    assert StepKey.section("competitor").research_agent is research_agent("competitor")
    with pytest.raises(ValueError):
        _ = StepKey.company("Stripe").research_agent


def test_workflows_build_their_steps_with_typed_keys_and_name_them_in_one_place() -> None:
    market_keys = MARKET.step_keys(MarketRequest(topic="plant-based dairy"))
    assert market_keys == ["evidence:market", "evidence:competitor", "evidence:customer", "agent:market",
                           "agent:competitor", "agent:customer", "section:market", "section:competitor",
                           "section:customer", "report:summary"]
    assert [MARKET.step_label(str(k)) for k in market_keys] == [
        "Market analysis: evidence", "Competitor analysis: evidence", "Customer analysis: evidence", "Market analysis",
        "Competitor analysis", "Customer analysis", "Market Overview", "Competitive Landscape", "Customer Segments",
        "Executive summary"]
    company_keys = COMPANIES.step_keys(CompanyRequest.parse(["Stripe", "a:b"]))
    assert company_keys == ["evidence:company:Stripe", "evidence:company:a:b", "company:Stripe", "company:a:b",
                            "report:comparison"]
    assert [COMPANIES.step_label(str(k)) for k in company_keys] == ["Stripe: evidence", "a:b: evidence", "Stripe",
                                                                     "a:b", "Comparison"]
    assert all(type(k) is StepKey for k in [*market_keys, *company_keys])
    assert MARKET.step_label("no such step") == "no such step"


def test_old_names_stay_importable() -> None:
    from research.workflows import companies as companies_workflow
    from research.workflows import market as market_workflow

    assert market_workflow.SUMMARY_KEY == "report:summary" and market_workflow.agent_key("market") == "agent:market"
    assert market_workflow.SECTION_TITLES == {"market": "Market Overview", "competitor": "Competitive Landscape",
                                              "customer": "Customer Segments"}
    assert market_workflow.RESEARCH_SPECS == (market.SPEC, competitor.SPEC, customer.SPEC)
    assert companies_workflow.COMPARISON_KEY == "report:comparison"
    assert companies_workflow.company_key("a:b") == "company:a:b"
    assert companies_workflow.evidence_key("a:b") == "evidence:company:a:b"
    assert companies_workflow.company_name("evidence:company:a:b") == "a:b"
    assert companies_workflow.step_label("company:a:b") == "a:b"
