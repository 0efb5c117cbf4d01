"""The competitor agent: the main players, their shares and positioning."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from research.agents.common import (
    CITES_HELP,
    CitedFigure,
    Cites,
    Sourced,
    merge_duplicates,
    note_share_total,
    share_total,
    union,
)
from research.agents.fields import Percent, ShortText, clip_list, text_list
from research.agents.spec import AgentSpec


class CompetitorProfile(BaseModel):
    """One competitor in the market."""

    model_config = ConfigDict(extra="ignore")

    name: ShortText
    market_share_percent: Percent | None = Field(default=None, description="Estimated market share in %, or null if unknown")
    positioning: ShortText
    strengths: text_list(5)  # type: ignore[valid-type]
    weaknesses: text_list(5)  # type: ignore[valid-type]
    cites: Cites = Field(default_factory=list, description=CITES_HELP)


def _merge(kept: CompetitorProfile, other: CompetitorProfile) -> None:
    if kept.market_share_percent is None:
        kept.market_share_percent = other.market_share_percent
    kept.strengths = union(kept.strengths, other.strengths, 5)
    kept.weaknesses = union(kept.weaknesses, other.weaknesses, 5)


class CompetitorReport(Sourced):
    """Output of the competitor agent."""

    competitors: Annotated[list[CompetitorProfile], BeforeValidator(clip_list(8))] = Field(
        min_length=1, max_length=8, title="competitors")

    @model_validator(mode="after")
    def _note_inconsistencies(self) -> CompetitorReport:
        """Merge duplicates and flag impossible share totals; never reject the answer here."""
        self.competitors = merge_duplicates(self.competitors, lambda c: c.name, _merge, self, "Competitor")
        note_share_total(self, (c.market_share_percent for c in self.competitors), "Competitor")
        return self

    def cited_figures(self) -> list[CitedFigure]:
        """Each competitor's estimated market share."""
        return [CitedFigure(f"share of {c.name}", f"{c.market_share_percent:g} %", (c.market_share_percent,), c)
                for c in self.competitors if c.market_share_percent is not None]

    def derived_numbers(self) -> list[float]:
        """The total of the shares."""
        return [self.share_total]

    @property
    def share_total(self) -> float:
        """The sum of the known shares (may exceed 100 when the model's estimates overlap)."""
        return share_total(c.market_share_percent for c in self.competitors)

    def headline(self) -> str:
        """One line for the status card, e.g. "5 competitors · leader Acme"."""
        leader = max(self.competitors, key=lambda c: c.market_share_percent or 0)
        return f"{len(self.competitors)} competitors · leader {leader.name}"


INSTRUCTIONS = """You are a competitive-intelligence analyst. For the market named in the request,
profile the 3 to 8 most important competitors: name, estimated market share in percent (null if you
cannot estimate it), positioning in one sentence, main strengths and weaknesses.
Shares are of the whole market, so together they cannot exceed 100 %. Name real companies only."""

SPEC = AgentSpec(key="competitor", title="Competitor analysis", instructions=INSTRUCTIONS,
                 output_type=CompetitorReport, max_output_tokens=3000, cites_evidence=True)
