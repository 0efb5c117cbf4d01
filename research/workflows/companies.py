"""The company batch: one researcher agent over many companies, then a comparison.

``run_company_batch`` fans the company agent out over the names on the same
executor as the market pipeline, at most ``concurrency`` at once; each
company's status is published as events; a failed company never stops the
others; the comparison agent runs as the aggregate step over the successful
profiles and is told which companies failed, so it names them and invents
nothing about them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel

from research.agents import company, comparison
from research.agents.company import CompanyProfile
from research.agents.comparison import CompanyComparison
from research.agents.runner import run_structured
from research.agents.spec import request_message
from research.config import Settings
from research.core.executor import EventSink, Limits, TaskContext, TaskOutcome, fan_out
from research.core.runs import RunResult, overall_status
from research.inputs import validate_company_names
from research.providers.source import ModelSource, open_models

COMPARISON_KEY = comparison.SPEC.key
COMPANY_PREFIX = "company:"
"""Company task keys carry this prefix, so no company name can collide with another step's key."""


def company_key(name: str) -> str:
    """The task key of the company the user asked for."""
    return COMPANY_PREFIX + name


def company_name(key: str) -> str:
    """The company name the user asked for, from its task key."""
    return key.removeprefix(COMPANY_PREFIX)


def profiled_as(outcome: TaskOutcome[CompanyProfile]) -> str | None:
    """The model's own name for the company, when it differs from the name the user asked for."""
    asked, written = company_name(outcome.key), outcome.result.name if outcome.result else ""
    return written if written and " ".join(written.lower().split()) != " ".join(asked.lower().split()) else None


def batch_title(names: list[str]) -> str:
    """A short name for a batch, e.g. 'Stripe, Datadog, Vercel and 2 more'."""
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


class CompanyBatchResult(RunResult):
    """Everything a batch produced: one outcome per company, the comparison, and counts."""

    kind: Literal["companies"] = "companies"
    names: list[str]
    concurrency: int
    companies: list[TaskOutcome[CompanyProfile]]
    comparison: TaskOutcome[CompanyComparison]

    @property
    def title(self) -> str:
        """A short name for the batch, e.g. 'Stripe, Datadog, Vercel and 2 more'."""
        return batch_title(self.names)

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
    def all_outcomes(self) -> list[TaskOutcome[BaseModel]]:
        """Every agent's outcome, in display order (companies, then the comparison)."""
        return [*self.companies, self.comparison]  # type: ignore[list-item]


def comparison_message(today: str, outcomes: list[TaskOutcome[CompanyProfile]]) -> str:
    """The comparison request: the profiles that exist and the companies that failed."""
    profiles = {company_name(o.key): o.result.model_dump(mode="json")
                for o in outcomes if o.ok and o.result is not None}
    missing = [{"company": company_name(o.key), "reason": o.error or o.state.value} for o in outcomes if not o.ok]
    return request_message(today=today, profiles=profiles, missing_companies=missing)


async def run_company_batch(
    names: Iterable[str],
    settings: Settings,
    *,
    concurrency: int | None = None,
    on_event: EventSink | None = None,
    cancel: asyncio.Event | None = None,
    models: ModelSource | None = None,
    limits: Limits | None = None,
) -> CompanyBatchResult:
    """Profile every company, at most ``concurrency`` (default ``RESEARCH_MAX_CONCURRENCY``) at once.

    Raises :class:`research.inputs.InputError` for bad names (nothing is
    requested); agent failures end up in the result, never as exceptions.
    """
    cleaned = validate_company_names(names)
    limits = limits or Limits(
        concurrency=concurrency or settings.max_concurrency,
        attempt_timeout=settings.agent_timeout,
        max_retries=settings.max_retries,
    )
    source = models or await open_models(settings)
    today = dt.date.today().isoformat()
    started = time.time()

    async def profile(name: str, ctx: TaskContext) -> CompanyProfile:
        message = request_message(company=name, today=today)
        return await run_structured(company.SPEC, source.for_agent(company.SPEC.key), message, ctx,
                                    tracing=settings.tracing, support=source.output_support,
                                    max_output_tokens=settings.max_output_tokens)

    async def compare(outcomes: list[TaskOutcome[CompanyProfile]], ctx: TaskContext) -> CompanyComparison:
        return await run_structured(comparison.SPEC, source.for_agent(COMPARISON_KEY), comparison_message(today, outcomes),
                                    ctx, tracing=settings.tracing, support=source.output_support,
                                    max_output_tokens=settings.max_output_tokens)

    try:
        run = await fan_out(cleaned, profile, limits=limits, key=company_key, on_event=on_event, aggregate=compare,
                            aggregate_key=COMPARISON_KEY, cancel=cancel, run_timeout=settings.run_timeout)
    finally:
        if models is None:
            await source.aclose()
    status, error = overall_status(run, "company")
    return CompanyBatchResult(
        names=cleaned, status=status, error=error, started_at=started, finished_at=time.time(),
        provider=source.label, model=source.model_name, demo=source.is_demo, concurrency=limits.concurrency,
        companies=run.outcomes, comparison=run.aggregate or TaskOutcome(key=COMPARISON_KEY),
    )
