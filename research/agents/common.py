"""Shared pydantic building blocks for the agents' structured outputs.

Each agent module defines its own output model next to its prompt; what they
share lives here: :class:`AgentOutput` (every output carries its data notes),
sources and as-of dates, and helpers for the cross-field checks that turn a
model's inconsistencies into notes instead of rejections.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

from research.agents.fields import PartialDate, ShortText, clip_list

SHARE_TOLERANCE = 100.5
"""Shares adding up to more than this are flagged (rounding may add a little over 100)."""

ItemT = TypeVar("ItemT", bound=BaseModel)


class AgentOutput(BaseModel):
    """Base of every agent's output: unknown keys are ignored, and ``notes`` say what was fixed.

    ``notes`` are written by the app, never by the model: they are not in the
    schema sent to the model, and a ``notes`` key in an answer is discarded.
    """

    model_config = ConfigDict(extra="ignore")

    notes: SkipJsonSchema[list[str]] = Field(
        default_factory=list, description="What the app fixed or dropped in the model's answer, in plain words")

    def note(self, text: str) -> None:
        """Record a data note (once)."""
        if text not in self.notes:
            self.notes.append(text)


class FigureStatus(StrEnum):
    """How far a figure is backed by its cited source (decided in code, see research.retrieval.grounding)."""

    VERIFIED = "verified"
    NOT_FOUND = "cited, not found in source"
    ESTIMATE = "estimate"


class FigureCheck(BaseModel):
    """One figure of a research output and what its check against the cited evidence found."""

    label: str
    value: str
    status: FigureStatus
    cites: list[str] = []


@dataclass(frozen=True)
class CitedFigure:
    """A figure as its output lists it: where it is, how it reads, its number(s), and what it cites."""

    label: str
    value: str
    numbers: tuple[float, ...]
    """The figure as written and in absolute units (e.g. 23.7 and 23.7e9)."""
    owner: Any
    """The object whose ``cites`` list holds the figure's citations."""


Cites = Annotated[list[str], BeforeValidator(clip_list(6))]
CITES_HELP = "Evidence ids (E1, E2, …) of the passages that state this figure; empty if none does"


class Source(BaseModel):
    """A page a report's figures rest on: one of the passages the agent was given and cited."""

    model_config = ConfigDict(extra="ignore")

    title: ShortText
    url: str | None = Field(default=None, description="http(s) URL of the source, or null")
    retrieved_at: float | None = None
    """When the page was read (epoch seconds)."""

    @field_validator("url", mode="before")
    @classmethod
    def _keep_web_urls_only(cls, value: object) -> str | None:
        """Drop anything that is not a plain http(s) link (e.g. `javascript:`)."""
        if not isinstance(value, str):
            return None
        parts = urlsplit(value.strip())
        if parts.scheme in ("http", "https") and parts.netloc and " " not in value.strip():
            return value.strip()
        return None


class Sourced(AgentOutput):
    """Base for research objects: figures that cite evidence, the sources behind them, an as-of date.

    ``sources`` and ``figures`` are the app's: they are filled from the evidence
    the figures cite (research.retrieval.grounding), never taken from the model.
    """

    sources: SkipJsonSchema[Annotated[list[Source], BeforeValidator(clip_list(12))]] = Field(
        default_factory=list, max_length=12)
    figures: SkipJsonSchema[list[FigureCheck]] = Field(default_factory=list)
    as_of: PartialDate | None = Field(default=None, description="Date the figures refer to (YYYY, YYYY-MM or YYYY-MM-DD), or null")

    @property
    def is_estimate(self) -> bool:
        """True when no source backs the figures, so they must be shown as estimates."""
        return not self.sources

    def cited_figures(self) -> list[CitedFigure]:
        """The figures to check against their cited evidence (see research.retrieval.grounding)."""
        return []

    def derived_numbers(self) -> list[float]:
        """Numbers a writer may fairly derive from these figures (e.g. a projection); checked like the figures."""
        return []

    def status_of(self, label: str) -> FigureStatus:
        """The checked status of the figure ``label`` (an estimate until checked)."""
        return next((f.status for f in self.figures if f.label == label), FigureStatus.ESTIMATE)


def share_total(shares: Iterable[float | None]) -> float:
    """The sum of the shares that are known."""
    return sum(share for share in shares if share is not None)


def note_share_total(output: AgentOutput, shares: Iterable[float | None], what: str) -> None:
    """Add a note when shares add up to more than the whole; the shares are kept as given."""
    total = share_total(shares)
    if total > SHARE_TOLERANCE:
        output.note(f"{what} shares add up to {total:.0f} %, more than the whole market; they are shown as given.")


def merge_duplicates(items: list[ItemT], name: Callable[[ItemT], str], merge: Callable[[ItemT, ItemT], None],
                     output: AgentOutput, what: str) -> list[ItemT]:
    """Items with the same name (ignoring case and spacing) merged into the first; a note per merge."""
    kept: dict[str, ItemT] = {}
    for item in items:
        key = " ".join(name(item).lower().split())
        if key in kept:
            merge(kept[key], item)
            output.note(f"{what} “{name(kept[key])}” was listed twice; the entries were merged.")
        else:
            kept[key] = item
    return list(kept.values())


def union(first: list[str], second: list[str], limit: int) -> list[str]:
    """``first`` followed by the items of ``second`` it lacks, at most ``limit``."""
    seen = {text.lower() for text in first}
    return (first + [text for text in second if text.lower() not in seen])[:limit]
