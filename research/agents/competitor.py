"""The competitor agent: the main players, their shares and positioning."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from research.agents.common import CITES_HELP, QUOTE_HELP, Cites, Quote, ShareBreakdown
from research.agents.fields import Percent, ShortText, clip_list, text_list
from research.agents.spec import AgentSpec


class CompetitorProfile(BaseModel):
    """One competitor in the market."""

    model_config = ConfigDict(extra="ignore")

    name: ShortText
    market_share_percent: Percent | None = Field(default=None, description="Estimated market share in %, or null if unknown")
    positioning: ShortText
    strengths: text_list(5, at_least=0) = Field(default_factory=list)  # type: ignore[valid-type]
    weaknesses: text_list(5, at_least=0) = Field(default_factory=list)  # type: ignore[valid-type]
    cites: Cites = Field(default_factory=list, description=CITES_HELP)
    quote: Quote = Field(default=None, description=QUOTE_HELP)


class CompetitorReport(ShareBreakdown):
    """Output of the competitor agent."""

    parts_field, share_field, part_noun = "competitors", "market_share_percent", "Competitor"
    minor_lists = ("strengths", "weaknesses")

    competitors: Annotated[list[CompetitorProfile], BeforeValidator(clip_list(8))] = Field(
        min_length=1, max_length=8, title="competitors")

    def headline(self) -> str:
        """One line for the status card, e.g. "5 competitors · leader Acme"."""
        return f"{len(self.competitors)} competitors · leader {self.largest().name}"


INSTRUCTIONS = """You are a competitive-intelligence analyst. For the market named in the request,
profile the 3 to 8 most important competitors: name, estimated market share in percent (null if you
cannot estimate it), positioning in one sentence, main strengths and weaknesses.
Shares are of the whole market, so together they cannot exceed 100 %. Name real companies only."""

SPEC = AgentSpec(key="competitor", title="Competitor analysis", instructions=INSTRUCTIONS,
                 output_type=CompetitorReport, max_output_tokens=3000, cites_evidence=True)
