"""Every figure checked against its source, in code: verified only where one cited sentence states it.

A research output lists its figures (:meth:`Sourced.cited_figures`), each with
what it claims (:class:`Claim`: value, scale, unit, the named thing it belongs
to, its year or period) and the evidence ids the model cited, with the model's
verbatim quote. :func:`ground` gives each figure a status (:class:`FigureStatus`):

* **verified** when one sentence of a cited passage states it: the same number
  within rounding (the source's value rounded to the figure's precision, within
  5 %; or within 0.5 %), the same scale and unit, in one sentence; for a named
  thing's figure (a competitor's share, a company's revenue) that name in the
  same clause and nearer to the number than any other name of the output; for
  the market's own figures a word that says so ("market", "CAGR", "growth") and
  no company's own figure; for a figure with a year, that year beside the number
  (or the passage's own date); for a growth period, the period when the clause
  gives one. The model's quote is used first when it stands verbatim in a cited
  passage and itself states the figure; otherwise code finds the sentence.
* **source says otherwise** when a cited sentence states another value (scale,
  currency, percentage points, or a range) for the same thing and year;
* **period differs** when the value is stated but for another year or none;
* **cited, not found in source** when no cited sentence speaks of it;
* **estimate** when nothing is cited; **illustrative** for the offline demo.

Passages that state different values for the same figure (cited or not) are
kept as :attr:`FigureCheck.disagreeing`, so the report shows who says what.
A cited id that was not in the agent's evidence is dropped and noted, and so
is every source the model named that was not among the pages read.
:func:`unbacked_numbers` and :func:`contradictions` check written prose.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from research.agents.common import CitedFigure, Claim, FigureCheck, FigureKind, FigureStatus, Source, SourceStatement
from research.agents.fields import parse_number
from research.retrieval.quantities import (
    PERCENT,
    POINTS,
    SCALES,
    Quantity,
    clause_at,
    fold,
    name_spans,
    quantities,
    sentences,
    years,
)
from research.retrieval.types import Evidence, Passage

_EVIDENCE_ID = re.compile(r"E\d{1,3}")
RELATIVE_TOLERANCE = 0.005
"""Values this close (relative) are the same figure whatever their precision."""
ROUNDING_TOLERANCE = 0.05
"""A figure may round its source (48.04 -> 48) but never by more than this (relative)."""

_MARKET = re.compile(r"\b(?:market|markets|industry|sector|spending|TAM)\b", re.I)
_GROWTH = re.compile(r"\b(?:CAGR|grow|grows|growing|grew|growth|annual|annually|a year|per year|per annum|yearly|"
                     r"year-on-year|y/y|yoy|compound)\b", re.I)
_REVENUE = re.compile(r"\b(?:revenue|revenues|sales|turnover)\b", re.I)
_SHARE = re.compile(r"\bshare\b", re.I)
_RESPECTIVELY = re.compile(r"\brespectively\b", re.I)
_COMPANY_OWN = re.compile(r"\b(?:Inc|Ltd|LLC|plc|Corp|GmbH|AG)\b\.?|\b[A-Z][\w&-]*'s (?:revenue|sales|turnover|income|"
                          r"profit|valuation|market cap)", re.I)
"""A clause about one company's own figures ("Acme Inc.", "Acme's revenue"), not the market's."""


@dataclass(frozen=True)
class Found:
    """A quantity one sentence states about a claim's subject, with the year or period it is given for."""

    quantity: Quantity
    sentence: str
    passage: Passage
    year: int | None
    """For sizes and revenues: the year beside the number (or the passage's date), if any."""
    period: tuple[int, ...]
    """For growth rates: the years the rate's clause names."""

    def statement(self) -> SourceStatement:
        """The statement as the report shows it."""
        when = str(self.year) if self.year else "–".join(map(str, self.period)) or None
        return SourceStatement(cite=self.passage.id, title=self.passage.title, url=self.passage.url or None,
                               value=self.quantity.text, year=when, sentence=_clip(self.sentence))


def _clip(text: str, limit: int = 400) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _passage_year(passage: Passage) -> int | None:
    found = years(passage.published or "")
    return found[0][0] if found else None


def _money(claim: Claim) -> bool:
    return claim.kind in (FigureKind.MARKET_SIZE, FigureKind.REVENUE)


def _speaks_of(claim: Claim, sentence: str, quantity: Quantity) -> bool:
    """True when ``quantity`` in ``sentence`` is about the claim's subject and of its kind (any value)."""
    if _money(claim):
        if quantity.unit in (None, PERCENT, POINTS):
            return False
    elif quantity.unit not in (PERCENT, POINTS):
        return False
    start, end = clause_at(sentence, quantity.start)
    clause = sentence[start:end]
    if claim.kind is FigureKind.MARKET_SIZE:
        return bool(_MARKET.search(sentence)) and not _COMPANY_OWN.search(clause)
    if claim.kind is FigureKind.GROWTH:
        return (bool(_GROWTH.search(clause)) and not _SHARE.search(clause) and not _COMPANY_OWN.search(clause)
                and bool(_MARKET.search(sentence) or re.search(r"\bCAGR\b", clause)))
    if claim.kind is FigureKind.SHARE and _GROWTH.search(clause) and not _SHARE.search(clause):
        return False  # "Acme grew 31 %" is not Acme's share
    if _RESPECTIVELY.search(sentence):
        return False  # "A and B hold 31 % and 22 % respectively": names and numbers pair up across clauses
    if claim.kind is FigureKind.REVENUE and not _REVENUE.search(sentence):
        return False
    return _names_nearest(claim, sentence, quantity, (start, end))


def _names_nearest(claim: Claim, sentence: str, quantity: Quantity, clause: tuple[int, int]) -> bool:
    """True when the claim's subject is the name nearest the quantity in its clause (for revenue, or its sentence)."""
    def nearest(lo: int, hi: int) -> str | None:
        spans = [(min(abs(a - quantity.end), abs(quantity.start - b)), name)
                 for name in (claim.subject or "", *claim.others) if name
                 for a, b in name_spans(name, sentence) if a < hi and b > lo]  # a name may hold a comma
        return min(spans)[1] if spans else None

    found = nearest(*clause)
    if found is None and claim.kind is FigureKind.REVENUE:
        found = nearest(0, len(sentence))
    return found == claim.subject


def _year_of(claim: Claim, sentence: str, quantity: Quantity, passage_year: int | None) -> tuple[int | None, tuple[int, ...]]:
    start, end = clause_at(sentence, quantity.start)
    in_clause = [(y, at) for y, at in years(sentence) if start <= at < end]
    if claim.kind is FigureKind.GROWTH:
        return None, tuple(y for y, _ in in_clause)
    candidates = in_clause or years(sentence)
    if not candidates:
        return passage_year, ()
    middle = (quantity.start + quantity.end) / 2
    return min(candidates, key=lambda item: (abs(item[1] - middle), item[1] < middle))[0], ()


def findings(claim: Claim, text: str, passage: Passage) -> list[Found]:
    """What ``text`` (a passage, or a quote from it) states about the claim's subject, sentence by sentence."""
    passage_year = _passage_year(passage)
    found: list[Found] = []
    for sentence in sentences(text):
        for quantity in quantities(sentence):
            if _speaks_of(claim, sentence, quantity):
                year, period = _year_of(claim, sentence, quantity, passage_year)
                found.append(Found(quantity, sentence, passage, year, period))
    return found


def same_value(claim: Claim, quantity: Quantity) -> bool:
    """True when ``quantity`` states the claim's value: same unit, one value, equal within rounding."""
    if quantity.unit != claim.unit or quantity.is_range:
        return False
    stated, claimed = quantity.low, claim.absolute
    if stated == claimed:
        return True
    if stated == 0 or abs(stated - claimed) > abs(stated) * ROUNDING_TOLERANCE:
        return False
    if abs(stated - claimed) <= abs(stated) * RELATIVE_TOLERANCE:
        return True
    decimals = len(f"{claim.value:f}".rstrip("0").partition(".")[2])
    return round(stated / claim.scale, decimals) == round(claim.value, decimals)


def same_period(claim: Claim, found: Found) -> bool:
    """True when the source gives the value for the claim's year or period (a rate with no period stated passes)."""
    if claim.kind is FigureKind.GROWTH:
        if claim.period is None or not found.period:
            return True
        first, last = claim.period
        return last in found.period and (first in found.period or len(set(found.period)) == 1)
    return claim.year is None or found.year == claim.year


def _comparable(claim: Claim, found: Found) -> bool:
    """True when a statement is about the same figure as the claim: its year or period is the claim's, or none."""
    if claim.kind is FigureKind.GROWTH:
        return same_period(claim, found)
    return claim.year is None or found.year in (None, claim.year)


def check_figure(claim: Claim, cited: Sequence[Passage], quote: str | None = None,
                 evidence: Sequence[Passage] = ()) -> tuple[FigureStatus, Found | None, list[Found], bool]:
    """The claim's status against its ``cited`` passages, the statement it rests on, the disagreeing statements
    among all the ``evidence`` passages, and whether the model's ``quote`` was used."""
    candidates: list[Found] = []
    quote_used = False
    if quote:
        for passage in cited:
            if fold(quote) in fold(passage.text):
                from_quote = [f for f in findings(claim, quote, passage) if same_value(claim, f.quantity)]
                if any(same_period(claim, f) for f in from_quote):
                    quote_used = True
                    candidates = [f for f in from_quote if same_period(claim, f)]
                break
    for passage in cited:
        candidates += findings(claim, passage.text, passage)
    stating = [f for f in candidates if same_value(claim, f.quantity)]
    disagreeing = _disagreeing(claim, [f for p in (evidence or cited) for f in findings(claim, p.text, p)])
    if verified := [f for f in stating if same_period(claim, f)]:
        return FigureStatus.VERIFIED, verified[0], disagreeing, quote_used
    if stating:
        return FigureStatus.PERIOD_DIFFERS, stating[0], disagreeing, False
    if other := [f for f in candidates if _comparable(claim, f)]:
        return FigureStatus.DIFFERS, other[0], disagreeing, False
    return FigureStatus.NOT_FOUND, None, disagreeing, False


def _disagreeing(claim: Claim, found: list[Found]) -> list[Found]:
    """One statement per distinct value among those about the same figure, in the claim's unit; [] if they agree."""
    distinct: list[Found] = []
    for f in found:
        if f.quantity.unit != claim.unit or not _comparable(claim, f):
            continue
        if not any(_same_quantity(f.quantity, d.quantity) for d in distinct):
            distinct.append(f)
    return distinct if len(distinct) > 1 else []


def _same_quantity(a: Quantity, b: Quantity) -> bool:
    def close(x: float, y: float) -> bool:
        return abs(x - y) <= max(abs(x), abs(y)) * RELATIVE_TOLERANCE

    return close(a.low, b.low) and close(a.high, b.high)


def ground(data: Any, evidence: Evidence | None) -> list[FigureCheck]:
    """Check every cited figure of ``data`` against ``evidence``; set ``data.figures`` and its sources and notes.

    ``data`` is a research output (it has ``cited_figures()``, ``sources``,
    ``figures`` and ``note()``). Without evidence every figure is an estimate;
    with the demo's invented evidence every figure is illustrative.
    """
    passages = evidence.passages if evidence else []
    known = {p.id: p for p in passages}
    checks: list[FigureCheck] = []
    cited_ids: list[str] = []
    dropped: set[str] = set()
    unquoted = 0
    for figure in data.cited_figures():
        cites = list(dict.fromkeys(c.strip() for c in figure.owner.cites if isinstance(c, str) and c.strip()))
        dropped |= {c for c in cites if c not in known}
        cites = [c for c in cites if c in known]
        figure.owner.cites = cites
        cited_ids += cites
        if evidence is not None and evidence.demo:
            checks.append(FigureCheck(label=figure.label, value=figure.value, status=FigureStatus.ILLUSTRATIVE,
                                      cites=cites))
            continue
        check, quote_ok = figure_check(figure, [known[c] for c in cites], passages)
        unquoted += bool(getattr(figure.owner, "quote", None)) and not quote_ok and check.status is FigureStatus.VERIFIED
        checks.append(check)
    if dropped and known:  # without evidence every figure is an estimate anyway: nothing to say of its citations
        ids = sorted(c for c in dropped if _EVIDENCE_ID.fullmatch(c))
        if ids:
            data.note(f"Citations to {', '.join(ids)} were not among the evidence given and were dropped.")
        if others := len(dropped) - len(ids):
            data.note(f"{others} citation{'s' if others > 1 else ''} that {'were' if others > 1 else 'was'} not an "
                      "evidence id (E1, E2, …) " + ("were" if others > 1 else "was") + " dropped.")
    if unquoted:
        data.note(f"The quote given for {unquoted} figure(s) was not word for word in its source or did not state "
                  "the figure; the source's own sentence is shown instead.")
    named = [s for s in data.sources if s.url and all(s.url != p.url for p in known.values())]
    if named:
        data.note(f"{len(named)} source(s) the model named were not among the pages read and are not shown.")
    data.sources = [Source(title=known[i].title, url=known[i].url or None, retrieved_at=known[i].retrieved_at)
                    for i in dict.fromkeys(cited_ids)]
    data.figures = checks
    return checks


def figure_check(figure: CitedFigure, cited: Sequence[Passage], evidence: Sequence[Passage]) -> tuple[FigureCheck, bool]:
    """One figure's check against the passages it cites (an estimate when none), and whether its quote was used."""
    if not cited:
        return FigureCheck(label=figure.label, value=figure.value, status=FigureStatus.ESTIMATE), False
    status, found, disagreeing, quote_used = check_figure(figure.claim, cited, getattr(figure.owner, "quote", None),
                                                          evidence)
    return FigureCheck(label=figure.label, value=figure.value, status=status, cites=[p.id for p in cited],
                       statement=found.statement() if found else None,
                       disagreeing=[f.statement() for f in disagreeing]), quote_used


def contradictions(prose: str, data: Iterable[BaseModel]) -> list[str]:
    """Figures that ``prose`` states with another value than the research data gives, in plain words."""
    text = Passage(id="text", url="", title="", text=prose, retrieved_at=0)
    found: list[str] = []
    for item in data:
        figures: list[CitedFigure] = list(getattr(item, "cited_figures", list)())
        derived = list(getattr(item, "derived_numbers", list)())
        for figure in figures:
            for f in findings(figure.claim, prose, text):
                if same_value(figure.claim, f.quantity) or not _comparable(figure.claim, f) or \
                        f.quantity.unit == figure.claim.unit and f.quantity.rounds(figure.claim.absolute, ROUNDING_TOLERANCE):
                    continue
                if any(_near(f.quantity.low, d) for d in derived) and not f.quantity.is_range:
                    continue  # a projection or a total the writer may derive
                found.append(f"the text gives {figure.label} as {f.quantity.text}, but the research data says "
                             f"{figure.value}")
    return list(dict.fromkeys(found))


def _near(value: float, number: float) -> bool:
    return abs(value - number) <= max(abs(value), abs(number)) * RELATIVE_TOLERANCE or \
        any(abs(value - number * scale) <= abs(number * scale) * RELATIVE_TOLERANCE for scale in (1e3, 1e6, 1e9, 1e12))


_NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:[,.' ]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?)\s*(%|[a-zA-Z]{1,8}\b)?")


def numbers_in(text: str) -> list[float]:
    """Every number in ``text``, each also scaled by a scale word that follows it ("23.7bn" -> 23.7, 2.37e10)."""
    found: list[float] = []
    for token, unit in _NUMBER.findall(text):
        value = parse_number(token)
        if not isinstance(value, float):
            continue
        found.append(value)
        scale = SCALES.get(unit.lower())
        if scale:
            found.append(value * scale)
    return found


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= max(abs(a), abs(b)) * 0.005 + 1e-9


def unbacked_numbers(prose: str, data: Iterable[BaseModel]) -> list[str]:
    """Numbers written in ``prose`` that appear nowhere in ``data`` (years and small counts are ignored)."""
    backed: list[float] = []
    for item in data:
        backed += numbers_in(item.model_dump_json(exclude={"figures"})) + list(getattr(item, "derived_numbers", list)())
    unbacked: list[str] = []
    for match in _NUMBER.finditer(prose):
        value = parse_number(match.group(1))
        if not isinstance(value, float) or value < 10 or (1900 <= value <= 2100 and value.is_integer()):
            continue
        scale = SCALES.get((match.group(2) or "").lower())
        scaled = [value * scale] if scale else []
        if not any(_close(v, b) or _close(v, round(b, 1)) or _close(v, round(b)) for v in [value, *scaled] for b in backed):
            unbacked.append(match.group(0).strip())
    return list(dict.fromkeys(unbacked))
