"""The market agent: size, growth, trends, drivers and risks of a market."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from research.agents.base import DATA_NOTICE, AgentSpec
from research.schemas import ShortText, Sourced

Scale = Literal["thousand", "million", "billion", "trillion"]
SCALE_FACTOR: dict[str, float] = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}


class MarketSize(BaseModel):
    """The market's size in one year, e.g. 12.5 billion USD in 2025."""

    model_config = ConfigDict(extra="forbid")

    value: float = Field(ge=0, description="Size as a number in the given scale, e.g. 12.5")
    currency: str = Field(min_length=3, max_length=3, description="ISO 4217 code, e.g. USD")
    scale: Scale
    year: int = Field(ge=1990, le=2100)

    @property
    def absolute(self) -> float:
        """The size in currency units (value times scale)."""
        return self.value * SCALE_FACTOR[self.scale]


class Growth(BaseModel):
    """Compound annual growth over a period."""

    model_config = ConfigDict(extra="forbid")

    cagr_percent: float = Field(ge=-100, le=1000, description="Compound annual growth rate in %")
    start_year: int = Field(ge=1990, le=2100)
    end_year: int = Field(ge=1990, le=2100)

    @model_validator(mode="after")
    def _period_runs_forward(self) -> Growth:
        if self.end_year <= self.start_year:
            raise ValueError("growth end_year must come after start_year")
        return self


class MarketData(Sourced):
    """Output of the market agent."""

    market_size: MarketSize
    growth: Growth
    key_trends: list[ShortText] = Field(min_length=1, max_length=8)
    drivers: list[ShortText] = Field(min_length=1, max_length=8)
    risks: list[ShortText] = Field(min_length=1, max_length=8)

    def projected_size(self, year: int) -> float:
        """Market size (in the stated scale) in ``year``, compounding the CAGR from the base year."""
        years = year - self.market_size.year
        return self.market_size.value * (1 + self.growth.cagr_percent / 100) ** years


INSTRUCTIONS = f"""You are a market analyst. For the market named in the request, estimate:
- the market size (a number with currency, scale and the year it refers to),
- its compound annual growth rate (CAGR, in percent) over a stated period,
- the key trends, growth drivers and risks (short phrases, most important first).
Give numbers as numbers. Cite sources with titles and URLs only when you are sure they exist;
otherwise leave `sources` empty so the figures are shown as estimates. Set `as_of` to the date your
figures refer to.
{DATA_NOTICE}
Answer with a single JSON object that follows the schema."""

SPEC = AgentSpec(key="market", title="Market analysis", instructions=INSTRUCTIONS, output_type=MarketData)
