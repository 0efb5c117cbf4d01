"""The section writer: one data section of the executive report, written as soon as its research lands."""

from __future__ import annotations

from pydantic import Field

from research.agents.common import AgentOutput
from research.agents.fields import LongText
from research.agents.spec import AgentSpec


class SectionText(AgentOutput):
    """Output of the section writer: the section's prose."""

    prose: LongText = Field(title="section text", description="The section in plain prose, 1 to 3 paragraphs")

    def headline(self) -> str:
        """One line for the status card: how long the section is."""
        return f"{len(self.prose.split()):,} words"


INSTRUCTIONS = """You are a strategy consultant writing one section of an executive market-research report
for a decision maker. The request names the topic, the section and holds one research agent's
findings as JSON. Write the section in plain prose (no headings, no lists, no HTML), 1 to 3 short
paragraphs: what the findings say and what they mean for someone entering or competing in the market.
The report shows the findings' lists (trends, drivers, risks) as bullets right below your text: do not
repeat them item by item; interpret them instead (how large and how fast, what matters most, what it implies).
Use only the findings given and never invent figures, companies or segments. Figures without sources
are estimates: say so. If the findings carry `notes` about data that was unclear, respect them."""

SPEC = AgentSpec(key="section", title="Report section", instructions=INSTRUCTIONS, output_type=SectionText,
                 max_output_tokens=1500)
