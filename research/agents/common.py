"""Shared pydantic building blocks for the agents' structured outputs.

Each agent module defines its own output model next to its prompt; what they
share lives here: :class:`AgentOutput` (every output carries its data notes),
sources and as-of dates, and helpers for the cross-field checks that turn a
model's inconsistencies into notes instead of rejections.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from research.agents.fields import PartialDate, ShortText, clip_list, empty_list_notes

SHARE_TOLERANCE = 100.5
"""Shares adding up to more than this are flagged (rounding may add a little over 100)."""



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
    """How far a figure is backed by its cited source (decided in code, see research.retrieval.grounding).

    Only *verified* earns a check mark; :attr:`mark` and :attr:`words` are how the
    report, the page and the charts name each status, in this one place.
    """

    VERIFIED = "verified"
    """A cited sentence states this value, scale, unit, subject and year."""
    DIFFERS = "source says otherwise"
    """A cited sentence states a different value for the same thing (and year)."""
    PERIOD_DIFFERS = "period differs"
    """A cited sentence states this value, but for another year or period (or for none)."""
    NOT_FOUND = "cited, not found in source"
    """No cited sentence states anything about this figure."""
    ESTIMATE = "estimate"
    """Nothing is cited: the model's own estimate."""
    ILLUSTRATIVE = "illustrative"
    """The offline demo's invented figure: never checked against a real source."""

    @property
    def mark(self) -> str:
        """The status as the report's tables show it, e.g. "✓ verified" or "⚠ source says otherwise"."""
        if self is FigureStatus.VERIFIED:
            return "✓ verified"
        return f"⚠ {self.value}" if self in _WARNED else self.value

    @property
    def short(self) -> str:
        """The status in a word or two, for a headline card's caption, e.g. "⚠ differs" or "demo"."""
        return _SHORT.get(self, self.value)

    @property
    def words(self) -> str:
        """The status in a chart's hover text, e.g. "verified against its source"."""
        return "verified against its source" if self is FigureStatus.VERIFIED else self.value


_WARNED = {FigureStatus.DIFFERS, FigureStatus.PERIOD_DIFFERS, FigureStatus.NOT_FOUND}
_SHORT = {FigureStatus.DIFFERS: "⚠ differs", FigureStatus.PERIOD_DIFFERS: "⚠ other period",
          FigureStatus.NOT_FOUND: "⚠ not found", FigureStatus.ILLUSTRATIVE: "demo"}


class SourceStatement(BaseModel):
    """What one evidence passage states about a figure: the value as written and the sentence it stands in."""

    cite: str
    """The passage's evidence id, e.g. "E1"."""
    title: str = ""
    url: str | None = None
    value: str
    """The value as the source writes it, e.g. "USD 48.0 billion" or "45–50 %"."""
    year: str | None = None
    """The year or period the source gives the value for, if any."""
    sentence: str
    """The sentence (or the model's verbatim quote of it) that states the value, whitespace folded."""

    @property
    def said(self) -> str:
        """The value with its year, e.g. "USD 48.0 billion (2025)"."""
        return f"{self.value} ({self.year})" if self.year else self.value


class FigureCheck(BaseModel):
    """One figure of a research output and what its check against the cited evidence found."""

    label: str
    value: str
    status: FigureStatus
    cites: list[str] = []
    statement: SourceStatement | None = None
    """The cited sentence the status rests on: the one that states the figure, or the one that says otherwise."""
    disagreeing: list[SourceStatement] = []
    """When passages state different values for this figure (same year and unit): one statement per value."""

    @property
    def range(self) -> str:
        """The spread of values the disagreeing sources state, e.g. "USD 48.0 billion – USD 52.0 billion"."""
        return " – ".join(dict.fromkeys(s.value for s in self.disagreeing))


class FigureKind(StrEnum):
    """What a figure measures, which decides what a sentence must hold to state it."""

    MARKET_SIZE = "market size"
    GROWTH = "growth rate"
    SHARE = "share"
    REVENUE = "revenue"


@dataclass(frozen=True)
class Claim:
    """What a figure claims, in the terms a source sentence is checked against."""

    kind: FigureKind
    value: float
    """The figure as written, in ``scale`` (48.0 for 48.0 billion; 12.5 for 12.5 %)."""
    unit: str
    """An ISO 4217 code for amounts, "%" for shares and rates."""
    scale: float = 1.0
    subject: str | None = None
    """The named thing the figure belongs to (a competitor, a segment, a company); None for the market itself."""
    others: tuple[str, ...] = ()
    """Names of the other things in the same output, whose numbers must not be taken for this one's."""
    year: int | None = None
    period: tuple[int, int] | None = None

    @property
    def absolute(self) -> float:
        """The value in units (48.0 billion -> 4.8e10)."""
        return self.value * self.scale


@dataclass(frozen=True)
class CitedFigure:
    """A figure as its output lists it: where it is, how it reads, what it claims, and what it cites."""

    label: str
    value: str
    claim: Claim
    owner: Any
    """The object whose ``cites`` list (and ``quote``) hold the figure's citations."""


Cites = Annotated[list[str], BeforeValidator(clip_list(6))]
CITES_HELP = "Evidence ids (E1, E2, …) of the passages that state this figure; empty if none does"
QUOTE_HELP = ("The sentence of the first cited passage that states this figure, copied word for word "
              "(at most 300 characters); null if nothing is cited")


def _quote_text(value: Any) -> str | None:
    """A quote as given (trimmed to 300 characters), or None for anything that is not text."""
    return (value.strip()[:300] or None) if isinstance(value, str) else None


Quote = Annotated[str | None, BeforeValidator(_quote_text)]


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

    def check_of(self, label: str) -> FigureCheck | None:
        """The check of the figure ``label``, if it was checked."""
        return next((f for f in self.figures if f.label == label), None)

    def status_of(self, label: str) -> FigureStatus:
        """The checked status of the figure ``label`` (an estimate until checked)."""
        check = self.check_of(label)
        return check.status if check else FigureStatus.ESTIMATE


class ShareBreakdown(Sourced):
    """A research output of named parts that each hold a share of the whole: competitors, customer segments.

    A subclass names its list of parts, each part's share field, and the noun its notes use. Parts
    listed twice are merged (their text lists joined, a missing share taken from the twin) and a
    share total over 100 % is flagged, never rejected; each known share is a figure checked
    against the evidence it cites.
    """

    parts_field: ClassVar[str]
    share_field: ClassVar[str]
    part_noun: ClassVar[str]
    minor_lists: ClassVar[tuple[str, ...]] = ()
    """Each part's lists that may be empty; an empty one is noted (e.g. "No strengths were given for “Acme”.")."""

    @property
    def parts(self) -> list[Any]:
        """The named parts (competitors, segments)."""
        return getattr(self, self.parts_field)

    def share_of(self, part: Any) -> float | None:
        """A part's share in %, or None when unknown."""
        return getattr(part, self.share_field)

    @model_validator(mode="after")
    def _note_inconsistencies(self) -> Self:
        """Merge duplicates and flag impossible share totals; never reject the answer here."""
        merged: dict[str, Any] = {}
        for part in self.parts:
            key = " ".join(part.name.lower().split())
            if key in merged:
                _merge_into(merged[key], part, self.share_field)
                self.note(f"{self.part_noun} “{merged[key].name}” was listed twice; the entries were merged.")
            else:
                merged[key] = part
        setattr(self, self.parts_field, list(merged.values()))
        if self.share_total > SHARE_TOLERANCE:
            self.note(f"{self.part_noun} shares add up to {self.share_total:.0f} %, more than the whole market; "
                      "they are shown as given.")
        for part in self.parts:  # after duplicates are merged
            for text in empty_list_notes(part, self.minor_lists, part.name):
                self.note(text)
        return self

    @property
    def share_total(self) -> float:
        """The sum of the known shares (may exceed 100 when the model's estimates overlap)."""
        return sum(share for share in map(self.share_of, self.parts) if share is not None)

    def largest(self) -> Any:
        """The part with the largest known share (the first one when none is known)."""
        return max(self.parts, key=lambda part: self.share_of(part) or 0)

    def cited_figures(self) -> list[CitedFigure]:
        """Each part's known share."""
        names = tuple(part.name for part in self.parts)
        return [CitedFigure(f"share of {part.name}", f"{share:g} %",
                            Claim(FigureKind.SHARE, share, "%", subject=part.name,
                                  others=tuple(n for n in names if n != part.name)), part)
                for part in self.parts if (share := self.share_of(part)) is not None]

    def derived_numbers(self) -> list[float]:
        """The total of the shares."""
        return [self.share_total]


def _merge_into(kept: BaseModel, twin: BaseModel, share_field: str) -> None:
    """Fill ``kept``'s unknown share from ``twin`` and join their text lists (within each list's limit)."""
    if getattr(kept, share_field) is None:
        setattr(kept, share_field, getattr(twin, share_field))
    for name, info in type(kept).model_fields.items():
        mine, theirs = getattr(kept, name), getattr(twin, name)
        if name != "cites" and isinstance(mine, list) and all(isinstance(text, str) for text in mine + theirs):
            limit = next((m.max_length for m in info.metadata if hasattr(m, "max_length")), None)
            seen = {text.lower() for text in mine}
            setattr(kept, name, (mine + [text for text in theirs if text.lower() not in seen])[:limit])
