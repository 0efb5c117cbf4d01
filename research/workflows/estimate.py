"""What a run will spend, said before it starts: a token range (and USD at the model's price) from the step graph.

For each model-calling step of the request's graph, the estimate adds the
step's fixed prompt (its agent's instructions and output schema), what its
message carries (the topic, the evidence passages when a web search is
configured, the findings of the steps it reads) and its output: a low end
where answers are short (a quarter of the output limit) and prompts count a
token per four bytes, and a high end where every answer uses its whole limit
and prompts count a token per three bytes. Repair requests and retries are
not in it (they are rare; the budget still counts them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from research.agents import company, comparison, section, summary
from research.agents.spec import AgentSpec
from research.config import Settings, describe_settings
from research.inputs import CompanyRequest, MarketRequest
from research.pricing import price_of
from research.retrieval.evidence import MAX_PASSAGES, PASSAGE_CHARS
from research.retrieval.search import chosen_search
from research.workflows import workflow_for
from research.workflows.keys import StepKey, StepKind, research_agent

LOW_OUTPUT_SHARE = 0.25
"""The low end's answers use this share of their output-token limit."""
MESSAGE_BYTES = 400
"""The request's own fields in a message (topic, date, section name) and the JSON around them."""
PASSAGE_BYTES = PASSAGE_CHARS + 200
"""One evidence passage in a message: its text, title, address and date."""


@dataclass(frozen=True)
class Estimate:
    """A run's expected spend: tokens (and USD where the model's price is known), low to high."""

    low_tokens: int
    high_tokens: int
    model: str
    low_usd: float | None = None
    high_usd: float | None = None

    @property
    def label(self) -> str:
        """E.g. "about 9–14 k tokens, ≈ $0.01–0.02 with gpt-4.1-mini"."""
        text = f"about {_thousands(self.low_tokens)}–{_thousands(self.high_tokens)} k tokens"
        if self.low_usd is not None and self.high_usd is not None:
            text += f", ≈ ${self.low_usd:.2f}–{max(self.high_usd, 0.01):.2f}"
        return f"{text} with {self.model}"


def _thousands(tokens: int) -> str:
    return f"{tokens / 1000:.0f}" if tokens >= 10_000 else f"{tokens / 1000:.1f}".rstrip("0").rstrip(".")


def _spec(key: StepKey) -> AgentSpec[Any]:
    specs = {StepKind.SECTION: section.SPEC, StepKind.SUMMARY: summary.SPEC, StepKind.COMPANY: company.SPEC,
             StepKind.COMPARISON: comparison.SPEC}
    return research_agent(key.subject).spec if key.kind is StepKind.AGENT else specs[key.kind]


def _fixed_bytes(spec: AgentSpec[Any]) -> int:
    schema = json.dumps(spec.output_type.model_json_schema(), ensure_ascii=False)
    return len(spec.system_prompt.encode()) + len(schema.encode())


def estimate(request: MarketRequest | CompanyRequest, settings: Settings) -> Estimate:
    """The expected spend of researching ``request`` with ``settings`` (no request is made)."""
    searched = chosen_search(settings) is not None
    evidence = MAX_PASSAGES * PASSAGE_BYTES if searched else 0
    steps = [StepKey.parse(step.key) for step in workflow_for(request.kind).steps(request, None) if step.calls_model]
    limits = {key: settings.max_output_tokens or _spec(key).max_output_tokens for key in steps}
    read: dict[StepKind, list[StepKey]] = {  # whose answers each kind of writer reads
        StepKind.SUMMARY: [k for k in steps if k.kind is StepKind.AGENT],
        StepKind.COMPARISON: [k for k in steps if k.kind is StepKind.COMPANY]}
    low_in = high_in = low_out = high_out = 0.0
    for key in steps:
        spec = _spec(key)
        if key.kind is StepKind.SECTION:
            sources = [StepKey.agent(key.subject)]
        else:
            sources = read.get(key.kind, [])
        low_findings = sum(limits[s] * LOW_OUTPUT_SHARE * 4 for s in sources)
        high_findings = sum(limits[s] * 4 for s in sources)
        given = evidence if key.kind in (StepKind.AGENT, StepKind.COMPANY) else 0
        fixed = _fixed_bytes(spec) + MESSAGE_BYTES
        low_in += (fixed + low_findings) / 4
        high_in += (fixed + given + high_findings) / 3
        low_out += limits[key] * LOW_OUTPUT_SHARE
        high_out += limits[key]
    _, model = describe_settings(settings)
    price = None if settings.demo else price_of(model, settings.prices)
    usd = (None, None) if price is None else ((low_in * price[0] + low_out * price[1]) / 1e6,
                                              (high_in * price[0] + high_out * price[1]) / 1e6)
    return Estimate(round(low_in + low_out), round(high_in + high_out), model, *usd)
