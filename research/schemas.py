"""Shared pydantic building blocks for the agents' structured outputs.

Each agent module defines its own output model next to its prompt; the pieces
they share (sources, as-of dates, percentages, short text lists) live here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

ShortText = Annotated[str, Field(min_length=1, max_length=400)]
LongText = Annotated[str, Field(min_length=1, max_length=6000)]
Percent = Annotated[float, Field(ge=0, le=100)]

SHARE_TOLERANCE = 105.0
"""Estimated shares may overlap a little; a total beyond this is impossible."""


class Source(BaseModel):
    """A reference the model cites for its figures."""

    model_config = ConfigDict(extra="forbid")

    title: ShortText
    url: str | None = Field(default=None, description="http(s) URL of the source, or null")

    @field_validator("url")
    @classmethod
    def _keep_web_urls_only(cls, value: str | None) -> str | None:
        """Drop anything that is not a plain http(s) link (e.g. `javascript:`)."""
        if value is None:
            return None
        parts = urlsplit(value.strip())
        if parts.scheme in ("http", "https") and parts.netloc and " " not in value.strip():
            return value.strip()
        return None


class Sourced(BaseModel):
    """Base for research objects: they may cite sources and give an as-of date."""

    model_config = ConfigDict(extra="forbid")

    sources: list[Source] = Field(
        default_factory=list, max_length=12, description="Sources for the figures; empty if none"
    )
    as_of: dt.date | None = Field(default=None, description="Date the figures refer to (YYYY-MM-DD), or null")

    @property
    def is_estimate(self) -> bool:
        """True when no source backs the figures, so they must be shown as estimates."""
        return not self.sources


def check_share_total(shares: Iterable[float | None], what: str) -> None:
    """Raise ``ValueError`` when estimated shares add up to well over 100 %."""
    total = sum(share for share in shares if share is not None)
    if total > SHARE_TOLERANCE:
        raise ValueError(f"{what} shares add up to {total:.0f} %, more than 100 %")
