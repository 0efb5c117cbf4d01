"""Reading figures in text: sentences and clauses, amounts with their scale and unit, years, and names.

The grounding check (:mod:`research.retrieval.grounding`) asks whether one
sentence of a source states a figure. This module reads what a sentence holds:
:func:`sentences` splits a passage with pysbd, :func:`clauses` cuts a sentence
where lists and contrasts join ("Acme (31 %), Beta (22 %)"; "48 % are small
firms and 22 % are enterprises"), :func:`quantities` finds each amount with its
scale ("billion", "bn", or written out) and unit (an ISO currency code from a
code, symbol or name; "%"; percentage points), ranges ("45–50 %") included,
:func:`years` finds the years, and :func:`name_spans` finds a company's or a
segment's name in plain variants (case, legal suffix, possessive, plural).
Everything here is pure text processing: no I/O, no model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache

from research.agents.fields import known_currency, parse_number, to_currency_code

SCALES: dict[str, float] = {
    "thousand": 1e3, "k": 1e3, "million": 1e6, "mn": 1e6, "mln": 1e6, "mio": 1e6, "mm": 1e6, "m": 1e6,
    "billion": 1e9, "bn": 1e9, "bln": 1e9, "b": 1e9, "mrd": 1e9, "trillion": 1e12, "tn": 1e12, "trn": 1e12,
}
PERCENT, POINTS = "%", "percentage points"

_NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:[.,]\d+)?)(?![\d]|[.,]\d)")
_SCALE_AFTER = re.compile(r"\s?(thousand|million|billion|trillion|mln|mio|mrd|bln|trn|mn|mm|bn|tn|k|m|b)\b\.?", re.I)
_UNIT_AFTER = re.compile(
    r"\s?(?:(?P<points>percentage[- ]points?|pp\b|pts?\b|points?\b)|(?P<percent>%|per ?cent\b)"
    r"|(?P<code>[A-Z]{3}\b)|(?P<name>(?:US |U\.S\. )?dollars?\b|euros?\b|pounds?(?: sterling)?\b|yen\b|yuan\b))")
_CURRENCY_BEFORE = re.compile(r"(?<![A-Za-z])(?P<cur>US\$|[A-Z]{3}|[A-Z]?\$|€|£|¥|₹)\s?$")
_RANGE_JOIN = re.compile(r"^\s*(?:-|–|—|to)\s*$|^\s*and\s*$")
_YEAR = re.compile(r"(?<![\w.,])(?:FY|fy)?((?:19|20)\d\d)(?![\d%]|[.,]\d)")
_CLAUSE_BREAK = re.compile(r";\s*|,\s+(?!(?:inc|ltd|llc|plc|corp|co|gmbh|ag|sa)\b\.?)|\s+(?:and|while|whereas|but)\s+",
                           re.I)


@dataclass(frozen=True)
class Quantity:
    """An amount as a sentence states it: its value(s) in units, its unit, and where it stands."""

    low: float
    high: float
    """Equal to ``low`` unless the sentence states a range ("45–50 billion")."""
    unit: str | None
    """An ISO 4217 code, :data:`PERCENT`, :data:`POINTS`, or None (a bare number)."""
    text: str
    """The amount as written, e.g. "USD 48.0 billion"."""
    start: int
    end: int
    scale: float = 1.0
    """The scale it is written in (1e9 for "48.0 billion")."""
    decimals: int = 0
    """Digits written after the decimal point (1 for "48.0")."""

    def rounds(self, value: float, tolerance: float) -> bool:
        """True when this amount is ``value`` (in units) rounded to the precision it is written in, within
        ``tolerance`` (relative): "USD 1.2 trillion" rounds 1,234.5 billion."""
        if self.is_range or value == 0 or abs(self.low - value) > abs(value) * tolerance:
            return False
        return round(value / self.scale, self.decimals) == round(self.low / self.scale, self.decimals)

    @property
    def is_range(self) -> bool:
        """True when the sentence states a range rather than one value."""
        return self.low != self.high


@cache
def _segmenter():  # noqa: ANN202 - pysbd has no type hints
    import pysbd

    return pysbd.Segmenter(language="en", clean=False)


def fold(text: str) -> str:
    """``text`` with whitespace folded and typographic quotes, apostrophes and dashes made plain."""
    text = text.translate(str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "\u00a0": " "}))
    return " ".join(text.split())


@lru_cache(maxsize=2048)
def sentences(text: str) -> tuple[str, ...]:
    """The sentences of ``text``, each :func:`fold`-ed: a line break ends one (a heading is not part of the next
    sentence), and within a line pysbd's rules apply ("Inc.", "U.S." and "3.5" do not end one)."""
    return tuple(s.strip() for raw in text.splitlines() if (line := fold(raw))
                 for s in _segmenter().segment(line) if s.strip())


@lru_cache(maxsize=8192)
def clauses(sentence: str) -> tuple[tuple[int, int], ...]:
    """Where each clause of ``sentence`` starts and ends: cut at ";", ", " (not before "Inc."), "and", "while"."""
    bounds, start = [], 0
    for match in _CLAUSE_BREAK.finditer(sentence):
        bounds.append((start, match.start()))
        start = match.end()
    bounds.append((start, len(sentence)))
    return tuple(bounds)


def clause_at(sentence: str, position: int) -> tuple[int, int]:
    """The clause of ``sentence`` that holds ``position``."""
    return next(((a, b) for a, b in clauses(sentence) if a <= position < b), (0, len(sentence)))


def _currency_before(text: str) -> str | None:
    match = _CURRENCY_BEFORE.search(text[-6:])
    if match is None:
        return None
    raw = match.group("cur")
    if raw.isalpha():
        return raw if known_currency(raw) else None
    code = to_currency_code(raw)
    return code if known_currency(code) else None


def _unit_after(text: str) -> tuple[str | None, int]:
    """The unit that follows an amount, and how many characters it takes."""
    match = _UNIT_AFTER.match(text)
    if match is None or not match.group(0).strip():
        return None, 0
    if match.group("points"):
        return POINTS, match.end()
    if match.group("percent"):
        return PERCENT, match.end()
    if match.group("code"):
        return (match.group("code"), match.end()) if known_currency(match.group("code")) else (None, 0)
    code = to_currency_code(match.group("name").replace("U.S.", "US"))
    return (code, match.end()) if known_currency(code) else (None, 0)


@dataclass
class _Amount:
    value: float
    scale: float
    unit: str | None
    start: int
    number_end: int
    end: int
    decimals: int


def _amounts(sentence: str) -> list[_Amount]:
    found: list[_Amount] = []
    for match in _NUMBER.finditer(sentence):
        value = parse_number(match.group(1))
        if not isinstance(value, float):
            continue
        start, end = match.start(), match.end()
        unit = _currency_before(sentence[:start])
        if unit is not None:
            prefix = _CURRENCY_BEFORE.search(sentence[max(0, start - 6):start])
            start -= len(prefix.group(0)) if prefix else 0
        scale = 1.0
        scale_match = _SCALE_AFTER.match(sentence, end)
        if scale_match and (len(scale_match.group(1)) > 1 or not scale_match.group(0).startswith(" ")):
            scale, end = SCALES[scale_match.group(1).lower()], scale_match.end()
        after, taken = _unit_after(sentence[end:])
        if after is not None and (unit is None or after in (PERCENT, POINTS) or after == unit):
            unit = after if unit is None or after in (PERCENT, POINTS) else unit
            end += taken
        decimals = len(re.split(r"[.,]", match.group(1))[-1]) if re.search(r"[.,]\d{1,2}$", match.group(1)) else 0
        found.append(_Amount(value, scale, unit, start, match.end(), end, decimals))
    return found


def _is_year(amount: _Amount, sentence: str) -> bool:
    return (amount.unit is None and amount.scale == 1.0 and amount.value.is_integer()
            and 1900 <= amount.value <= 2100 and "," not in sentence[amount.start:amount.number_end])


@lru_cache(maxsize=8192)
def quantities(sentence: str) -> tuple[Quantity, ...]:
    """Every amount ``sentence`` states (years left out), ranges joined: "USD 45–50 billion" is one."""
    amounts = [a for a in _amounts(sentence) if not _is_year(a, sentence)]
    result: list[Quantity] = []
    i = 0
    while i < len(amounts):
        first = amounts[i]
        second = amounts[i + 1] if i + 1 < len(amounts) else None
        if second is not None and _joins(sentence, first, second):
            scale = second.scale if first.scale == 1.0 else first.scale
            unit = second.unit or first.unit
            result.append(Quantity(first.value * scale, second.value * (second.scale if second.scale != 1.0 else scale),
                                   unit, sentence[first.start:second.end], first.start, second.end))
            i += 2
            continue
        result.append(Quantity(first.value * first.scale, first.value * first.scale, first.unit,
                               sentence[first.start:first.end], first.start, first.end, first.scale, first.decimals))
        i += 1
    return result


def _joins(sentence: str, first: _Amount, second: _Amount) -> bool:
    """True when two amounts are the two ends of one range ("45-50", "45 to 50 %", "between 45 and 50")."""
    between = sentence[first.end:second.start]
    if not _RANGE_JOIN.match(between):
        return False
    before = sentence[:first.start]
    if between.strip() == "and" and not re.search(r"between\s+\S*$", before, re.I):
        return False
    if between.strip() == "to" and re.search(r"from\s+\S*$", before, re.I):  # "from 40 to 48": a change
        return False
    if first.unit is not None and second.unit is not None and first.unit != second.unit:
        return False
    return second.value * (second.scale if second.scale != 1.0 else first.scale) > first.value * first.scale


@lru_cache(maxsize=8192)
def years(text: str) -> tuple[tuple[int, int], ...]:
    """The years ``text`` names ("2025", "FY2025"), with where each stands."""
    return tuple((int(m.group(1)), m.start()) for m in _YEAR.finditer(text) if 1900 <= int(m.group(1)) <= 2100)


_LEGAL = (r"(?:,?\s+(?:inc|incorporated|corp|corporation|co|company|ltd|limited|llc|plc|gmbh|ag|sa|se|nv|bv|ab|as|"
          r"spa|srl|oy|kk|pty|holdings?|group)\b\.?)*")


def _singular(word: str) -> str:
    """A word without its plural ending ("businesses" -> "business", "enterprises" -> "enterprise")."""
    if re.search(r"(?:ss|x|ch|sh)es$", word, re.I):
        return word[:-2]
    return word[:-1] if re.search(r"[^s]s$", word, re.I) else word


@cache
def _name_pattern(name: str) -> re.Pattern[str] | None:
    """A pattern for ``name`` and its plain variants; None for a name too short or vague to find safely."""
    from cleanco import basename

    variants = {fold(name)}
    bare = re.sub(r"\s*\([^)]*\)", "", fold(name)).strip()
    variants |= {bare, basename(bare)}
    variants |= {m.strip() for m in re.findall(r"\(([^)]{2,})\)", name)}  # "Small businesses (SMB)" -> "SMB"
    alternatives = []
    for variant in sorted((v for v in variants if len(v) >= 2), key=len, reverse=True):
        words = [re.escape(w) for w in re.split(r"[\s\-]+", variant.rstrip(".")) if w]
        if not words:
            continue
        words[-1] = _singular(words[-1]) + r"(?:s|es)?(?:'s|')?"
        alternatives.append(r"[\s\-]+".join(words))
    if not alternatives:
        return None
    # the name must not run on into a longer one: "Acme" is not "Acme Robotics", "Co" is not "Co 1", "Co 1" is
    # not "Co 12"; a number that follows is fine when it is an amount ("Acme 21.4 %")
    return re.compile(rf"(?<![\w&])(?:{'|'.join(alternatives)}){_LEGAL}(?![\w&]|\s+\d+(?![\d.,]|\s*(?:%|per))|(?-i:\s+[A-Z][a-z]))", re.I)


@lru_cache(maxsize=8192)
def name_spans(name: str, text: str) -> tuple[tuple[int, int], ...]:
    """Where ``name`` (in any case, with or without its legal suffix, possessive or plural) stands in ``text``."""
    pattern = _name_pattern(name)
    return () if pattern is None else tuple((m.start(), m.end()) for m in pattern.finditer(text))
