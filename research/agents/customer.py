"""The customer agent: segments, their needs and willingness to pay."""

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
from research.agents.fields import Level, Percent, ShortText, clip_list, text_list
from research.agents.spec import AgentSpec

WTP_SCORE: dict[str, int] = {"low": 1, "medium": 2, "high": 3}


class WillingnessToPay(BaseModel):
    """How much a segment will pay, as a level with a short explanation."""

    model_config = ConfigDict(extra="ignore")

    level: Level | None = Field(default=None, description="low, medium or high")
    note: ShortText


class CustomerSegment(BaseModel):
    """One group of customers."""

    model_config = ConfigDict(extra="ignore")

    name: ShortText
    share_percent: Percent | None = Field(default=None, description="Estimated share of the market's customers in %, or null")
    size_note: ShortText = Field(description="The segment's size in words, e.g. '~40k mid-size firms in the EU'")
    pain_points: text_list(6)  # type: ignore[valid-type]
    buying_patterns: text_list(6)  # type: ignore[valid-type]
    willingness_to_pay: WillingnessToPay
    cites: Cites = Field(default_factory=list, description=CITES_HELP)


def _merge(kept: CustomerSegment, other: CustomerSegment) -> None:
    if kept.share_percent is None:
        kept.share_percent = other.share_percent
    kept.pain_points = union(kept.pain_points, other.pain_points, 6)
    kept.buying_patterns = union(kept.buying_patterns, other.buying_patterns, 6)


class CustomerReport(Sourced):
    """Output of the customer agent."""

    segments: Annotated[list[CustomerSegment], BeforeValidator(clip_list(6))] = Field(
        min_length=1, max_length=6, title="customer segments")

    @model_validator(mode="after")
    def _note_inconsistencies(self) -> CustomerReport:
        """Merge duplicates and flag impossible share totals; never reject the answer here."""
        self.segments = merge_duplicates(self.segments, lambda s: s.name, _merge, self, "Segment")
        note_share_total(self, (s.share_percent for s in self.segments), "Segment")
        return self

    def cited_figures(self) -> list[CitedFigure]:
        """Each segment's estimated share of customers."""
        return [CitedFigure(f"share of {s.name}", f"{s.share_percent:g} %", (s.share_percent,), s)
                for s in self.segments if s.share_percent is not None]

    def derived_numbers(self) -> list[float]:
        """The total of the shares."""
        return [self.share_total]

    @property
    def share_total(self) -> float:
        """The sum of the known shares (may exceed 100 when the model's estimates overlap)."""
        return share_total(s.share_percent for s in self.segments)

    def headline(self) -> str:
        """One line for the status card, e.g. "4 segments · largest Families"."""
        largest = max(self.segments, key=lambda s: s.share_percent or 0)
        return f"{len(self.segments)} segments · largest {largest.name}"


INSTRUCTIONS = """You are a customer-research analyst. For the market named in the request, describe
2 to 6 customer segments: name, estimated share of customers in percent (null if unknown), size in
words, pain points, buying patterns, and willingness to pay (low, medium or high, with a short note).
Segment shares cannot add up to more than 100 %."""

SPEC = AgentSpec(key="customer", title="Customer analysis", instructions=INSTRUCTIONS,
                 output_type=CustomerReport, max_output_tokens=3000, cites_evidence=True)
