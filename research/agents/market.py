"""The market agent: size, growth, trends, drivers and risks of a market."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from research.agents.common import CITES_HELP, QUOTE_HELP, CitedFigure, Cites, Claim, FigureKind, Quote, Sourced
from research.agents.fields import CurrencyCode, Number, Scale, Year, empty_list_notes, known_currency, text_list
from research.agents.spec import AgentSpec

SCALE_FACTOR: dict[str, float] = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}

PLAUSIBLE_GROWTH_PERCENT = 100.0
"""A growth rate beyond ± this many % a year is implausible for a whole market: kept, flagged, never projected."""

WORLD_OUTPUT_USD = 1e14
"""About the world's yearly economic output in USD (100 trillion): no market is larger."""

SMALLEST_MARKET_USD = 1e6
"""Below about a million USD a year no "market" is worth a research report: a figure that small is a scale error."""

AT_LEAST_A_DOLLAR = frozenset({"USD", "EUR", "GBP", "CHF"})
"""Currencies whose unit is worth about one to one and a half US dollars, so the bounds hold for amounts in them
without an exchange rate (other currencies are not checked)."""


class MarketSize(BaseModel):
    """The market's size in one year, e.g. 12.5 billion USD in 2025."""

    model_config = ConfigDict(extra="ignore")

    value: Number = Field(ge=0, description="Size as a number in the given scale, e.g. 12.5")
    currency: CurrencyCode
    scale: Scale
    year: Year
    cites: Cites = Field(default_factory=list, description=CITES_HELP)
    quote: Quote = Field(default=None, description=QUOTE_HELP)

    @property
    def absolute(self) -> float:
        """The size in currency units (value times scale)."""
        return self.value * SCALE_FACTOR[self.scale]


class Growth(BaseModel):
    """Compound annual growth over a period (the period may be unknown)."""

    model_config = ConfigDict(extra="ignore")

    cagr_percent: Number = Field(ge=-100, le=1000, description="Compound annual growth rate in %")
    start_year: Year | None = Field(default=None, description="First year of the period")
    end_year: Year | None = Field(default=None, description="Last year of the period, after start_year")
    cites: Cites = Field(default_factory=list, description=CITES_HELP)
    quote: Quote = Field(default=None, description=QUOTE_HELP)

    @property
    def period(self) -> str:
        """The period as text, e.g. "2025–2030", or "" when unknown."""
        return f"{self.start_year}–{self.end_year}" if self.start_year and self.end_year else ""

    @property
    def plausible(self) -> bool:
        """False for a rate beyond ±:data:`PLAUSIBLE_GROWTH_PERCENT` a year, which no projection is drawn from."""
        return abs(self.cagr_percent) <= PLAUSIBLE_GROWTH_PERCENT


class MarketData(Sourced):
    """Output of the market agent."""

    market_size: MarketSize = Field(title="market size")
    growth: Growth = Field(title="growth rate")
    key_trends: text_list(8, at_least=0) = Field(default_factory=list, title="key trends")  # type: ignore[valid-type]
    drivers: text_list(8, at_least=0) = Field(default_factory=list, title="growth drivers")  # type: ignore[valid-type]
    risks: text_list(8, at_least=0) = Field(default_factory=list, title="risks")  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _note_inconsistencies(self) -> MarketData:
        """Fix what can be fixed without guessing and say so; never reject the answer here."""
        growth, currency = self.growth, self.market_size.currency
        if growth.start_year is not None and growth.end_year is not None and growth.end_year <= growth.start_year:
            if growth.end_year < growth.start_year:
                growth.start_year, growth.end_year = growth.end_year, growth.start_year
                self.note(f"Growth period was given backwards; read as {growth.period}.")
            else:
                self.note(f"Growth period was unclear ({growth.start_year}–{growth.end_year}); "
                          "the rate is shown without it.")
                growth.start_year = growth.end_year = None
        elif (growth.start_year is None) != (growth.end_year is None):
            growth.start_year = growth.end_year = None
            self.note("Growth period was incomplete; the rate is shown without it.")
        if not known_currency(currency):
            self.note(f"Currency “{currency}” is not a known ISO 4217 code; amounts are shown as written.")
        for text in [*self._implausible_figures(), *empty_list_notes(self, ("key_trends", "drivers", "risks"))]:
            self.note(text)
        return self

    def _implausible_figures(self) -> list[str]:
        """Notes on figures no real market can have; the figures are kept as given."""
        size, growth = self.market_size, self.growth
        notes: list[str] = []
        if size.currency in AT_LEAST_A_DOLLAR and size.absolute > WORLD_OUTPUT_USD:
            notes.append(f"A market size of {size.value:,.6g} {size.scale} {size.currency} is more than the whole "
                         "world's yearly output (about 100 trillion USD) and is implausible; it is shown as given.")
        if size.currency in AT_LEAST_A_DOLLAR and size.absolute < SMALLEST_MARKET_USD:
            notes.append(f"A market size of {size.value:,.6g} {size.scale} {size.currency} is implausibly small for a "
                         "whole market (a scale error?); it is shown as given.")
        if not growth.plausible:
            notes.append(f"A growth rate of {growth.cagr_percent:g} % a year is implausible; "
                         "no projection is drawn from it.")
        if growth.end_year is not None and growth.end_year <= size.year:
            when = "in" if growth.end_year == size.year else "before"
            notes.append(f"The growth period ({growth.period}) ends {when} the year of the market size ({size.year}); "
                         "no projection is drawn from it.")
        return notes

    @property
    def projection_end(self) -> int | None:
        """The last year the size may be projected to: the growth period's end, if it lies after the size's
        year and the rate is plausible; else None (no projection). Every projection shown ends here."""
        end = self.growth.end_year
        return end if end is not None and end > self.market_size.year and self.growth.plausible else None

    def cited_figures(self) -> list[CitedFigure]:
        """The market size and the growth rate."""
        size, growth = self.market_size, self.growth
        period = (growth.start_year, growth.end_year) if growth.start_year and growth.end_year else None
        return [CitedFigure("market size", f"{size.value:g} {size.scale} {size.currency} ({size.year})",
                            Claim(FigureKind.MARKET_SIZE, size.value, size.currency, scale=SCALE_FACTOR[size.scale],
                                  year=size.year), size),
                CitedFigure("growth rate", f"{growth.cagr_percent:g} % a year" + (f" ({growth.period})" if period else ""),
                            Claim(FigureKind.GROWTH, growth.cagr_percent, "%", period=period), growth)]

    def derived_numbers(self) -> list[float]:
        """The projected size at :attr:`projection_end`, in the stated scale and in currency units."""
        if self.projection_end is None:
            return []
        projected = self.projected_size(self.projection_end)
        return [projected, projected * SCALE_FACTOR[self.market_size.scale]]

    def projected_size(self, year: int) -> float:
        """Market size (in the stated scale) in ``year``, compounding the CAGR from the base year."""
        years = year - self.market_size.year
        return self.market_size.value * (1 + self.growth.cagr_percent / 100) ** years

    def headline(self) -> str:
        """One line for the status card, e.g. "USD 12.5 billion (2025) · CAGR 8 %"."""
        size = self.market_size
        return f"{size.currency} {size.value:,.1f} {size.scale} ({size.year}) · CAGR {self.growth.cagr_percent:g} %"


INSTRUCTIONS = """You are a market analyst. For the market named in the request, estimate:
- the market size (a number with currency, scale and the year it refers to),
- its compound annual growth rate (CAGR, in percent) over a stated period (start_year before end_year),
- the key trends, growth drivers and risks (short phrases, most important first, at most 8 each).
Give numbers as numbers and the currency as an ISO 4217 code (USD, EUR, PLN, ...). Set `as_of` to
the date your figures refer to."""

SPEC = AgentSpec(key="market", title="Market analysis", instructions=INSTRUCTIONS, output_type=MarketData,
                 max_output_tokens=2000, cites_evidence=True)
