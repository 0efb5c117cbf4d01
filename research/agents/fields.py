"""Field types for the agents' outputs that read what real models write.

Models write numbers as strings ("12%", "1,234.5", "12,5"), enum values in
any case or as common abbreviations ("Billion", "bn", "med"), currencies as
names or symbols ("US dollars", "€"), and dates without a day ("2025").
Each type here normalises such values *before* pydantic validates them, so a
near-miss is read as what it means instead of rejecting the whole answer.
Values that cannot be read still fail validation; :mod:`research.agents.salvage`
decides what to do with them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field

_NUMBER = re.compile(r"[-+]?\d[\d,.\s']*(?:[eE][-+]?\d+)?|[-+]?[.,]\d+")


def parse_number(value: Any) -> Any:
    """A number from text such as "12%", "1,234.5", "12,5" or "$ 23.7"; anything else unchanged.

    A single comma followed by one or two digits is a decimal comma ("12,5");
    otherwise commas, spaces and apostrophes group thousands.
    """
    if not isinstance(value, str):
        return value
    match = _NUMBER.search(value.replace("\u2212", "-"))
    if match is None:
        return value
    text = re.sub(r"[\s']", "", match.group(0)).rstrip(".,")
    if "," in text and "." in text:
        text = text.replace(",", "") if text.rfind(".") > text.rfind(",") else text.replace(".", "").replace(",", ".")
    elif text.count(",") == 1 and re.search(r",\d{1,2}$", text):
        text = text.replace(",", ".")
    else:
        text = text.replace(",", "")
    try:
        return float(text)
    except ValueError:
        return value


def parse_year(value: Any) -> Any:
    """A year from text such as "2025", "FY2025" or "2025e"; anything else unchanged."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and (match := re.search(r"(?<!\d)(1[89]\d\d|2[01]\d\d)(?!\d)", value)):
        return int(match.group(1))
    return value


def clip_text(limit: int) -> Callable[[Any], Any]:
    """A normaliser that trims whitespace and shortens text over ``limit`` characters with an ellipsis."""

    def clip(value: Any) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = f"{value:g}"
        if not isinstance(value, str):
            return value
        value = value.strip()
        return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"

    return clip


def _blank(value: Any) -> bool:
    """True for text that holds nothing but whitespace."""
    return isinstance(value, str) and not value.strip()


def clip_list(limit: int) -> Callable[[Any], Any]:
    """A normaliser that keeps the first ``limit`` items of a list and wraps a lone item in one.

    Null and blank text are read as an empty list, and blank text items are left out: they say nothing.
    """

    def clip(value: Any) -> Any:
        if value is None or _blank(value):
            return []
        if isinstance(value, (str, dict)):
            value = [value]
        return [item for item in value if not _blank(item)][:limit] if isinstance(value, list) else value

    return clip


def synonyms(words: Mapping[str, tuple[str, ...]]) -> Callable[[Any], Any]:
    """A normaliser that maps any case or listed synonym to its canonical enum value."""
    lookup = {canonical: canonical for canonical in words}
    for canonical, others in words.items():
        lookup.update({other: canonical for other in others})

    def normalise(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        key = re.sub(r"[\s_.\-]+", " ", value.strip().lower()).strip()
        return lookup.get(key, lookup.get(key.rstrip("s"), value))

    return normalise


_EXTRA_CURRENCY_NAMES = {
    "$": "USD", "us$": "USD", "usd$": "USD", "dollar": "USD", "dollars": "USD", "us dollar": "USD",
    "€": "EUR", "euro": "EUR", "euros": "EUR", "£": "GBP", "pound": "GBP", "pounds": "GBP", "sterling": "GBP",
    "¥": "JPY", "yen": "JPY", "yuan": "CNY", "rmb": "CNY", "renminbi": "CNY", "zł": "PLN", "zloty": "PLN",
    "złoty": "PLN", "₹": "INR", "rupee": "INR", "rupees": "INR", "₩": "KRW", "won": "KRW", "r$": "BRL",
    "real": "BRL", "reais": "BRL", "fr": "CHF", "franc": "CHF", "francs": "CHF", "c$": "CAD", "a$": "AUD",
}


@cache
def _currency_index() -> dict[str, str]:
    """Every English currency name (singular and plural) and unambiguous symbol, to its ISO code."""
    from babel import Locale
    from babel.numbers import get_currency_name, list_currencies

    english = Locale("en")
    index: dict[str, str] = {}
    symbol_codes: dict[str, set[str]] = {}
    for code in sorted(list_currencies()):
        for name in (english.currencies.get(code), get_currency_name(code, count=2, locale="en")):
            if name:
                index.setdefault(name.lower(), code)
        symbol = english.currency_symbols.get(code)
        if symbol and symbol != code:
            symbol_codes.setdefault(symbol.lower(), set()).add(code)
    index.update({symbol: codes.pop() for symbol, codes in symbol_codes.items() if len(codes) == 1})
    index.update(_EXTRA_CURRENCY_NAMES)
    return index


def known_currency(code: str) -> bool:
    """True for an ISO 4217 code (current or historic)."""
    from babel.numbers import list_currencies

    return code in list_currencies()


def to_currency_code(value: Any) -> Any:
    """An ISO 4217 code for a code, name or symbol ("usd", "US dollars", "€"); unknown text kept as written."""
    if not isinstance(value, str):
        return value
    text = " ".join(value.split())
    if re.fullmatch(r"[A-Za-z]{3}", text) and known_currency(text.upper()):
        return text.upper()
    index = _currency_index()
    key = text.lower().rstrip(".")
    return index.get(key) or index.get(re.sub(r"\s*\(.*\)$", "", key)) or text


_DATE = re.compile(r"(\d{4})(?:[-/.](\d{1,2})(?:[-/.](\d{1,2}))?)?")
_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}


def to_partial_date(value: Any) -> Any:
    """"2025", "2025-06", "June 2025", "2025/6/30" as ISO text ("2025", "2025-06", "2025-06-30")."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return value
    text = value.strip()
    month_name = re.fullmatch(r"([A-Za-z]{3,9})\.?\s+(\d{4})", text)
    if month_name and month_name.group(1)[:3].lower() in _MONTHS:
        return f"{month_name.group(2)}-{_MONTHS[month_name.group(1)[:3].lower()]:02d}"
    match = _DATE.fullmatch(text.split("T")[0])
    if match is None:
        return value
    year, month, day = match.groups()
    return "-".join([year, *(f"{int(part):02d}" for part in (month, day) if part)])


ShortText = Annotated[str, BeforeValidator(clip_text(400)), Field(min_length=1, max_length=400)]
LongText = Annotated[str, BeforeValidator(clip_text(6000)), Field(min_length=1, max_length=6000)]
Number = Annotated[float, BeforeValidator(parse_number)]
Percent = Annotated[float, BeforeValidator(parse_number), Field(ge=0, le=100)]
Year = Annotated[int, BeforeValidator(parse_year), Field(ge=1900, le=2100)]
CurrencyCode = Annotated[str, BeforeValidator(to_currency_code), Field(min_length=1, max_length=40,
                         description="ISO 4217 code, e.g. USD")]
PartialDate = Annotated[str, BeforeValidator(to_partial_date),
                        Field(pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$", description="YYYY, YYYY-MM or YYYY-MM-DD")]


def text_list(limit: int, *, at_least: int = 1) -> Any:
    """A list of ``at_least`` to ``limit`` short texts (extra items are dropped, a lone string becomes a list).

    A minor list that may be empty (``at_least=0``) is declared with ``default_factory=list``, and its
    output says when it is empty (:func:`empty_list_notes`).
    """
    return Annotated[list[ShortText], BeforeValidator(clip_list(limit)),
                     Field(min_length=at_least or None, max_length=limit)]


def empty_list_notes(item: BaseModel, names: Iterable[str], owner: str | None = None) -> list[str]:
    """A data note for each list in ``names`` that ``item`` holds empty, e.g. "No strengths were given for “Acme”."."""
    fields = type(item).model_fields
    of = f" for “{owner[:60]}”" if owner else ""
    return [f"No {fields[name].title or name.replace('_', ' ')} were given{of}."
            for name in names if not getattr(item, name)]


Scale = Annotated[Literal["thousand", "million", "billion", "trillion"], BeforeValidator(synonyms({
    "thousand": ("k", "th", "thousands", "000", "thousand units"),
    "million": ("m", "mn", "mm", "mio", "mil", "millions"),
    "billion": ("b", "bn", "bln", "bil", "billions", "mrd", "milliard"),
    "trillion": ("t", "tn", "trn", "tril", "trillions"),
}))]
Level = Annotated[Literal["low", "medium", "high"], BeforeValidator(synonyms({
    "low": ("l", "lo", "minimal", "limited", "weak"),
    "medium": ("med", "mid", "m", "moderate", "average", "middle", "medium high", "medium low", "mid range"),
    "high": ("h", "hi", "very high", "strong", "premium"),
}))]
