"""The competitor agent: the main players, their shares and positioning."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from research.agents.base import DATA_NOTICE, AgentSpec
from research.schemas import Percent, ShortText, Sourced, check_share_total


class CompetitorProfile(BaseModel):
    """One competitor in the market."""

    model_config = ConfigDict(extra="forbid")

    name: ShortText
    market_share_percent: Percent | None = Field(description="Estimated market share in %, or null if unknown")
    positioning: ShortText
    strengths: list[ShortText] = Field(min_length=1, max_length=5)
    weaknesses: list[ShortText] = Field(min_length=1, max_length=5)


class CompetitorReport(Sourced):
    """Output of the competitor agent."""

    competitors: list[CompetitorProfile] = Field(min_length=3, max_length=8)

    @model_validator(mode="after")
    def _shares_fit(self) -> CompetitorReport:
        check_share_total((c.market_share_percent for c in self.competitors), "competitor")
        names = [c.name.strip().lower() for c in self.competitors]
        if len(set(names)) != len(names):
            raise ValueError("each competitor must appear once")
        return self


INSTRUCTIONS = f"""You are a competitive-intelligence analyst. For the market named in the request,
profile the 3 to 8 most important competitors: name, estimated market share in percent (null if you
cannot estimate it), positioning in one sentence, main strengths and weaknesses.
Shares are of the whole market, so together they cannot exceed 100 %. Name real companies only.
Cite sources only when you are sure they exist; otherwise leave `sources` empty.
{DATA_NOTICE}
Answer with a single JSON object that follows the schema."""

SPEC = AgentSpec(key="competitor", title="Competitor analysis", instructions=INSTRUCTIONS, output_type=CompetitorReport)
