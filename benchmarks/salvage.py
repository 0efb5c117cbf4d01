"""Salvage benchmark: how many realistic imperfect answers become usable (``python -m benchmarks --salvage``).

Offline and in-process, no HTTP: for a fixed set of topics and every near-miss
answer in :data:`tests.support.imperfect.FLAWS` (currency names, numbers as
text, prose around the JSON, a cut-off answer...), the flawed text is read as
:func:`research.agents.runner.run_structured` reads it — :func:`extract_json`,
then :func:`salvage`. When required parts are still missing, the one repair
request is simulated: the model's second answer holds exactly the missing
fields, taken from a valid answer for the same topic, and is merged and
salvaged again as the runner does.

Two more parts: *filler* answers (every text, or every other one, replaced by
punctuation, the schema's own descriptions or the instructions, as small local
models write them), which must never survive into a value; and *interrupted*
streams: a market run and a company batch over HTTP against the test server in
its one-slot mode, which cuts a running stream short when another request
waits (as llama-cpp-python's server does), counted against an uninterrupted run.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from pydantic import BaseModel

from research.agents import company, comparison, competitor, customer, market, section, summary
from research.agents.runner import Answer, filler_check, read_answer
from research.agents.salvage import Salvage, missing_parts_model, salvage
from research.agents.spec import AgentSpec, request_message
from research.core.errors import ModelDeclinedError
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

SPECS: dict[str, AgentSpec] = {
    spec.output_type.__name__: spec
    for spec in (market.SPEC, competitor.SPEC, customer.SPEC, section.SPEC, summary.SPEC, company.SPEC, comparison.SPEC)
}
"""Agent specs by schema title (a flaw's ``title``)."""
OUTPUT_MODELS: dict[str, type[BaseModel]] = {title: spec.output_type for title, spec in SPECS.items()}
"""Output models by schema title."""


@dataclass
class FlawResult:
    """One flaw over every topic: answers usable at once, after one repair request, and the first note seen."""

    flaw: Flaw
    without_repair: int = 0
    with_repair: int = 0
    notes: list[str] = field(default_factory=list)


def _read(model: type[BaseModel], text: str) -> Salvage:
    """An answer read as the runner reads it: filler left out, then salvaged (no value, the whole answer
    missing, if it holds no JSON, only filler, or a refusal)."""
    try:
        return read_answer(model, Answer(text), filler_check(SPECS[model.__name__]))[0]
    except ModelDeclinedError:
        return Salvage(None, {}, ["answer"])


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


@dataclass
class FillerResult:
    """Filler answers of one schema over every topic: filler texts given and left out, and what came of it."""

    title: str
    given: int = 0
    left_out: int = 0
    survived: int = 0
    """Filler texts found in a salvaged value (the goal is 0)."""
    all_filler_refused: int = 0
    """All-filler answers read as no answer (asked again, then failed)."""
    half_filler_usable: int = 0


def _filler_answer(title: str, valid: dict, every: int) -> tuple[dict, list[str]]:
    """``valid`` with every ``every``-th text replaced by filler, and the filler used."""
    from research.agents.quality import instruction_lines, schema_texts, text_fields
    from tests.support.junk import PUNCTUATION

    spec, used, count = SPECS[title], [], [0]
    pool = [*PUNCTUATION, *sorted(schema_texts(spec.output_type)), *instruction_lines(spec.system_prompt)[:3]]
    fields = text_fields(spec.output_type)

    def fill(value: object, key: str | None = None) -> object:
        if isinstance(value, dict):
            return {k: fill(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v, key) for v in value]
        if isinstance(value, str) and key in fields:
            count[0] += 1
            if count[0] % every == 0:
                used.append(pool[len(used) % len(pool)])
                return used[-1]
        return value

    return fill(valid), used


def run_filler_bench(topics: tuple[str, ...] = TOPICS) -> list[FillerResult]:
    """Every schema's valid answers with all, then every other, text replaced by filler, read as the runner reads."""
    import json

    results = []
    for title in SPECS:
        result = FillerResult(title)
        for topic in topics:
            valid = valid_answer(title, request_message(topic=topic, today=TODAY.isoformat()))
            for every in (1, 2):
                answer, used = _filler_answer(title, valid, every)
                read = _read(OUTPUT_MODELS[title], json.dumps(answer))
                kept = read.value.model_dump_json() if read.value is not None else json.dumps(read.data)
                result.given += len(used)
                result.survived += sum(json.dumps(text)[1:-1] in kept for text in set(used) if len(text) > 3)
                result.left_out += len(used) - sum(json.dumps(t)[1:-1] in kept for t in used if len(t) > 3)
                if every == 1:
                    result.all_filler_refused += read.value is None and "answer" in read.missing
                else:
                    result.half_filler_usable += read.value is not None
        results.append(result)
    return results


def run_interrupted_bench() -> list[tuple[str, int, int, int, int, str]]:
    """A market run and a 5-company batch, plain and against a one-slot server that cuts streams short:
    (run, requests plain, requests one-slot, streams cut, repair requests, status)."""
    import asyncio
    import tempfile
    from pathlib import Path

    from research.config import Settings
    from research.workflows.companies import run_company_batch
    from research.workflows.market import run_market_research
    from tests.support.openai_server import StubOpenAIServer
    from tests.support.responders import latency_responder

    latency = {"market": 0.3, "competitor": 0.3, "customer": 0.3, "section": 0.1, "summary": 0.1, "company": 0.3,
               "comparison": 0.1}
    runs = {"market report": lambda settings: run_market_research("widgets", settings),
            "5-company batch": lambda settings: run_company_batch(["Acme", "Beta", "Gamma", "Delta", "Epsilon"], settings)}
    rows = []
    for name, run in runs.items():
        counts = {}
        for single_slot in (False, True):
            with tempfile.TemporaryDirectory() as data, StubOpenAIServer(latency_responder(latency),
                                                                          single_slot=single_slot) as server:
                settings = Settings(api_key="sk-test", base_url=server.base_url, api="chat_completions",
                                    model="stub-model", data_dir=Path(data))
                result = asyncio.run(run(settings))
                repairs = sum("Your previous answer" in r.user_text for r in server.requests)
                counts[single_slot] = (len(server.requests), server.interruptions, repairs, result.status.value)
        (plain, _, _, _), (requests, cut, repairs, status) = counts[False], counts[True]
        rows.append((name, plain, requests, cut, repairs, status))
    return rows


def print_filler_and_interrupted_bench(topics: tuple[str, ...] = TOPICS) -> None:
    """Print the filler and interrupted-stream tables."""
    results = run_filler_bench(topics)
    print(f"\nFiller answers (offline; each schema × {len(topics)} topics, all texts and every other text filler)\n")
    print("| Schema | Filler texts | Left out | Survived into the value | All-filler answers read as no answer "
          "| Half-filler answers usable |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in results:
        print(f"| {r.title} | {r.given} | {r.left_out} | {r.survived} | {r.all_filler_refused}/{len(topics)} | "
              f"{r.half_filler_usable}/{len(topics)} |")
    print("\nInterrupted streams (HTTP on 127.0.0.1; a one-slot server that cuts a running stream when another "
          "request waits)\n")
    print("| Run | Requests, plain server | Requests, one-slot server | Streams cut | Repair requests | Status |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, plain, requests, cut, repairs, status in run_interrupted_bench():
        print(f"| {name} | {plain} | {requests} ({requests / plain:.2f}×) | {cut} | {repairs} | {status} |")


if __name__ == "__main__":
    print_salvage_bench()
    print_filler_and_interrupted_bench()
