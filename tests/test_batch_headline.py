"""The headline figures of a finished company batch (research.reports.companies.batch_headline)."""

from __future__ import annotations

from research.agents.common import FigureCheck, FigureStatus
from research.agents.company import CompanyProfile
from research.core.runs import JobStatus
from research.core.steps import StepOutcome, StepState
from research.inputs import CompanyRequest
from research.reports.companies import BATCH_HEADLINE_COLUMNS, EMPTY, BatchMetric, batch_headline
from research.retrieval.types import Evidence
from research.workflows.companies import CompanyBatchResult
from research.workflows.keys import StepKey


def profile(name: str, revenue: float | None, status: FigureStatus | None = None) -> CompanyProfile:
    """A profile of ``name`` whose revenue check (if any) found ``status``."""
    figures = [] if status is None else [FigureCheck(label="revenue", value=f"{revenue} million USD", status=status)]
    return CompanyProfile(name=name, industry="Payments", market_position="A payments company.",
                          revenue_estimate_usd_millions=revenue, figures=figures)


def batch(profiles: dict[str, CompanyProfile | None], *, demo: bool = False,
          evidence: bool = True) -> CompanyBatchResult:
    """A finished batch of the companies named in ``profiles`` (None: that company's research failed)."""
    companies = [StepOutcome[CompanyProfile](key=StepKey.company(name), state=StepState.DONE, result=p)
                 if p is not None else
                 StepOutcome[CompanyProfile](key=StepKey.company(name), state=StepState.FAILED, error="server error")
                 for name, p in profiles.items()]
    kept = [StepOutcome[Evidence](key=StepKey.company_evidence(name), state=StepState.DONE) for name in profiles]
    return CompanyBatchResult(request=CompanyRequest.parse(list(profiles), 2), concurrency=2, companies=companies,
                              comparison=StepOutcome(key=StepKey.COMPARISON, state=StepState.DONE),
                              evidence=kept if evidence else [], status=JobStatus.COMPLETE, started_at=0.0,
                              finished_at=1.0, provider="openai", model="stub-model", demo=demo)


def by_label(metrics: list[BatchMetric]) -> dict[str, BatchMetric]:
    return {m.label: m for m in metrics}


def test_a_batch_at_a_glance() -> None:
    metrics = batch_headline(batch({"Stripe": profile("Stripe", 14_000.0, FigureStatus.VERIFIED),
                                    "Adyen": profile("Adyen", 1_900.0, FigureStatus.NOT_FOUND),
                                    "Klarna": None}))
    assert len(metrics) == BATCH_HEADLINE_COLUMNS
    assert [m.label for m in metrics] == ["Companies profiled", "Largest revenue", "Revenues verified"]
    shown = by_label(metrics)
    profiled = shown["Companies profiled"]
    assert (profiled.value, profiled.caption) == ("2 of 3", "1 failed: Klarna")
    assert profiled.help == "Not profiled — Klarna: server error"
    largest = shown["Largest revenue"]
    assert (largest.value, largest.caption) == ("14.0 bn", "USD · Stripe · verified")
    assert largest.help == "Stripe: 14,000.0 million USD a year — verified"
    assert shown["Revenues verified"].value == "1 of 2"


def test_small_revenues_read_in_millions_and_unchecked_ones_as_estimates() -> None:
    shown = by_label(batch_headline(batch({"Acme": profile("Acme", 250.0), "Beta": profile("Beta", None)})))
    assert (shown["Largest revenue"].value, shown["Largest revenue"].caption) == ("250 m", "USD · Acme · estimate")
    assert shown["Revenues verified"].value == "0 of 1", "only the companies that state a revenue count"
    profiled = shown["Companies profiled"]
    assert (profiled.value, profiled.caption, profiled.help) == ("2 of 2", "none failed",
                                                                 "Every company asked for was profiled.")


def test_empty_figures_say_so_and_why() -> None:
    none_profiled = by_label(batch_headline(batch({"Acme": None, "Beta": None})))
    assert none_profiled["Companies profiled"].value == "0 of 2"
    assert none_profiled["Companies profiled"].caption == "2 failed: Acme, Beta"
    for label in ("Largest revenue", "Revenues verified"):
        assert none_profiled[label].value == EMPTY
        assert "No company was profiled" in none_profiled[label].help

    no_revenue = by_label(batch_headline(batch({"Acme": profile("Acme", None)})))
    assert (no_revenue["Largest revenue"].value, no_revenue["Largest revenue"].help) == (
        EMPTY, "No profile states a revenue.")
    assert no_revenue["Revenues verified"].value == EMPTY
    assert "nothing to check" in no_revenue["Revenues verified"].help


def test_demo_and_earlier_release_figures_are_not_counted_as_checked() -> None:
    demo = by_label(batch_headline(batch({"Acme": profile("Acme", 500.0, FigureStatus.ILLUSTRATIVE)}, demo=True)))
    assert demo["Largest revenue"].caption == "USD · Acme · demo"
    assert (demo["Revenues verified"].value, demo["Revenues verified"].caption) == (EMPTY, "demo: illustrative")
    assert "invented" in demo["Revenues verified"].help

    older = by_label(batch_headline(batch({"Acme": profile("Acme", 500.0)}, evidence=False)))
    assert older["Revenues verified"].value == EMPTY
    assert "earlier release" in older["Revenues verified"].help
