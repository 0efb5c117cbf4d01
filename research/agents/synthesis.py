"""The synthesis agent: turns the research into an executive report."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from research.agents.base import DATA_NOTICE, AgentSpec
from research.schemas import LongText, ShortText


class ExecutiveReport(BaseModel):
    """Output of the synthesis agent: the report's prose sections."""

    model_config = ConfigDict(extra="forbid")

    executive_summary: LongText
    market_overview: LongText
    competitive_landscape: LongText
    customer_segments: LongText
    strategic_recommendations: list[ShortText] = Field(min_length=1, max_length=8)
    follow_up_questions: list[ShortText] = Field(default_factory=list, max_length=6)


INSTRUCTIONS = f"""You are a strategy consultant writing an executive report for a decision maker.
The request holds the topic and the findings of three research agents (market, competitor, customer)
as JSON. Write the report's sections in plain prose (no headings, no HTML): executive summary,
market overview, competitive landscape, customer segments; then 3 to 6 concrete strategic
recommendations and up to 5 follow-up questions worth researching next.
Use only the findings given. The request lists under `missing_inputs` the research that failed:
for each missing input, say in its section that the data is unavailable, and do not invent figures,
competitors or segments to replace it. Figures without sources are estimates: say so.
{DATA_NOTICE}
Answer with a single JSON object that follows the schema."""

SPEC = AgentSpec(key="synthesis", title="Executive report", instructions=INSTRUCTIONS, output_type=ExecutiveReport)
