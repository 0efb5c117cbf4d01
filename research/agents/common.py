"""Shared pydantic building blocks for the agents' structured outputs.

Each agent module defines its own output model next to its prompt; what they
share lives here: :class:`AgentOutput` (every output carries its data notes),
sources and as-of dates, and helpers for the cross-field checks that turn a
model's inconsistencies into notes instead of rejections.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Annotated, TypeVar
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


class Source(BaseModel):
    """A reference the model cites for its figures."""

    model_config = ConfigDict(extra="ignore")

    title: ShortText
    url: str | None = Field(default=None, description="http(s) URL of the source, or null")

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
    """Base for research objects: they may cite sources and give an as-of date."""

    sources: Annotated[list[Source], BeforeValidator(clip_list(12))] = Field(
        default_factory=list, max_length=12, description="Sources for the figures; empty if none"
    )
    as_of: PartialDate | None = Field(default=None, description="Date the figures refer to (YYYY, YYYY-MM or YYYY-MM-DD), or null")

    @property
    def is_estimate(self) -> bool:
        """True when no source backs the figures, so they must be shown as estimates."""
        return not self.sources


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
