"""What a user asks for, checked once at the boundary into a typed request.

Front ends (the CLI, the pages) turn what a user typed into a
:class:`MarketRequest` or a :class:`CompanyRequest` with :meth:`parse`; bad
input raises :class:`InputError` with a one-line message before anything is
started. Everything after the boundary trusts the request.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_TOPIC_LENGTH = 200
MIN_TOPIC_LENGTH = 2
MAX_COMPANY_LENGTH = 100
MAX_COMPANIES = 50


class InputError(ValueError):
    """User input that cannot be researched; the message says why in one line."""


def _one_line(raw: str | None, what: str, example: str, maximum: int, minimum: int = 1) -> str:
    text = (raw or "").strip()
    if not text:
        raise InputError(f"Enter {what}, e.g. '{example}'.")
    noun = what.removeprefix("a ").removesuffix(" to research")
    if len(text) > maximum:
        raise InputError(f"The {noun} is {len(text)} characters long; the limit is {maximum}.")
    if len(text) < minimum:
        raise InputError("The topic is too short; describe a market or an industry.")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp") for ch in text):
        raise InputError(f"The {noun} contains control characters or line breaks; use a single line of text.")
    return " ".join(text.split())


def validate_topic(raw: str | None) -> str:
    """Return the topic with white space tidied, or raise :class:`InputError`.

    A topic is one line of 2 to 200 printable characters. Markup and
    instruction-like text are allowed here (they reach the model only as
    quoted data and are never rendered as HTML).
    """
    return _one_line(raw, "a topic to research", "electric vehicle charging in Europe", MAX_TOPIC_LENGTH, MIN_TOPIC_LENGTH)


def validate_company_names(raw: Iterable[str]) -> list[str]:
    """Trim, drop blank lines, de-duplicate (ignoring case) and check at most 50 names.

    Raises :class:`InputError` naming the first bad entry.
    """
    names: dict[str, str] = {}
    for line in raw:
        if line.strip():
            name = _one_line(line, "a company name", "Stripe", MAX_COMPANY_LENGTH)
            names.setdefault(name.casefold(), name)
    if not names:
        raise InputError("Enter at least one company name, e.g. 'Stripe'.")
    if len(names) > MAX_COMPANIES:
        raise InputError(f"{len(names)} companies given; the limit is {MAX_COMPANIES} per run.")
    return list(names.values())


class WorkflowKind(StrEnum):
    """The workflows a user can run."""

    MARKET = "market"
    COMPANIES = "companies"


class MarketRequest(BaseModel):
    """Research one market: the topic, already checked."""

    model_config = ConfigDict(frozen=True)

    kind: Literal[WorkflowKind.MARKET] = WorkflowKind.MARKET
    topic: str

    @classmethod
    def parse(cls, topic: str | None) -> MarketRequest:
        """The request for what the user typed, or :class:`InputError`."""
        return cls(topic=validate_topic(topic))

    @property
    def title(self) -> str:
        """How the job is named in lists: the topic."""
        return self.topic

    @property
    def intent(self) -> str:
        """What is asked, the same for the same request however it was typed (a digest: no user text)."""
        return _digest(self.kind, self.topic.casefold())


class CompanyRequest(BaseModel):
    """Profile several companies and compare them: the names, already checked, and an optional cap."""

    model_config = ConfigDict(frozen=True)

    kind: Literal[WorkflowKind.COMPANIES] = WorkflowKind.COMPANIES
    names: tuple[str, ...]
    concurrency: int | None = Field(default=None, ge=1, le=MAX_COMPANIES)

    @classmethod
    def parse(cls, names: Iterable[str], concurrency: int | None = None) -> CompanyRequest:
        """The request for the names the user gave, or :class:`InputError`."""
        if concurrency is not None and not 1 <= concurrency <= MAX_COMPANIES:
            raise InputError(f"Companies at once must be between 1 and {MAX_COMPANIES}.")
        return cls(names=tuple(validate_company_names(names)), concurrency=concurrency)

    @property
    def title(self) -> str:
        """A short name for the batch, e.g. 'Stripe, Datadog, Vercel and 2 more'."""
        return ", ".join(self.names[:3]) + (f" and {len(self.names) - 3} more" if len(self.names) > 3 else "")

    @property
    def intent(self) -> str:
        """What is asked, the same for the same names and cap however they were typed (a digest: no user text)."""
        return _digest(self.kind, *sorted(name.casefold() for name in self.names), str(self.concurrency))


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


ResearchRequest = Annotated[MarketRequest | CompanyRequest, Field(discriminator="kind")]
"""Any request, told apart by its ``kind``."""
