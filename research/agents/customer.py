"""The customer agent: segments, their needs and willingness to pay."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from research.agents.common import CITES_HELP, QUOTE_HELP, Cites, Quote, ShareBreakdown
from research.agents.fields import Level, Percent, ShortText, clip_list, text_list
from research.agents.spec import AgentSpec

WTP_SCORE: dict[str, int] = {"low": 1, "medium": 2, "high": 3}


class WillingnessToPay(BaseModel):
    """How much a segment will pay, as a level with a short explanation."""

    model_config = ConfigDict(extra="ignore")

    level: Level | None = Field(default=None, description="low, medium or high")
    note: ShortText | None = Field(default=None, description="Why, in a few words, or null")


class CustomerSegment(BaseModel):
    """One group of customers."""

    model_config = ConfigDict(extra="ignore")

    name: ShortText
    share_percent: Percent | None = Field(default=None, description="Estimated share of the market's customers in %, or null")
    size_note: ShortText | None = Field(default=None, description="The segment's size in words, e.g. '~40k mid-size firms in the EU'")
    pain_points: text_list(6, at_least=0) = Field(default_factory=list)  # type: ignore[valid-type]
    buying_patterns: text_list(6, at_least=0) = Field(default_factory=list)  # type: ignore[valid-type]
    willingness_to_pay: WillingnessToPay
    cites: Cites = Field(default_factory=list, description=CITES_HELP)
    quote: Quote = Field(default=None, description=QUOTE_HELP)


class CustomerReport(ShareBreakdown):
    """Output of the customer agent."""

    parts_field, share_field, part_noun = "segments", "share_percent", "Segment"
    minor_lists = ("pain_points", "buying_patterns")

    segments: Annotated[list[CustomerSegment], BeforeValidator(clip_list(6))] = Field(
        min_length=1, max_length=6, title="customer segments")

    def headline(self) -> str:
        """One line for the status card, e.g. "4 segments · largest Families"."""
        return f"{len(self.segments)} segments · largest {self.largest().name}"


INSTRUCTIONS = """You are a customer-research analyst. For the market named in the request, describe
2 to 6 customer segments: name, estimated share of customers in percent (null if unknown), size in
words, pain points, buying patterns, and willingness to pay (low, medium or high, with a short note).
Segment shares cannot add up to more than 100 %."""

SPEC = AgentSpec(key="customer", title="Customer analysis", instructions=INSTRUCTIONS,
                 output_type=CustomerReport, max_output_tokens=3000, cites_evidence=True)
