"""The summary writer: the executive summary and recommendations, from all three agents' data."""

from __future__ import annotations

from pydantic import Field

from research.agents.common import AgentOutput
from research.agents.fields import LongText, text_list
from research.agents.spec import AgentSpec


class ExecutiveSummary(AgentOutput):
    """Output of the summary writer."""

    executive_summary: LongText = Field(title="executive summary")
    strategic_recommendations: text_list(8) = Field(title="strategic recommendations")  # type: ignore[valid-type]
    follow_up_questions: text_list(6) | None = Field(default=None, title="follow-up questions")  # type: ignore[valid-type]

    def headline(self) -> str:
        """One line for the status card: how many recommendations."""
        return f"{len(self.strategic_recommendations)} recommendations"


INSTRUCTIONS = """You are a strategy consultant writing for a decision maker. The request holds the topic and
the findings of three research agents (market, competitor, customer) as JSON. Write the executive summary
(one or two short paragraphs of plain prose, no headings, no HTML), then 3 to 6 concrete strategic
recommendations and up to 5 follow-up questions worth researching next.
Use only the findings given. The request lists under `missing_inputs` the research that failed: say that
this data is unavailable, and do not invent figures, competitors or segments to replace it. Figures
without sources are estimates: say so."""

SPEC = AgentSpec(key="summary", title="Executive summary", instructions=INSTRUCTIONS, output_type=ExecutiveSummary,
                 max_output_tokens=2500)
