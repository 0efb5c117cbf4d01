"""The market-research pipeline: three research agents at once, then the synthesis.

``run_market_research`` is the manager: it fans the market, competitor and
customer agents out on the executor (they start together), and once all three
have settled runs the synthesis agent as the aggregate step, streaming its
text. A failed agent never stops the others; the synthesis is told what is
missing; if all three fail no synthesis request is made.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time

from pydantic import BaseModel

from research.agents import competitor, customer, market, synthesis
from research.agents.competitor import CompetitorReport
from research.agents.customer import CustomerReport
from research.agents.market import MarketData
from research.agents.runner import run_structured
from research.agents.spec import AgentSpec, request_message
from research.agents.synthesis import ExecutiveReport
from research.config import Settings
from research.core.executor import EventSink, Limits, TaskContext, TaskOutcome, fan_out
from research.core.runs import RunResult, overall_status
from research.inputs import validate_topic
from research.providers.source import ModelSource, open_models

RESEARCH_SPECS: tuple[AgentSpec[BaseModel], ...] = (market.SPEC, competitor.SPEC, customer.SPEC)  # type: ignore[assignment]
AGENT_KEYS = tuple(spec.key for spec in RESEARCH_SPECS) + (synthesis.SPEC.key,)


class MarketResearchResult(RunResult):
    """Everything a run produced: per-agent outcomes, the report, and run facts."""

    topic: str
    market: TaskOutcome[MarketData]
    competitor: TaskOutcome[CompetitorReport]
    customer: TaskOutcome[CustomerReport]
    synthesis: TaskOutcome[ExecutiveReport]

    @property
    def research(self) -> list[TaskOutcome[BaseModel]]:
        """The three research outcomes, in report order."""
        return [self.market, self.competitor, self.customer]  # type: ignore[list-item]

    @property
    def all_outcomes(self) -> list[TaskOutcome[BaseModel]]:
        """Every agent's outcome, in display order (research, then synthesis)."""
        return [*self.research, self.synthesis]  # type: ignore[list-item]


def limits_from(settings: Settings) -> Limits:
    """The executor limits the settings ask for."""
    return Limits(
        concurrency=settings.max_concurrency,  # 1 suits a local server with one slot
        attempt_timeout=settings.agent_timeout,
        max_retries=settings.max_retries,
    )


def synthesis_message(topic: str, today: str, outcomes: list[TaskOutcome[BaseModel]]) -> str:
    """The synthesis request: the findings that exist and the inputs that are missing."""
    findings = {o.key: o.result.model_dump(mode="json") for o in outcomes if o.ok and o.result is not None}
    missing = [{"input": o.key, "reason": o.error or o.state.value} for o in outcomes if not o.ok]
    return request_message(topic=topic, today=today, findings=findings, missing_inputs=missing)


async def run_market_research(
    topic: str,
    settings: Settings,
    *,
    on_event: EventSink | None = None,
    cancel: asyncio.Event | None = None,
    models: ModelSource | None = None,
    limits: Limits | None = None,
) -> MarketResearchResult:
    """Research ``topic`` and return the full result (never raises for agent failures).

    ``models`` replaces the models the settings select (tests pass scripted
    ones) and ``limits`` the executor limits derived from the settings. Raises :class:`research.inputs.InputError` for a bad topic and
    :class:`research.config.ConfigError` when no model can be selected; in
    both cases no request has been made.
    """
    topic = validate_topic(topic)
    source = models or await open_models(settings)
    today = dt.date.today().isoformat()
    started = time.time()

    async def research(spec: AgentSpec[BaseModel], ctx: TaskContext) -> BaseModel:
        message = request_message(topic=topic, today=today)
        return await run_structured(spec, source.for_agent(spec.key), message, ctx, tracing=settings.tracing,
                                    support=source.output_support,
                                    max_output_tokens=settings.max_output_tokens)

    async def synthesize(outcomes: list[TaskOutcome[BaseModel]], ctx: TaskContext) -> BaseModel:
        spec = synthesis.SPEC
        message = synthesis_message(topic, today, outcomes)
        return await run_structured(spec, source.for_agent(spec.key), message, ctx,
                                    tracing=settings.tracing, support=source.output_support,
                                    max_output_tokens=settings.max_output_tokens)

    try:
        run = await fan_out(
            list(RESEARCH_SPECS),
            research,
            limits=limits or limits_from(settings),
            key=lambda spec: spec.key,
            on_event=on_event,
            aggregate=synthesize,
            aggregate_key=synthesis.SPEC.key,
            cancel=cancel,
            run_timeout=settings.run_timeout,
        )
    finally:
        if models is None:
            await source.aclose()
    report = run.aggregate or TaskOutcome(key=synthesis.SPEC.key)
    status, error = overall_status(run, "research agent")
    by_key = {o.key: o for o in run.outcomes}
    return MarketResearchResult(
        topic=topic,
        status=status,
        error=error,
        started_at=started,
        finished_at=time.time(),
        provider=source.label,
        model=source.model_name,
        demo=source.is_demo,
        market=by_key["market"],
        competitor=by_key["competitor"],
        customer=by_key["customer"],
        synthesis=report,
    )
