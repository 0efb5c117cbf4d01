"""Salvage benchmark: how many realistic imperfect answers become usable (``python -m benchmarks --salvage``).

Offline and in-process, no HTTP: for a fixed set of topics and every near-miss
answer in :data:`tests.support.imperfect.FLAWS` (currency names, numbers as
text, prose around the JSON, a cut-off answer...), the flawed text is read as
:func:`research.agents.runner.run_structured` reads it — :func:`extract_json`,
then :func:`salvage`. When required parts are still missing, the one repair
request is simulated: the model's second answer holds exactly the missing
fields, taken from a valid answer for the same topic, and is merged and
salvaged again as the runner does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from pydantic import BaseModel

from research.agents import company, comparison, competitor, customer, market, section, summary
from research.agents.salvage import NoJsonError, Salvage, extract_json, missing_parts_model, salvage
from research.agents.spec import request_message
from tests.support.imperfect import FLAWS, Flaw, valid_answer

TOPICS = (
    "plant-based dairy",
    "European e-bike market",
    "payroll software for small businesses",
    "home battery storage in Germany",
    "AI code review tools",
)
"""The fixed topics every flaw is applied to."""

TODAY = dt.date(2025, 6, 1)
"""The request date, fixed so the demo answers (and the figures) are the same on every run."""

OUTPUT_MODELS: dict[str, type[BaseModel]] = {
    spec.output_type.__name__: spec.output_type
    for spec in (market.SPEC, competitor.SPEC, customer.SPEC, section.SPEC, summary.SPEC, company.SPEC, comparison.SPEC)
}
"""Output models by schema title (a flaw's ``title``)."""


@dataclass
class FlawResult:
    """One flaw over every topic: answers usable at once, after one repair request, and the first note seen."""

    flaw: Flaw
    without_repair: int = 0
    with_repair: int = 0
    notes: list[str] = field(default_factory=list)


def _read(model: type[BaseModel], text: str) -> Salvage:
    """An answer salvaged as the runner salvages it (no value, whole answer missing, if it holds no JSON)."""
    try:
        found = extract_json(text)
    except NoJsonError:
        return Salvage(None, {}, ["answer"])
    return salvage(model, found.data, cut_off=found.cut_off)


def salvage_answer(flaw: Flaw, topic: str) -> tuple[Salvage, Salvage | None]:
    """The first salvage of the flawed answer and, if it lacked parts, the result after one repair."""
    model = OUTPUT_MODELS[flaw.title]
    valid = valid_answer(flaw.title, request_message(topic=topic, today=TODAY.isoformat()))
    first = _read(model, flaw(valid))
    if first.value is not None:
        return first, None
    if "answer" in first.missing:  # the repair request asks for the whole answer again
        return first, salvage(model, valid)
    second = salvage(missing_parts_model(model, first.missing), {k: valid[k] for k in first.missing if k in valid})
    return first, salvage(model, {**first.data, **second.data})


def _notes(result: Salvage) -> list[str]:
    """The data notes of a salvage: its value's notes, or those gathered before parts were found missing."""
    return list(getattr(result.value, "notes", [])) if result.value is not None else list(result.notes)


def run_salvage_bench(topics: tuple[str, ...] = TOPICS) -> list[FlawResult]:
    """Every flaw applied to every topic's valid answer, salvaged with and without one repair request."""
    results = []
    for flaw in FLAWS.values():
        result = FlawResult(flaw)
        for topic in topics:
            first, repaired = salvage_answer(flaw, topic)
            final = first if repaired is None else repaired
            result.without_repair += first.value is not None
            result.with_repair += final.value is not None
            notes = _notes(first)
            if repaired is not None:
                notes += [f"repair asked for: {', '.join(first.missing)}", *_notes(repaired)]
            result.notes.extend(n for n in notes if n not in result.notes)
        results.append(result)
    return results


def _short(text: str, limit: int = 90) -> str:
    text = " ".join(text.split()).replace("|", "/")
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _share(count: int, total: int) -> str:
    return f"{count} of {total} ({100 * count / total:.0f} %)"


def print_salvage_bench(topics: tuple[str, ...] = TOPICS) -> None:
    """Run the salvage benchmark and print a Markdown table and a one-line summary."""
    results = run_salvage_bench(topics)
    per_flaw = len(topics)
    total = per_flaw * len(results)
    print(f"Salvage of imperfect answers (offline; {len(results)} near-miss flaws × {per_flaw} topics = "
          f"{total} answers)\n")
    print("| Flaw | Schema | Usable without repair | Usable after one repair | First data note |")
    print("| --- | --- | --- | --- | --- |")
    for r in results:
        note = _short(r.notes[0]) if r.notes else "—"
        print(f"| {r.flaw.name} | {r.flaw.title} | {r.without_repair}/{per_flaw} | {r.with_repair}/{per_flaw} | "
              f"{note} |")
    print("\n— : read as meant, without a data note.")
    without = sum(r.without_repair for r in results)
    repaired = sum(r.with_repair for r in results)
    print(f"\n{_share(without, total)} salvaged without a repair request, {_share(repaired, total)} with one.")


if __name__ == "__main__":
    print_salvage_bench()
