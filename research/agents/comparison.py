"""The comparison agent: one synthesis across all successful company profiles."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from research.agents.base import DATA_NOTICE, AgentSpec
from research.schemas import LongText, ShortText


class CompanyComparison(BaseModel):
    """Output of the comparison agent."""

    model_config = ConfigDict(extra="forbid")

    overview: LongText = Field(description="How the companies compare, in one or two paragraphs")
    differentiators: list[ShortText] = Field(min_length=1, max_length=8, description="What sets each apart")
    watch_points: list[ShortText] = Field(default_factory=list, max_length=6, description="Risks and open questions")


INSTRUCTIONS = f"""You are a strategy analyst. The request holds profiles of several companies as JSON
and, under `missing_companies`, the companies whose research failed. Compare the profiled companies:
an overview of how they stand against each other, the differentiators that set each apart, and the
points worth watching. Use only the profiles given. Name the missing companies as not researched and
say nothing else about them. Figures without sources are estimates: say so.
{DATA_NOTICE}
Answer with a single JSON object that follows the schema."""

SPEC = AgentSpec(key="comparison", title="Comparison", instructions=INSTRUCTIONS, output_type=CompanyComparison)
