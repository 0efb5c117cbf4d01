"""The comparison agent: one synthesis across all successful company profiles."""

from __future__ import annotations

from pydantic import Field

from research.agents.common import AgentOutput
from research.agents.fields import LongText, text_list
from research.agents.spec import AgentSpec


class CompanyComparison(AgentOutput):
    """Output of the comparison agent."""

    overview: LongText = Field(description="How the companies compare, in one or two paragraphs")
    differentiators: text_list(8) = Field(description="What sets each apart")  # type: ignore[valid-type]
    watch_points: text_list(6) | None = Field(default=None, description="Risks and open questions")  # type: ignore[valid-type]


INSTRUCTIONS = """You are a strategy analyst. The request holds profiles of several companies as JSON
and, under `missing_companies`, the companies whose research failed. Compare the profiled companies:
an overview of how they stand against each other, the differentiators that set each apart, and the
points worth watching. Use only the profiles given. Name the missing companies as not researched and
say nothing else about them. Figures without sources are estimates: say so."""

SPEC = AgentSpec(key="comparison", title="Comparison", instructions=INSTRUCTIONS, output_type=CompanyComparison,
                 max_output_tokens=3000)
