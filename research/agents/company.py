"""The company agent: a structured profile of one company."""

from __future__ import annotations

from pydantic import Field

from research.agents.base import DATA_NOTICE, AgentSpec
from research.schemas import LongText, ShortText, Sourced


class CompanyProfile(Sourced):
    """Output of the company agent."""

    name: ShortText = Field(description="The company's usual name")
    industry: ShortText
    market_position: LongText = Field(description="Where the company stands in its market, in 1-3 sentences")
    key_products: list[ShortText] = Field(min_length=1, max_length=8, description="Main products or services")
    recent_developments: list[ShortText] = Field(min_length=1, max_length=6)
    competitive_advantages: list[ShortText] = Field(min_length=1, max_length=6)
    founded_year: int | None = Field(ge=1600, le=2100, description="Year founded, or null if unknown")
    employees_estimate: int | None = Field(ge=1, description="Approximate head count, or null if unknown")
    revenue_estimate_usd_millions: float | None = Field(ge=0, description="Latest annual revenue in million USD, or null")


INSTRUCTIONS = f"""You are an equity and competitive-intelligence analyst. Profile the company named in the
request: its industry, market position, key products or services, recent developments, competitive
advantages, and where you know them the founding year, approximate head count and latest annual
revenue in million USD (null when you do not know; never guess wildly).
If the name is ambiguous, profile the best-known company of that name and say so in market_position.
Cite sources only when you are sure they exist; otherwise leave `sources` empty.
{DATA_NOTICE}
Answer with a single JSON object that follows the schema."""

SPEC = AgentSpec(key="company", title="Company profile", instructions=INSTRUCTIONS, output_type=CompanyProfile)
