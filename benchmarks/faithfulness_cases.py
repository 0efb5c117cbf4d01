"""Hand-written figure/passage cases for the faithfulness benchmark, each with the status the rules must give.

Every case is one figure a model might report (:class:`Claim`), the passages it
cites (and any it does not), the model's quote if any, and the expected status.
They cover each grounding rule: exact, rounded, scale words, magnitude errors,
another entity's number, another year's number, % against percentage points,
the wrong currency, a number only in another sentence, quotes that are not
verbatim, sources that disagree, and stated ranges. ``tests/test_faithfulness.py``
runs every case; ``python -m benchmarks --faithfulness`` prints the scores.
"""

from __future__ import annotations

from dataclasses import dataclass

from research.agents.common import Claim, FigureKind, FigureStatus

V, DIFFERS, PERIOD, NOT_FOUND, ESTIMATE = (FigureStatus.VERIFIED, FigureStatus.DIFFERS, FigureStatus.PERIOD_DIFFERS,
                                           FigureStatus.NOT_FOUND, FigureStatus.ESTIMATE)
_SCALE = {"thousand": 1e3, "million": 1e6, "billion": 1e9}


def size(value: float, scale: str = "billion", currency: str = "USD", year: int = 2025) -> Claim:
    """A market size claim, e.g. 48.0 billion USD in 2025."""
    return Claim(FigureKind.MARKET_SIZE, value, currency, scale=_SCALE[scale], year=year)


def growth(rate: float, period: tuple[int, int] | None = (2025, 2030)) -> Claim:
    """A growth-rate claim (CAGR in %, over a period)."""
    return Claim(FigureKind.GROWTH, rate, "%", period=period)


def share(name: str, value: float, *others: str) -> Claim:
    """A competitor's or segment's share in %, with the other names in the same output."""
    return Claim(FigureKind.SHARE, value, "%", subject=name, others=others)


def revenue(name: str, usd_millions: float) -> Claim:
    """A company's revenue in million USD."""
    return Claim(FigureKind.REVENUE, usd_millions, "USD", scale=1e6, subject=name)


@dataclass(frozen=True)
class Case:
    """One figure, what it cites, and the status the rules must give it."""

    rule: str
    claim: Claim
    cited: tuple[str, ...]
    """The texts of the passages the figure cites (E1, E2, …)."""
    expected: FigureStatus
    uncited: tuple[str, ...] = ()
    """Passages of the same evidence the figure does not cite (they count only for disagreement)."""
    quote: str | None = None
    published: str | None = None
    disagree: int = 0
    """How many distinct values the sources state when they disagree (0: they do not)."""


KNOWN_MISSES = {"as written, the share before the name"}
"""Cases the rules get wrong today (a name after its number, in another clause): a recall miss, never a false verified."""

VENDORS = "Leading vendors: Competitor Co 1 (31% share), Competitor Co 2 (22%), Competitor Co 3 (14%) and Competitor Co 4 (9%)."
SURVEY = "Of the buyers surveyed, 48% are small businesses and 22% are enterprises."
CO = ("Competitor Co 1", "Competitor Co 2", "Competitor Co 3", "Competitor Co 4")
SEGMENTS = ("Small businesses", "Enterprises")
SIZE_2025 = "The global widget market was valued at USD 48.0 billion in 2025."

CASES: tuple[Case, ...] = (
    # exact
    Case("exact", size(48.0), (SIZE_2025,), V),
    Case("exact, currency symbol", size(48.0), ("The widget market reached $48.0 billion in 2025.",), V),
    Case("exact, written out", size(48), ("The widget market reached 48,000,000,000 US dollars in 2025.",), V),
    Case("exact, European decimal comma", size(23.7, currency="EUR", year=2024),
         ("The widget market reached EUR 23,7 billion in 2024.",), V),
    Case("exact, growth with its period", growth(12.5),
         ("The widget market is expected to grow at a CAGR of 12.5% from 2025 to 2030.",), V),
    Case("exact, share in a list", share("Competitor Co 2", 22, *CO[:1], *CO[2:]), (VENDORS,), V),
    Case("exact, last share in a list", share("Competitor Co 4", 9, *CO[:3]), (VENDORS,), V),
    Case("exact, segment after its share", share("Small businesses", 48, "Enterprises"), (SURVEY,), V),
    Case("exact, segment after 'and'", share("Enterprises", 22, "Small businesses"), (SURVEY,), V),
    Case("exact, per cent in words", share("Small firms", 48), ("Small firms make up 48 per cent of buyers.",), V),
    Case("exact, revenue", revenue("Acme", 2500), ("Acme reported revenue of $2.5 billion in 2024.",), V),
    # rounded
    Case("rounded, size to a whole number", size(48), ("The widget market was valued at USD 47.96 billion in 2025.",), V),
    Case("rounded, rate to one decimal", growth(12.5, None), ("The widget market grows at a CAGR of 12.46%.",), V),
    Case("rounded, share", share("Acme", 31), ("Acme holds 30.8% of the widget market.",), V),
    Case("rounded too far", size(50), ("The widget market was valued at USD 47.6 billion in 2025.",), DIFFERS),
    Case("more precise than the source", size(48.3), ("The widget market was valued at USD 48 billion in 2025.",),
         DIFFERS),
    # scale words
    Case("scale, abbreviation", size(48), ("Widget market size: US$48bn (2025).",), V),
    Case("scale, abbreviation with a space", size(48), ("The widget market hit USD 48 bn in 2025.",), V),
    Case("scale, other unit of the same amount", size(48000, "million"), (SIZE_2025,), V),
    Case("scale, revenue in millions", revenue("Acme", 2.5), ("Acme's revenue was $2.5 million in 2024.",), V),
    # magnitude errors
    Case("magnitude, thousand for billion", size(48, "thousand"), (SIZE_2025,), DIFFERS),
    Case("magnitude, million for billion", size(48, "million"), (SIZE_2025,), DIFFERS),
    Case("magnitude, revenue", revenue("Acme", 2500), ("Acme's revenue was $2.5 million in 2024.",), DIFFERS),
    # another entity's number
    Case("another entity, a company's revenue as the market size", size(48),
         ("Acme Inc. reported revenue of USD 48 billion in 2025.",), NOT_FOUND),
    Case("another entity, possessive revenue in a market sentence", size(48),
         ("Acme's revenue reached USD 48 billion in 2025, about a third of the widget market.",), NOT_FOUND),
    Case("another entity, a neighbour's share in the list", share("Competitor Co 1", 22, *CO[1:]), (VENDORS,), DIFFERS),
    Case("another entity, vendors' share given to a made-up segment", share("Large retailers", 31, "Online shops"),
         (VENDORS,), NOT_FOUND),
    Case("another entity, a longer name", share("Acme", 31), ("Acme Robotics holds 31% of the widget market.",),
         NOT_FOUND),
    Case("another entity, Co 12 is not Co 1", share("Competitor Co 1", 31), ("Competitor Co 12 holds 31% of the market.",),
         NOT_FOUND),
    Case("another entity, revenue of another company", revenue("Acme", 2500),
         ("Beta reported revenue of $2.5 billion in 2024.",), NOT_FOUND),
    Case("another entity, a company's growth as the market's", growth(12.5, None),
         ("Acme Inc. grew its revenue 12.5% a year.",), NOT_FOUND),
    Case("another entity, names and numbers paired 'respectively'", share("Beta", 22, "Acme"),
         ("Acme and Beta hold 22% and 31% of the widget market respectively.",), NOT_FOUND),
    Case("another kind, growth is not a share", share("Acme", 31), ("Acme grew 31% last year.",), NOT_FOUND),
    Case("another kind, a share is not growth", growth(12.5, None), ("Acme holds a 12.5% share of the widget market.",),
         NOT_FOUND),
    # variants of a name
    Case("name variant, legal suffix", share("Acme Inc.", 31), ("Acme holds 31% of the widget market.",), V),
    Case("name variant, possessive", share("Acme", 31), ("Acme's share of the widget market is 31%.",), V),
    Case("name variant, singular", share("Small business", 48, "Enterprises"), (SURVEY,), V),
    Case("name variant, subject elsewhere in the sentence", revenue("Acme", 2500),
         ("Acme, the German widget maker, reported revenue of $2.5 billion in 2024.",), V),
    # another year's number
    Case("year, another year", size(48), ("The widget market was valued at USD 48.0 billion in 2023.",), PERIOD),
    Case("year, from the passage's date", size(48), ("The widget market is worth USD 48 billion.",), V,
         published="2025-02-01"),
    Case("year, none given anywhere", size(48), ("The widget market is worth USD 48 billion.",), PERIOD),
    Case("year, the right one of two", size(48),
         ("The widget market grew from USD 40 billion in 2023 to USD 48 billion in 2025.",), V),
    Case("year, the wrong one of two", size(48, year=2023),
         ("The widget market grew from USD 40 billion in 2023 to USD 48 billion in 2025.",), PERIOD),
    Case("year, another year's value", size(40),
         ("The widget market grew from USD 40 billion in 2023 to USD 48 billion in 2025.",), PERIOD),
    Case("period, another period", growth(12.5), ("The widget market grew at a CAGR of 12.5% from 2019 to 2024.",),
         PERIOD),
    Case("period, none stated", growth(12.5), ("The widget market is growing 12.5 % a year.",), V),
    # % against percentage points
    Case("points, growth in percentage points", growth(12.5, None),
         ("Widget market growth rose by 12.5 percentage points.",), DIFFERS),
    Case("points, a share's change", share("Acme", 3), ("Acme's share of the market rose 3 percentage points.",),
         DIFFERS),
    # the wrong currency
    Case("currency, euros for dollars", size(48, currency="EUR"), (SIZE_2025,), DIFFERS),
    Case("currency, dollars for euros", size(48), ("The widget market reached €48bn in 2025.",), DIFFERS),
    # a number only in another sentence
    Case("other sentence, the amount without the market", size(48),
         ("The widget market is growing fast. Revenue hit USD 48 billion in 2025 across all retail.",), NOT_FOUND),
    Case("other sentence, the share without the name", share("Competitor Co 1", 31),
         ("Competitor Co 1 leads the market. It holds 31%.",), NOT_FOUND),
    Case("other sentence, nothing stated", size(48), ("The widget market is large and growing.",), NOT_FOUND),
    # quotes
    Case("quote, a fragment of the stating sentence", size(48), (SIZE_2025,), V,
         quote="valued at USD 48.0 billion in 2025"),
    Case("quote, not verbatim and not what the source says", size(48),
         ("The widget market was valued at USD 47.0 billion in 2025.",), DIFFERS,
         quote="The widget market was worth USD 48 billion in 2025."),
    Case("quote, invented with the claimed number", size(48), ("The widget market reached USD 40 billion in 2025.",),
         DIFFERS, quote="The widget market reached USD 48 billion in 2025."),
    Case("quote, verbatim but of a sentence that does not state it", size(48),
         ("Widgets are everywhere. The widget market was valued at USD 48.0 billion in 2025.",), V,
         quote="Widgets are everywhere."),
    Case("quote, typographic quotes and dashes folded", share("Acme", 31),
         ("Acme’s share of the widget market – the largest – is 31%.",), V,
         quote="Acme's share of the widget market - the largest - is 31%."),
    # sources that disagree
    Case("disagree, the cited one states it", size(48), (SIZE_2025,), V,
         uncited=("Another study puts the widget market at USD 52 billion in 2025.",), disagree=2),
    Case("disagree, a value between the two", size(50),
         (SIZE_2025, "Another study puts the widget market at USD 52 billion in 2025."), DIFFERS, disagree=2),
    Case("disagree, not for another year", size(48), (SIZE_2025,), V,
         uncited=("The widget market was worth USD 40 billion in 2022.",)),
    # stated ranges
    Case("range, a value inside it", size(47.5), ("Estimates put the widget market at USD 45–50 billion in 2025.",),
         DIFFERS),
    Case("range, one end of it", size(45), ("Estimates put the widget market at USD 45-50 billion in 2025.",), DIFFERS),
    Case("range, a share", share("Acme", 20), ("Acme holds 20 to 25% of the widget market.",), DIFFERS),
    Case("range, between … and …", share("Acme", 25), ("Acme holds between 20 and 25 % of the widget market.",),
         DIFFERS),
    # as research firms and news write them
    Case("as written, a research firm's summary", size(48), (
        "According to one research firm, the global widget market size was estimated at USD 48.03 billion in 2025 "
        "and is projected to grow at a CAGR of 12.5% from 2026 to 2033.",), V),
    Case("as written, the same summary's rate", growth(12.5, (2026, 2033)), (
        "According to one research firm, the global widget market size was estimated at USD 48.03 billion in 2025 "
        "and is projected to grow at a CAGR of 12.5% from 2026 to 2033.",), V),
    Case("as written, a statistics portal", size(48), ("Revenue in the Widgets market amounts to US$48.0bn in 2025.",),
         V),
    Case("as written, 'last year' is no year", size(48), ("The market, valued at $48 billion last year, keeps growing.",),
         PERIOD, published="2026-01-10"),
    Case("as written, a ticker after the name", share("Acme", 31), ("Acme Corp. (NYSE: ACME) holds roughly 31% of the "
                                                                    "widget market.",), V),
    Case("as written, the share before the name", share("Acme", 31, "Beta"),
         ("With 31% of the market, Acme leads Beta (22%).",), V),
    Case("as written, the rival's share after the name", share("Acme", 22, "Beta"),
         ("With 31% of the market, Acme leads Beta (22%).",), NOT_FOUND),
    # nothing cited
    Case("estimate, nothing cited", size(48), (), ESTIMATE),
)
