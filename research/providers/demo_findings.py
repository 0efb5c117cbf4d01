"""The offline demo's research findings: market, competitors and customers, invented per topic.

Everything here is pure: the same topic (and date) always gives the same output, and different
topics give different numbers and names. The randomness is seeded from a SHA-256 of the
normalised topic, never from Python's ``hash()``. The content is invented and has no sources,
but it holds together: the market is sized in the currency of the region the topic names,
customer segments fit the topic's wording (households or organisations), their shares add up
to 100 % (with a remainder segment when the named ones leave some), and each segment's size
is the same total count times its share.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import random
import re
from collections.abc import Sequence

from research.agents.competitor import CompetitorProfile, CompetitorReport
from research.agents.customer import CustomerReport, CustomerSegment, WillingnessToPay
from research.agents.market import Growth, MarketData, MarketSize
from research.providers import demo_phrases as phrases

# the range of a market's size in USD, by how much of the world the topic names
_SIZE_RANGE_USD = {"global": (0.5e9, 90e9), "region": (0.2e9, 40e9), "country": (0.05e9, 10e9)}


def _normalise(topic: str) -> str:
    return " ".join(topic.lower().split())


def _rng(topic: str, salt: str) -> random.Random:
    digest = hashlib.sha256(f"{salt}\x00{_normalise(topic)}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _short(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _label(topic: str) -> str:
    """The topic as a short display label (whitespace collapsed, at most 80 characters)."""
    return _short(topic, 80) or "this market"


def _words(topic: str) -> list[str]:
    return [w for w in re.findall(r"[^\W\d_]+", _normalise(topic)) if w not in phrases.STOPWORDS]


def _tokens(topic: str) -> list[str]:
    """Every word of the topic, lower-cased, with digits kept ("b2b") and stopwords included."""
    text = _normalise(topic).replace("united kingdom", "uk").replace("united states", "usa")
    return re.findall(r"\w+", text)


def _num(value: float) -> str:
    return f"{value:,.1f}".rstrip("0").rstrip(".")


def _sig2(value: float) -> float:
    """``value`` rounded to two significant digits."""
    return 0.0 if value <= 0 else round(value, 1 - math.floor(math.log10(value)))


def _sig3(value: float) -> float:
    """``value`` (at least 1) to about three significant digits: 1.2, 12.3, 123."""
    return float(round(value)) if value >= 100 else round(value, 1)


def _count(value: float) -> str:
    """A count rounded to two significant digits and written short, e.g. '1.2M', '860k', '8.6k', '450'."""
    rounded = _sig2(value)
    for suffix, factor in (("M", 1e6), ("k", 1e3)):
        if rounded >= factor:
            return _num(rounded / factor) + suffix
    return _num(rounded)


def _split(rng: random.Random, weights: Sequence[float], tenths: int) -> list[int]:
    """``tenths`` split in proportion to ``weights``, as whole tenths that add up to exactly ``tenths``."""
    exact = [w / sum(weights) * tenths for w in weights]
    parts = [math.floor(x) for x in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: exact[i] - parts[i], reverse=True)
    for i in by_remainder[: tenths - sum(parts)]:
        parts[i] += 1
    return parts


def currency_for(topic: str) -> tuple[str, float, str]:
    """The currency of the region ``topic`` names: (ISO code, units per USD, "country", "region" or "global").

    The first country named wins (a euro-area country gives EUR); Europe or the EU alone gives EUR
    for a region; no region gives USD for a global market.
    """
    for token in _tokens(topic):
        for code, rate, words in phrases.CURRENCIES:
            if token in words:
                return code, rate, "country"
    if set(_tokens(topic)) & phrases.EURO_REGION_WORDS:
        code, rate, _ = next(c for c in phrases.CURRENCIES if c[0] == "EUR")
        return code, rate, "region"
    return "USD", 1.0, "global"


def customer_kind(topic: str) -> str:
    """"consumer", "business" or "mixed": which customers the topic's wording is about."""
    tokens = set(_tokens(topic))
    consumer, business = bool(tokens & phrases.CONSUMER_WORDS), bool(tokens & phrases.BUSINESS_WORDS)
    return "consumer" if consumer and not business else "business" if business and not consumer else "mixed"


def demo_market(topic: str, today: dt.date) -> MarketData:
    """Invented but plausible market size (in the topic's currency), growth, trends, drivers and risks."""
    rng, label = _rng(topic, "market"), _label(topic)
    currency, rate, reach = currency_for(topic)
    year = min(max(today.year - 1, 1990), 2092)
    low, high = _SIZE_RANGE_USD[reach]
    local = math.exp(rng.uniform(math.log(low), math.log(high))) * rate
    size = MarketSize(value=_sig3(local / 1e6), currency=currency, scale="million", year=year)
    for scale in ("billion", "trillion"):  # the largest scale that leaves at least 1, e.g. 2.4 billion, not 2,400 million
        if size.value >= 1000:
            size = size.model_copy(update={"value": _sig3(size.value / 1000), "scale": scale})
    growth = Growth(cagr_percent=round(rng.uniform(3.0, 22.0), 1), start_year=year,
                    end_year=year + rng.choice((5, 6, 7, 8)))

    def pick(pool: Sequence[str], count: int) -> list[str]:
        return [item.format(L=label) for item in rng.sample(list(pool), count)]

    return MarketData(market_size=size, growth=growth, key_trends=pick(phrases.TRENDS, rng.randint(3, 4)),
                      drivers=pick(phrases.DRIVERS, 3), risks=pick(phrases.RISKS, 3), sources=[], as_of=today)


def demo_competitors(topic: str, today: dt.date | None = None) -> CompetitorReport:
    """4-6 fictional competitors named from the topic's words, shares totalling 55-90 %, as of ``today``."""
    rng = _rng(topic, "competitor")
    # the last few cased words of the topic (usually the nouns), e.g. "Charging", "Europe", "Software"
    cased = [w[:20].capitalize() for w in _words(topic) if len(w) >= 4 and w.capitalize() != w]
    tails = list(dict.fromkeys(cased))[-3:] or ["Market"]
    count = rng.randint(4, 6)
    compounds = rng.sample([a + b for a in phrases.FIRST for b in phrases.SECOND], count)
    total = rng.uniform(57.0, 88.0)
    weights = sorted((rng.uniform(1.0, 4.0) for _ in range(count)), reverse=True)
    shares = [round(w / sum(weights) * total, 1) for w in weights]
    positions = rng.sample(list(phrases.POSITIONING), count)
    competitors = [
        CompetitorProfile(
            name=f"{compound} {rng.choice(tails) if rng.random() < 0.5 else rng.choice(phrases.SUFFIXES)}",
            market_share_percent=share,
            positioning=position,
            strengths=rng.sample(list(phrases.STRENGTHS), 2),
            weaknesses=rng.sample(list(phrases.WEAKNESSES), rng.randint(1, 2)),
        )
        for compound, share, position in zip(compounds, shares, positions)
    ]
    return CompetitorReport(competitors=competitors, sources=[], as_of=today)


def demo_customers(topic: str, today: dt.date | None = None) -> CustomerReport:
    """3-4 segments fitting the topic, plus a remainder when they leave some; shares add up to 100 %.

    All sizes come from one total count of the market's customers (households, organisations or
    customers) times each segment's share, e.g. "~1.2M households (34.2 %)".
    """
    rng = _rng(topic, "customer")
    kind = customer_kind(topic)
    unit, (low, high), remainder = phrases.CUSTOMER_BASES[kind]
    pool = {"consumer": phrases.CONSUMER_SEGMENTS, "business": phrases.BUSINESS_SEGMENTS}.get(kind, phrases.MIXED_SEGMENTS)
    count = rng.randint(3, min(4, len(pool)))
    chosen = rng.sample(list(pool), count)
    while len({segment[1] for segment in chosen}) < 2:  # willingness to pay varies between segments
        chosen = rng.sample(list(pool), count)
    weights = [rng.uniform(*segment[2]) for segment in chosen]
    named = 1000 if rng.random() < 0.3 else rng.randint(850, 970)  # tenths of a percent the named segments hold
    tenths = _split(rng, weights, named)
    ranked = sorted(zip(chosen, tenths), key=lambda pair: pair[1], reverse=True)
    total = _sig2(math.exp(rng.uniform(math.log(low), math.log(high))))
    level, note, pains, patterns = phrases.REMAINDER
    rows = [(name, level_, phrases.WTP_NOTES[level_], pains_, patterns_, share)
            for (name, level_, _, pains_, patterns_), share in ranked]
    if named < 1000:
        rows.append((remainder, level, note, pains, patterns, 1000 - named))
    segments = [
        CustomerSegment(
            name=name, share_percent=share / 10,
            size_note=f"~{_count(total * share / 1000)} {unit} ({_num(share / 10)} % of about {_count(total)})",
            pain_points=list(pains_), buying_patterns=list(patterns_),
            willingness_to_pay=WillingnessToPay(level=level_, note=note_),  # type: ignore[arg-type]
        )
        for name, level_, note_, pains_, patterns_, share in rows
    ]
    return CustomerReport(segments=segments, sources=[], as_of=today)
