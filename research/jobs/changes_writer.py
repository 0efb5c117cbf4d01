"""The paragraph that opens "What changed since …": written by the section writer from the comparison alone,
once a report's run has ended, within the run's own budget and the daily ones; its numbers are checked
against the comparison like every section's against its data."""

from __future__ import annotations

import time
from typing import Any

from research.agents import section
from research.agents.section import SectionText
from research.agents.spec import request_message
from research.config import Settings
from research.core.budget import BudgetReached, SharedBudget
from research.core.errors import describe_error
from research.core.steps import StepContext, StepOutcome, StepState
from research.providers.source import ModelSource
from research.reports.changes import RunComparison
from research.workflows.base import run_tools
from research.workflows.keys import StepKey
from research.workflows.market import MarketResearchResult, market_limits, note_data_checks


async def write_changes(comparison: RunComparison, result: MarketResearchResult, settings: Settings, *,
                        models: ModelSource | None = None, shared_budget: SharedBudget | None = None,
                        ) -> StepOutcome[SectionText]:
    """The section writer's paragraph on ``comparison`` for ``result``'s report (a failure is an outcome too).

    The run's budget counts what ``result`` already spent, so the paragraph's request is sent only if it fits.
    """
    outcome: StepOutcome[SectionText] = StepOutcome(key=StepKey.CHANGES, state=StepState.RUNNING, attempts=0,
                                                    started_at=time.time())
    limits = market_limits(result.request, settings)
    ctx = StepContext(StepKey.CHANGES, limits, outcome, lambda _event: None)
    findings: dict[str, Any] = comparison.model_dump(
        mode="json", exclude={"earlier_id", "later_id", "earlier_at", "later_at", "summary", "summary_notes"})
    try:
        async with run_tools(settings, models, shared_budget) as tools:
            spent = result.usage
            tools.budget.input_tokens, tools.budget.output_tokens = spent.input_tokens, spent.output_tokens
            message = request_message(topic=result.topic, today=tools.today,
                                      section=f"What changed since {comparison.since}", findings=findings)
            written = await tools.ask(section.SPEC, message, ctx)
            note_data_checks(written, written.prose, [comparison])
            outcome.result, outcome.state = written, StepState.DONE
            if result.budget is not None:
                result.budget = tools.budget.facts()
    except BudgetReached as exc:  # the request did not fit: never sent
        outcome.state, outcome.error = StepState.SKIPPED, str(exc)
    except Exception as exc:  # noqa: BLE001 - the report stands without its paragraph, saying why
        timed_out, outcome.error = describe_error(exc, limits.attempt_timeout)
        outcome.state = StepState.TIMED_OUT if timed_out else StepState.FAILED
    outcome.finished_at = time.time()
    return outcome
