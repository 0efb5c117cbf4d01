"""The company batch as a graph: one profile step per company, then one comparison.

The company agent runs once per name the user asked for, at most
``concurrency`` at once; a failed company never stops the others; the
comparison starts when every company has settled, over the successful
profiles, and is told which companies failed so it names them and invents
nothing about them. Profiles stay keyed by the name the user asked for.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from research.agents import company, comparison
from research.agents.company import CompanyProfile
from research.agents.comparison import CompanyComparison
from research.agents.spec import request_message
from research.config import Settings
from research.core.graph import GraphRun, Requires, Step, StepInputs
from research.core.limits import Limits
from research.core.runs import RunFacts, RunResult, overall_status
from research.core.steps import StepContext, StepOutcome
from research.inputs import CompanyRequest, WorkflowKind
from research.reports.batch_changes import BatchComparison
from research.retrieval.types import Evidence
from research.workflows import keys
from research.workflows.base import Findings, RunTools, Workflow, run_workflow
from research.workflows.keys import COMPANY_KINDS, StepKey

COMPARISON_KEY = StepKey.COMPARISON
"""The comparison step's key (kept for callers that import it from here)."""
COMPANY_PREFIX = "company:"
"""What a company step's key starts with (kept for callers: test ``StepKey.parse(key).kind`` instead)."""
EVIDENCE_PREFIX = "evidence:"
"""What an evidence step's key starts with (kept for callers: test ``StepKey.parse(key).kind`` instead)."""
company_key = StepKey.company
"""The step key of the company the user asked for (kept for callers: use :meth:`StepKey.company`)."""
evidence_key = StepKey.company_evidence
"""The step key of a company's evidence (kept for callers: use :meth:`StepKey.company_evidence`)."""
step_label = keys.step_label
"""A step key as the user reads it (kept for callers: use ``StepKey.label``)."""


def company_name(key: str) -> str:
    """The company name the user asked for, from its step key or its evidence step's key (ValueError for any
    other key)."""
    parsed = StepKey.parse(key)
    if parsed.kind not in COMPANY_KINDS:
        raise ValueError(f"{key!r} is not a company's step key")
    return parsed.subject


def profiled_as(outcome: StepOutcome[CompanyProfile]) -> str | None:
    """The model's own name for the company, when it differs from the name the user asked for."""
    asked, written = StepKey.parse(outcome.key).subject, outcome.result.name if outcome.result else ""
    return written if written and " ".join(written.lower().split()) != " ".join(asked.lower().split()) else None


class CompanyBatchResult(RunResult):
    """Everything a batch produced: one outcome per company, the comparison, and counts."""

    request: CompanyRequest
    concurrency: int
    companies: list[StepOutcome[CompanyProfile]]
    comparison: StepOutcome[CompanyComparison]
    evidence: list[StepOutcome[Evidence]] = []
    """What each company's figures rest on, in the companies' order, kept with the run."""
    changes: BatchComparison | None = None
    """What changed since the person's latest earlier batch that shares companies with this one, if any."""

    @property
    def title(self) -> str:
        """A short name for the batch, e.g. 'Stripe, Datadog, Vercel and 2 more'."""
        return self.request.title

    @property
    def total(self) -> int:
        """Companies in the batch."""
        return len(self.companies)

    @property
    def succeeded(self) -> int:
        """Companies profiled successfully."""
        return sum(1 for o in self.companies if o.ok)

    @property
    def failed(self) -> int:
        """Companies whose research failed."""
        return self.total - self.succeeded

    @property
    def all_outcomes(self) -> list[StepOutcome[Any]]:
        """Every step's outcome, in display order (companies, then the comparison)."""
        return [*self.evidence, *self.companies, self.comparison]

    def grounded(self) -> list[tuple[CompanyProfile, Evidence | None]]:
        """Each profile with the evidence kept for it ([] for a batch saved before evidence was kept)."""
        kept = {StepKey.parse(o.key).subject: o.result for o in self.evidence}
        asked = [(o, StepKey.parse(o.key).subject) for o in self.companies]
        return [(o.result, kept[name]) for o, name in asked if o.result is not None and name in kept]


def comparison_message(today: str, profiles: Findings, inputs: StepInputs) -> str:
    """The comparison request: the profiles that exist (their data notes as caveats) and the companies that failed."""
    missing = [{"company": StepKey.parse(key).subject, "reason": reason} for key, reason in inputs.missing.items()]
    return request_message(today=today, profiles=profiles.data, caveats=profiles.caveats, missing_companies=missing)


def company_steps(request: CompanyRequest, tools: RunTools | None) -> list[Step]:
    """The graph: a profile step per company, the comparison after all of them."""

    def evidence(name: str) -> Step:
        async def work(_inputs: StepInputs, ctx: StepContext) -> Evidence:
            return await tools.gather(company.SPEC.key, name, ctx)
        return Step(StepKey.company_evidence(name), work, calls_model=False,
                    replayable=tools is not None and tools.evidence.replayable)

    def profile(name: str) -> Step:
        evidence_step = StepKey.company_evidence(name)

        async def work(inputs: StepInputs, ctx: StepContext) -> CompanyProfile:
            return await tools.ask_grounded(company.SPEC, inputs.result(evidence_step), ctx, company=name)
        return Step(StepKey.company(name), work, needs=(evidence_step,), requires=Requires.SETTLED)

    async def compare(inputs: StepInputs, ctx: StepContext) -> CompanyComparison:
        profiles = Findings.of(inputs.succeeded, lambda key: StepKey.parse(key).subject)
        return await tools.ask(comparison.SPEC, comparison_message(tools.today, profiles, inputs), ctx,
                               caveats=profiles.notes)

    profiled = tuple(map(StepKey.company, request.names))
    return [*map(evidence, request.names), *map(profile, request.names),
            Step(StepKey.COMPARISON, compare, needs=profiled, requires=Requires.ANY)]


def company_limits(request: CompanyRequest, settings: Settings) -> Limits:
    """At most ``request.concurrency`` (default ``RESEARCH_MAX_CONCURRENCY``) companies at once."""
    return Limits(concurrency=request.concurrency or settings.max_concurrency, attempt_timeout=settings.agent_timeout,
                  max_retries=settings.max_retries)


def company_result(request: CompanyRequest, run: GraphRun, facts: RunFacts) -> CompanyBatchResult:
    """The typed result of a finished company graph."""
    profiled = [StepKey.company(name) for name in request.names]
    status, error = overall_status(run, profiled, "company")
    return CompanyBatchResult(request=request, status=status, error=error, **facts.model_dump(),
                              concurrency=run.concurrency, companies=[run.outcomes[key] for key in profiled],
                              comparison=run.outcomes[StepKey.COMPARISON],
                              evidence=[run.outcomes[StepKey.company_evidence(name)] for name in request.names])


COMPANIES = Workflow(kind=WorkflowKind.COMPANIES, label="Company research", result_type=CompanyBatchResult,
                     steps=company_steps, result=company_result, limits=company_limits)
"""The company-batch workflow."""


async def run_company_batch(names: Iterable[str], settings: Settings, *, concurrency: int | None = None,
                            **options: Any) -> CompanyBatchResult:
    """Profile the companies ``names`` and compare them (:class:`~research.inputs.InputError` for bad names).

    ``options`` are those of :func:`~research.workflows.base.run_workflow`.
    """
    return await run_workflow(COMPANIES, CompanyRequest.parse(names, concurrency), settings, **options)
