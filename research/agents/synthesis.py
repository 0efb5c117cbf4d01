"""The synthesis agent: turns the research into an executive report."""

from __future__ import annotations

from pydantic import Field

from research.agents.common import AgentOutput
from research.agents.fields import LongText, text_list
from research.agents.spec import AgentSpec


class ExecutiveReport(AgentOutput):
    """Output of the synthesis agent: the report's prose sections."""

    executive_summary: LongText = Field(title="executive summary")
    market_overview: LongText = Field(title="market overview")
    competitive_landscape: LongText = Field(title="competitive landscape")
    customer_segments: LongText = Field(title="customer segments")
    strategic_recommendations: text_list(8) = Field(title="strategic recommendations")  # type: ignore[valid-type]
    follow_up_questions: text_list(6) | None = Field(default=None, title="follow-up questions")  # type: ignore[valid-type]


INSTRUCTIONS = """You are a strategy consultant writing an executive report for a decision maker.
The request holds the topic and the findings of three research agents (market, competitor, customer)
as JSON. Write the report's sections in plain prose (no headings, no HTML): executive summary,
market overview, competitive landscape, customer segments; then 3 to 6 concrete strategic
recommendations and up to 5 follow-up questions worth researching next.
Use only the findings given. The request lists under `missing_inputs` the research that failed:
for each missing input, say in its section that the data is unavailable, and do not invent figures,
competitors or segments to replace it. Figures without sources are estimates: say so."""

SPEC = AgentSpec(key="synthesis", title="Executive report", instructions=INSTRUCTIONS, output_type=ExecutiveReport,
                 max_output_tokens=4000)
