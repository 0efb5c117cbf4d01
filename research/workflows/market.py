"""Market research as a graph: three research agents, a section writer per agent, and the summary.

The market, competitor and customer agents start together. Each data
section's prose is written by its own step the moment its agent lands; the
executive summary and recommendations are written from all three agents' data
as soon as the last one lands, in parallel with the last section. A failed
agent never stops the others; the summary is told what is missing; if all
three fail no summary is requested.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from research.agents import section, summary
from research.agents.common import AgentOutput
from research.agents.competitor import CompetitorReport
from research.agents.customer import CustomerReport
from research.agents.market import MarketData
from research.agents.section import SectionText
from research.agents.spec import AgentSpec, request_message
from research.agents.summary import ExecutiveSummary
from research.config import Settings
from research.core.graph import GraphRun, Requires, Step, StepInputs
from research.core.limits import Limits
from research.core.runs import RunFacts, RunResult, overall_status
from research.core.steps import StepContext, StepOutcome
from research.inputs import MarketRequest, WorkflowKind
from research.reports.changes import RunComparison
from research.retrieval.grounding import contradictions, unbacked_numbers
from research.retrieval.types import Evidence
from research.workflows.base import Findings, RunTools, Workflow, run_workflow
from research.workflows.keys import RESEARCH_AGENTS, ResearchAgent, StepKey

RESEARCH_SPECS: tuple[AgentSpec[Any], ...] = tuple(agent.spec for agent in RESEARCH_AGENTS)
"""The research agents' specs, in report order (from :data:`~research.workflows.keys.RESEARCH_AGENTS`)."""
SECTION_TITLES = {agent.key: agent.section_title for agent in RESEARCH_AGENTS}
"""Each data section's title by its agent, e.g. "market" -> "Market Overview"."""
SUMMARY_KEY = StepKey.SUMMARY
"""The summary step's key (kept for callers that import it from here)."""
agent_key = StepKey.agent
"""A research agent's step key, e.g. "agent:market" (kept for callers that import it: use :meth:`StepKey.agent`)."""
evidence_key = StepKey.evidence
"""A research agent's evidence step key, e.g. "evidence:market" (kept for callers: use :meth:`StepKey.evidence`)."""
section_key = StepKey.section
"""A research agent's section step key, e.g. "section:market" (kept for callers: use :meth:`StepKey.section`)."""


class MarketResearchResult(RunResult):
    """Everything a market run produced: the research, the written sections, the summary, run facts."""

    request: MarketRequest
    market: StepOutcome[MarketData]
    competitor: StepOutcome[CompetitorReport]
    customer: StepOutcome[CustomerReport]
    sections: dict[str, StepOutcome[SectionText]]
    """The prose of each data section, keyed by its agent ("market", "competitor", "customer")."""
    summary: StepOutcome[ExecutiveSummary]
    evidence: dict[str, StepOutcome[Evidence]] = {}
    """What each agent's figures rest on: its queries and the passages it was given, kept with the run."""
    changes: RunComparison | None = None
    """What changed since the latest earlier complete report on the same topic, when there is one."""
    changes_text: StepOutcome[SectionText] | None = None
    """The section writer's paragraph on ``changes`` (from the comparison alone), written after the run."""

    @property
    def topic(self) -> str:
        """The market researched."""
        return self.request.topic

    @property
    def research(self) -> list[StepOutcome[BaseModel]]:
        """The three research outcomes, in report order."""
        return [self.market, self.competitor, self.customer]  # type: ignore[list-item]

    @property
    def all_outcomes(self) -> list[StepOutcome[Any]]:
        """Every step's outcome, in display order: evidence, research, sections, summary (and the paragraph on
        what changed, written after the run)."""
        changes = [self.changes_text] if self.changes_text is not None else []
        return [*self.evidence.values(), *self.research, *self.sections.values(), self.summary, *changes]

    def grounded(self) -> list[tuple[Any, Evidence | None]]:
        """Each research output with the evidence kept for it ([] for a run saved before evidence was kept)."""
        return [(o.result, self.evidence[agent.key].result) for agent, o in zip(RESEARCH_AGENTS, self.research)
                if o.result is not None and agent.key in self.evidence]


def findings_message(topic: str, today: str, findings: Findings, inputs: StepInputs, **extra: Any) -> str:
    """A writer's request: the topic, the findings that exist, their data notes as caveats, and the inputs
    that are missing."""
    missing = [{"input": StepKey.parse(key).subject, "reason": reason} for key, reason in inputs.missing.items()]
    return request_message(topic=topic, today=today, **extra, findings=findings.data, caveats=findings.caveats,
                           missing_inputs=missing)


def findings_of(inputs: StepInputs) -> Findings:
    """The research that succeeded, named by agent ("market", …), with its data notes apart."""
    return Findings.of(inputs.succeeded, lambda key: StepKey.parse(key).subject)


def note_data_checks(written: AgentOutput, prose: str, data: Iterable[BaseModel]) -> None:
    """Data-check notes on ``written``: numbers in its prose that the research data does not hold, and figures
    its prose gives another value than the data does (a share given to the wrong competitor, a wrong scale)."""
    data = list(data)
    numbers = unbacked_numbers(prose, data)
    if numbers:
        verb = "is" if len(numbers) == 1 else "are"
        written.note(f"Data check: the text mentions {', '.join(numbers)}, which {verb} not in the research data.")
    for problem in contradictions(prose, data):
        written.note(f"Data check: {problem}.")


def market_steps(request: MarketRequest, tools: RunTools | None) -> list[Step]:
    """The graph: research agents first, a section per agent as soon as it lands, the summary after all."""

    def evidence(agent: ResearchAgent) -> Step:
        async def work(_inputs: StepInputs, ctx: StepContext) -> Evidence:
            return await tools.gather(agent.key, request.topic, ctx)
        return Step(StepKey.evidence(agent.key), work, calls_model=False,
                    replayable=tools is not None and tools.evidence.replayable)

    def research(agent: ResearchAgent) -> Step:
        evidence_step = StepKey.evidence(agent.key)

        async def work(inputs: StepInputs, ctx: StepContext) -> Any:
            return await tools.ask_grounded(agent.spec, inputs.result(evidence_step), ctx, topic=request.topic)
        return Step(StepKey.agent(agent.key), work, needs=(evidence_step,), requires=Requires.SETTLED)

    def write_section(agent: ResearchAgent) -> Step:
        async def work(inputs: StepInputs, ctx: StepContext) -> SectionText:
            findings = findings_of(inputs)
            message = findings_message(request.topic, tools.today, findings, inputs, section=agent.section_title)
            written = await tools.ask(section.SPEC, message, ctx, caveats=findings.notes)
            note_data_checks(written, written.prose, inputs.succeeded.values())
            return written
        return Step(StepKey.section(agent.key), work, needs=(StepKey.agent(agent.key),), requires=Requires.ALL)

    async def summarise(inputs: StepInputs, ctx: StepContext) -> ExecutiveSummary:
        findings = findings_of(inputs)
        written = await tools.ask(summary.SPEC, findings_message(request.topic, tools.today, findings, inputs), ctx,
                                  caveats=findings.notes)
        prose = " ".join([written.executive_summary, *written.strategic_recommendations])
        note_data_checks(written, prose, inputs.succeeded.values())
        return written

    researched = tuple(StepKey.agent(agent.key) for agent in RESEARCH_AGENTS)
    return [*map(evidence, RESEARCH_AGENTS), *map(research, RESEARCH_AGENTS), *map(write_section, RESEARCH_AGENTS),
            Step(StepKey.SUMMARY, summarise, needs=researched, requires=Requires.ANY)]


def market_result(request: MarketRequest, run: GraphRun, facts: RunFacts) -> MarketResearchResult:
    """The typed result of a finished market graph."""
    status, error = overall_status(run, [StepKey.agent(agent.key) for agent in RESEARCH_AGENTS], "research agent")
    out = run.outcomes
    return MarketResearchResult(
        request=request, status=status, error=error, **facts.model_dump(),
        market=out[StepKey.agent("market")], competitor=out[StepKey.agent("competitor")],
        customer=out[StepKey.agent("customer")],
        sections={agent.key: out[StepKey.section(agent.key)] for agent in RESEARCH_AGENTS},
        summary=out[StepKey.SUMMARY],
        evidence={agent.key: out[StepKey.evidence(agent.key)] for agent in RESEARCH_AGENTS},
    )


def market_limits(_request: MarketRequest, settings: Settings) -> Limits:
    """The executor limits the settings ask for (``RESEARCH_MAX_CONCURRENCY`` 1 suits a one-slot server)."""
    return Limits(concurrency=settings.max_concurrency, attempt_timeout=settings.agent_timeout,
                  max_retries=settings.max_retries)


MARKET = Workflow(kind=WorkflowKind.MARKET, label="Market research", result_type=MarketResearchResult,
                  steps=market_steps, result=market_result, limits=market_limits)
"""The market-research workflow."""


async def run_market_research(topic: str, settings: Settings, **options: Any) -> MarketResearchResult:
    """Research the market ``topic`` (:class:`~research.inputs.InputError` for a bad one, before any request).

    ``options`` are those of :func:`~research.workflows.base.run_workflow`.
    """
    return await run_workflow(MARKET, MarketRequest.parse(topic), settings, **options)
