"""The company agent: a structured profile of one company."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from research.agents.common import CitedFigure, Cites, Claim, FigureKind, Quote, Sourced
from research.agents.fields import LongText, Number, ShortText, Year, empty_list_notes, text_list
from research.agents.spec import AgentSpec


class CompanyProfile(Sourced):
    """Output of the company agent."""

    name: ShortText = Field(description="The company's usual name")
    industry: ShortText
    market_position: LongText = Field(description="Where the company stands in its market, in 1-3 sentences")
    key_products: text_list(8, at_least=0) = Field(  # type: ignore[valid-type]
        default_factory=list, title="key products", description="Main products or services")
    recent_developments: text_list(6, at_least=0) = Field(  # type: ignore[valid-type]
        default_factory=list, title="recent developments")
    competitive_advantages: text_list(6, at_least=0) = Field(  # type: ignore[valid-type]
        default_factory=list, title="competitive advantages")
    founded_year: Year | None = Field(default=None, description="Year founded, or null if unknown")
    employees_estimate: int | None = Field(default=None, ge=1, description="Approximate head count, or null if unknown")
    revenue_estimate_usd_millions: Number | None = Field(
        default=None, ge=0, description="Latest annual revenue in million USD, or null")
    cites: Cites = Field(default_factory=list, description="Evidence ids (E1, …) of the passages that state the "
                         "revenue; empty if none does")
    quote: Quote = Field(default=None, description="The sentence of the first cited passage that states the revenue, "
                         "copied word for word (at most 300 characters); null if nothing is cited")

    @model_validator(mode="after")
    def _note_empty_lists(self) -> Self:
        """Say which lists are empty: they may be, as they are not the core of a profile."""
        for text in empty_list_notes(self, ("key_products", "recent_developments", "competitive_advantages")):
            self.note(text)
        return self

    def cited_figures(self) -> list[CitedFigure]:
        """The revenue estimate."""
        revenue = self.revenue_estimate_usd_millions
        if revenue is None:
            return []
        return [CitedFigure("revenue", f"{revenue:,.1f} million USD",
                            Claim(FigureKind.REVENUE, revenue, "USD", scale=1e6, subject=self.name), self)]

    def headline(self) -> str:
        """One line for the status card: the industry."""
        return self.industry


INSTRUCTIONS = """You are an equity and competitive-intelligence analyst. Profile the company named in the
request: its industry, market position, key products or services, recent developments, competitive
advantages, and where you know them the founding year, approximate head count and latest annual
revenue in million USD (null when you do not know; never guess wildly).
If the name is ambiguous, profile the best-known company of that name and say so in market_position."""

SPEC = AgentSpec(key="company", title="Company profile", instructions=INSTRUCTIONS, output_type=CompanyProfile,
                 max_output_tokens=2000, cites_evidence=True)
