"""Spend before and after: the estimate against what runs spent, and the budget's hold, over HTTP.

``python -m benchmarks --budget`` runs a market report and a 5-company batch
against the OpenAI-compatible test server, which counts input tokens as a
tokenizer would (about one per four bytes of the request) and answers with
demo-length JSON. It prints, for each workflow, the estimate the app shows
before a run (:mod:`research.workflows.estimate`) against the tokens the
server reported, then the same runs under a budget of half their need: what
they spent, and how many requests the budget held back.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from research.config import Settings
from research.core.runs import RunResult
from research.inputs import CompanyRequest, MarketRequest
from research.providers.demo_content import demo_output_for
from research.workflows import run_workflow, workflow_for
from research.workflows.estimate import estimate
from tests.support.openai_server import Reply, StubOpenAIServer, StubRequest
from tests.support.openai_wire import tokens
from tests.support.responders import schema_title


class _Metered:
    """Valid demo-length answers; input tokens as a tokenizer counts them; keeps the tokens it reported."""

    def __init__(self) -> None:
        self.total = 0
        self._lock = threading.Lock()

    def __call__(self, request: StubRequest) -> Reply:
        reply = Reply(content=demo_output_for(schema_title(request), request.user_text),
                      input_tokens=len(json.dumps(request.body)) // 4)
        with self._lock:
            self.total += sum(tokens(request, reply))
        return reply


def _settings(server: StubOpenAIServer, **changes: Any) -> Settings:
    return Settings(api_key="bench", base_url=server.base_url, api="chat_completions",  # type: ignore[arg-type]
                    model="gpt-4.1-mini", **changes)


def _run(request: MarketRequest | CompanyRequest, **changes: Any) -> tuple[RunResult, int]:
    meter = _Metered()
    with StubOpenAIServer(meter) as server:
        result = asyncio.run(run_workflow(workflow_for(request.kind), request, _settings(server, **changes)))
    return result, meter.total


def run_budget_bench() -> list[dict[str, Any]]:
    """Per workflow: the estimate, the tokens spent without a budget, and under half that budget."""
    rows = []
    for name, request in (("Market report", MarketRequest.parse("plant-based dairy")),
                          ("Batch of 5 companies", CompanyRequest.parse([f"Company {n}" for n in range(1, 6)]))):
        with StubOpenAIServer(_Metered()) as server:
            guess = estimate(request, _settings(server))
        _, spent = _run(request)
        limited, spent_limited = _run(request, budget_tokens=spent // 2)
        budget = limited.budget
        rows.append({"workflow": name, "estimate": guess, "spent": spent, "budget": spent // 2,
                     "spent_limited": spent_limited, "refused": budget.refused if budget else 0,
                     "status": limited.status.value})
    return rows


def print_budget_bench() -> None:
    """Run the budget benchmark and print a Markdown table."""
    rows = run_budget_bench()
    print("Estimate before a run against the tokens the test server reported (gpt-4.1-mini prices; no web search)\n")
    print("| Workflow | Estimate | Spent | Within the estimate | Budget (half) | Spent under it | Requests held back "
          "| Status |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        guess = row["estimate"]
        inside = "yes" if guess.low_tokens <= row["spent"] <= guess.high_tokens else (
            "below" if row["spent"] < guess.low_tokens else "above")
        print(f"| {row['workflow']} | {guess.label} | {row['spent']:,} | {inside} | {row['budget']:,} "
              f"| {row['spent_limited']:,} | {row['refused']} | {row['status']} |")
