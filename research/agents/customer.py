"""The customer agent: segments, their needs and willingness to pay."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from research.agents.base import DATA_NOTICE, AgentSpec
from research.schemas import Percent, ShortText, Sourced, check_share_total

WtpLevel = Literal["low", "medium", "high"]
WTP_SCORE: dict[str, int] = {"low": 1, "medium": 2, "high": 3}


class WillingnessToPay(BaseModel):
    """How much a segment will pay, as a level with a short explanation."""

    model_config = ConfigDict(extra="forbid")

    level: WtpLevel
    note: ShortText


class CustomerSegment(BaseModel):
    """One group of customers."""

    model_config = ConfigDict(extra="forbid")

    name: ShortText
    share_percent: Percent | None = Field(description="Estimated share of the market's customers in %, or null")
    size_note: ShortText = Field(description="The segment's size in words, e.g. '~40k mid-size firms in the EU'")
    pain_points: list[ShortText] = Field(min_length=1, max_length=6)
    buying_patterns: list[ShortText] = Field(min_length=1, max_length=6)
    willingness_to_pay: WillingnessToPay


class CustomerReport(Sourced):
    """Output of the customer agent."""

    segments: list[CustomerSegment] = Field(min_length=2, max_length=6)

    @model_validator(mode="after")
    def _shares_fit(self) -> CustomerReport:
        check_share_total((s.share_percent for s in self.segments), "segment")
        return self


INSTRUCTIONS = f"""You are a customer-research analyst. For the market named in the request, describe
2 to 6 customer segments: name, estimated share of customers in percent (null if unknown), size in
words, pain points, buying patterns, and willingness to pay (low, medium or high, with a short note).
Segment shares cannot add up to more than 100 %.
Cite sources only when you are sure they exist; otherwise leave `sources` empty.
{DATA_NOTICE}
Answer with a single JSON object that follows the schema."""

SPEC = AgentSpec(key="customer", title="Customer analysis", instructions=INSTRUCTIONS, output_type=CustomerReport)
