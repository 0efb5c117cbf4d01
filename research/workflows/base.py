"""One way to run any workflow: a descriptor per workflow, and :func:`run_workflow` for all of them.

A :class:`Workflow` says how a request becomes a graph of steps, how the
finished graph becomes a typed result, and how its steps are named; the job
runner, the CLI, the history and the views all dispatch on it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from agents import trace
from pydantic import BaseModel

from research.agents.runner import run_structured
from research.agents.spec import AgentSpec, request_message
from research.config import ConfigError, Settings, check_budget_price
from research.core.budget import Price, RunBudget, SharedBudget
from research.core.graph import GraphRun, Step, StepExecutor, run_graph, run_here
from research.core.limits import Limits
from research.core.runs import RunFacts, RunResult
from research.core.steps import EventSink, StepContext
from research.inputs import CompanyRequest, MarketRequest, WorkflowKind
from research.pricing import cost_label, price_of
from research.providers.source import ModelSource, open_models
from research.retrieval.grounding import ground
from research.retrieval.source import EvidenceSource, open_evidence
from research.retrieval.types import Evidence
from research.workflows import keys

RequestT = TypeVar("RequestT", MarketRequest, CompanyRequest)
ResultT = TypeVar("ResultT", bound=RunResult)
OutputT = TypeVar("OutputT", bound=BaseModel)


@dataclass(frozen=True)
class RunTools:
    """What the steps of one run share: the models, the evidence source, the settings and today's date."""

    source: ModelSource
    evidence: EvidenceSource
    settings: Settings
    today: str
    budget: RunBudget = field(default_factory=RunBudget)
    """What the run may spend and has spent (every model request reserves its worst case first)."""

    async def gather(self, agent: str, topic: str, ctx: StepContext) -> Evidence:
        """``agent``'s evidence about ``topic``, its progress shown on the step ("searching", "reading 4 pages")."""
        return await self.evidence.gather(agent, topic, ctx.report_note)

    async def ask_grounded(self, spec: AgentSpec[OutputT], evidence: Evidence | None, ctx: StepContext,
                           **request: object) -> OutputT:
        """Run a research agent on ``request`` and its ``evidence`` (both data), and check every figure it cites."""
        passages = [p.model_dump(include={"id", "title", "url", "published", "text"})
                    for p in (evidence.passages if evidence else [])]
        data = await self.ask(spec, request_message(**request, today=self.today, evidence=passages), ctx)
        ground(data, evidence)
        for note in (evidence.notes if evidence else []):
            data.note(note)
        return data

    async def ask(self, spec: AgentSpec[OutputT], message: str, ctx: StepContext, *,
                  caveats: Iterable[str] = ()) -> OutputT:
        """Run the agent ``spec`` on ``message`` for the step ``ctx`` (``caveats``: the data notes the message
        carries, which the answer must not merely repeat)."""
        return await run_structured(spec, self.source.for_agent(spec.key), message, ctx, tracing=self.settings.tracing,
                                    support=self.source.output_support,
                                    max_output_tokens=self.settings.max_output_tokens, gate=self.source.gate,
                                    caveats=caveats, budget=self.budget)


@dataclass(frozen=True)
class Findings:
    """What a writer is given: each input's data without the app's notes, and those notes as caveats."""

    data: dict[str, Any]
    caveats: list[dict[str, str]]
    """One entry per data note: {"input": name, "note": text}."""

    @classmethod
    def of(cls, results: Mapping[str, BaseModel], name: Callable[[str], str]) -> Findings:
        """The findings of ``results`` (keyed by step key), each named by ``name(step key)``."""
        data = {name(key): result.model_dump(mode="json", exclude={"notes"}) for key, result in results.items()}
        caveats = [{"input": name(key), "note": note} for key, result in results.items()
                   for note in getattr(result, "notes", [])]
        return cls(data, caveats)

    @property
    def notes(self) -> list[str]:
        """The caveats' texts."""
        return [caveat["note"] for caveat in self.caveats]


@asynccontextmanager
async def run_tools(settings: Settings, models: ModelSource | None = None,
                    shared_budget: SharedBudget | None = None) -> AsyncIterator[RunTools]:
    """The tools of one run: ``models`` (or the models the settings select), an evidence source and the budget
    (``shared_budget``: the deployment's, which the run's requests also reserve from).

    Closes what it opened when the block ends (``models`` given by the caller stay open).
    """
    source = models or await open_models(settings)
    try:
        budget = run_budget(settings, source, shared_budget)
    except ConfigError:
        if models is None:
            await source.aclose()
        raise
    tools = RunTools(source, open_evidence(settings, source), settings, dt.date.today().isoformat(), budget)
    try:
        yield tools
    finally:
        await tools.budget.flush()
        await tools.evidence.aclose()
        if models is None:
            await source.aclose()


def run_budget(settings: Settings, source: ModelSource, shared: SharedBudget | None = None) -> RunBudget:
    """The run's budget from ``settings``, priced for the model ``source`` uses, within the deployment's
    ``shared`` budget (the demo costs nothing and spends none of the deployment's).

    Raises :class:`ConfigError` for a USD budget when the model's price is not known.
    """
    if source.is_demo:
        return RunBudget(tokens=settings.budget_tokens, usd=settings.budget_usd, price=Price(0.0, 0.0))
    check_budget_price(settings, source.model_name)
    known = price_of(source.model_name, settings.prices)
    return RunBudget(tokens=settings.budget_tokens, usd=settings.budget_usd,
                     price=Price.per_million(known) if known else None, shared=shared)


@dataclass(frozen=True)
class Workflow(Generic[RequestT, ResultT]):
    """How a kind of request is researched, and how its steps and results are named."""

    kind: WorkflowKind
    label: str
    """What the workflow is called, e.g. "Market research"."""
    result_type: type[ResultT]
    steps: Callable[[RequestT, RunTools | None], list[Step]]
    """The request's graph; the step functions use the tools only when they run (``None``: keys only)."""
    result: Callable[[RequestT, GraphRun, RunFacts], ResultT]
    limits: Callable[[RequestT, Settings], Limits]

    def step_label(self, key: str) -> str:
        """A step key (typed or as stored) as the user reads it, e.g. "company:Stripe" -> "Stripe"
        (see :attr:`research.workflows.keys.StepKey.label`)."""
        return keys.step_label(key)

    def step_keys(self, request: RequestT) -> list[str]:
        """The keys of the request's steps (each a :class:`~research.workflows.keys.StepKey`), in display order
        (no request is made)."""
        return [keys.StepKey.parse(step.key) for step in self.steps(request, None)]


async def run_workflow(
    workflow: Workflow[Any, ResultT],
    request: Any,
    settings: Settings,
    *,
    on_event: EventSink | None = None,
    cancel: asyncio.Event | None = None,
    models: ModelSource | None = None,
    limits: Limits | None = None,
    reuse: dict[str, Any] | None = None,
    executor: Callable[[RunTools], StepExecutor] | None = None,
    started_at: float | None = None,
    executor_keeps_time: bool = False,
    shared_budget: SharedBudget | None = None,
) -> ResultT:
    """Run ``request`` through ``workflow`` and return its result (never raises for step failures).

    ``models`` replaces the models the settings select (tests pass scripted
    ones) and ``limits`` the workflow's own limits. Raises
    :class:`research.config.ConfigError` when no model can be selected; no
    request has been made then. ``reuse`` holds an earlier run's step
    outcomes by key: what succeeded there is kept, the rest runs again.
    ``executor`` makes the step executor from the run's tools (the durable
    jobs checkpoint every step; by default steps run right here).
    ``started_at`` is when the run first began, if earlier than now (a job
    resumed after a restart counts its time from then). ``executor_keeps_time``:
    the executor stops each step at the run's time limit itself, so the graph
    sets none (a resumed durable job must still read back the steps it
    recorded after its time is up). ``shared_budget`` is the deployment's daily budget, if any.
    """
    started = started_at or time.time()
    async with run_tools(settings, models, shared_budget) as tools:
        with trace(workflow.label, disabled=not settings.tracing):
            run = await run_graph(workflow.steps(request, tools), limits=limits or workflow.limits(request, settings),
                                  on_event=on_event, cancel=cancel,
                                  run_timeout=None if executor_keeps_time
                                  else max(settings.run_timeout - (time.time() - started), 0.0),
                                  time_limit=settings.run_timeout,
                                  label=workflow.step_label, reuse=reuse,
                                  execute=executor(tools) if executor else run_here)
    source = tools.source
    facts = RunFacts(started_at=started, finished_at=time.time(), provider=source.label, model=source.model_name,
                     demo=source.is_demo, evidence_source=tools.evidence.status, budget=tools.budget.facts())
    result = workflow.result(request, run, facts)
    if not source.is_demo:
        result.estimated_cost = cost_label(source.model_name, result.usage, settings.prices)
    return result
