"""Every figure checked against its source, in code.

A research output lists its figures (:meth:`Grounded.cited_figures`), each with
the evidence ids the model cited. :func:`ground` decides each figure's status:
*verified* when a cited passage contains the number (allowing for formats such
as 23.7 / 23,7 / 23.7bn / $23.7 billion / 23,700,000,000), *cited but not found
in the source*, or *estimate* when nothing is cited. A cited id that was not in
the evidence given to that agent is dropped and noted, and so is every source
the model named that was not among the pages read: only evidence is ever shown
as a source. :func:`unbacked_numbers` finds numbers in written prose that
appear nowhere in the research data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from research.agents.common import FigureCheck, FigureStatus, Source
from research.agents.fields import parse_number
from research.retrieval.types import Evidence

_SCALE_WORDS = {"thousand": 1e3, "k": 1e3, "million": 1e6, "mn": 1e6, "m": 1e6, "mio": 1e6, "billion": 1e9,
                "bn": 1e9, "b": 1e9, "bln": 1e9, "trillion": 1e12, "tn": 1e12, "trn": 1e12,
                "mrd": 1e9, "bil": 1e9}
_NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:[,.' ]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?)\s*(%|[a-zA-Z]{1,8}\b)?")


def numbers_in(text: str) -> list[float]:
    """Every number in ``text``, each also scaled by a scale word that follows it ("23.7bn" -> 23.7, 2.37e10)."""
    found: list[float] = []
    for token, unit in _NUMBER.findall(text):
        value = parse_number(token)
        if not isinstance(value, float):
            continue
        found.append(value)
        scale = _SCALE_WORDS.get(unit.lower())
        if scale:
            found.append(value * scale)
    return found


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= max(abs(a), abs(b)) * 0.005 + 1e-9


def contains_number(text: str, numbers: Iterable[float]) -> bool:
    """True when ``text`` states one of ``numbers`` (in any usual format)."""
    wanted = list(numbers)
    return any(_close(value, number) for value in numbers_in(text) for number in wanted)


def ground(data: Any, evidence: Evidence | None) -> list[FigureCheck]:
    """Check every cited figure of ``data`` against ``evidence``; set ``data.figures`` and its sources and notes.

    ``data`` is a research output (it has ``cited_figures()``, ``sources``,
    ``figures`` and ``note()``). Without evidence every figure is an estimate.
    """
    known = {p.id: p for p in (evidence.passages if evidence else [])}
    checks: list[FigureCheck] = []
    cited_ids: list[str] = []
    dropped: set[str] = set()
    for figure in data.cited_figures():
        cites = [c for c in dict.fromkeys(figure.owner.cites) if isinstance(c, str)]
        dropped |= {c for c in cites if c not in known}
        cites = [c for c in cites if c in known]
        figure.owner.cites = cites
        if not cites:
            status = FigureStatus.ESTIMATE
        elif any(contains_number(known[c].text, figure.numbers) for c in cites):
            status = FigureStatus.VERIFIED
        else:
            status = FigureStatus.NOT_FOUND
        checks.append(FigureCheck(label=figure.label, value=figure.value, status=status, cites=cites))
        cited_ids += cites
    if dropped:
        data.note(f"Citations to {', '.join(sorted(dropped))} were not among the evidence given and were dropped.")
    named = [s for s in data.sources if s.url and all(s.url != p.url for p in known.values())]
    if named:
        data.note(f"{len(named)} source(s) the model named were not among the pages read and are not shown.")
    data.sources = [Source(title=known[i].title, url=known[i].url or None, retrieved_at=known[i].retrieved_at)
                    for i in dict.fromkeys(cited_ids)]
    data.figures = checks
    return checks


def unbacked_numbers(prose: str, data: Iterable[BaseModel]) -> list[str]:
    """Numbers written in ``prose`` that appear nowhere in ``data`` (years and small counts are ignored)."""
    backed: list[float] = []
    for item in data:
        backed += numbers_in(item.model_dump_json()) + list(getattr(item, "derived_numbers", list)())
    unbacked: list[str] = []
    for match in _NUMBER.finditer(prose):
        value = parse_number(match.group(1))
        if not isinstance(value, float) or value < 10 or (1900 <= value <= 2100 and value.is_integer()):
            continue
        scaled = [value * _SCALE_WORDS[match.group(2).lower()]] if match.group(2) and match.group(2).lower() in _SCALE_WORDS else []
        if not any(_close(v, b) or _close(v, round(b, 1)) or _close(v, round(b)) for v in [value, *scaled] for b in backed):
            unbacked.append(match.group(0).strip())
    return list(dict.fromkeys(unbacked))
