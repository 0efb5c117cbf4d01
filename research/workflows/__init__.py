"""The workflows: market research and company batches, declared as graphs of steps.

Everything that handles jobs (the job runner, the CLI, the history, the views)
dispatches on a :class:`~research.workflows.base.Workflow` from :data:`WORKFLOWS`.
"""

from __future__ import annotations

from typing import Any

from research.inputs import WorkflowKind
from research.workflows.base import Workflow, run_workflow
from research.workflows.companies import COMPANIES, CompanyBatchResult
from research.workflows.market import MARKET, MarketResearchResult

WORKFLOWS: dict[WorkflowKind, Workflow[Any, Any]] = {MARKET.kind: MARKET, COMPANIES.kind: COMPANIES}
JobResult = MarketResearchResult | CompanyBatchResult
"""The result of any workflow."""

__all__ = ["COMPANIES", "MARKET", "WORKFLOWS", "CompanyBatchResult", "JobResult", "MarketResearchResult", "Workflow",
           "run_workflow", "workflow_for"]


def workflow_for(kind: str) -> Workflow[Any, Any]:
    """The workflow of a request or stored job kind."""
    return WORKFLOWS[WorkflowKind(kind)]
