"""Responders for the OpenAI-compatible test server shared by tests and benchmarks."""

from __future__ import annotations

import re

from research.providers.demo_content import demo_output_for
from tests.support.openai_server import Reply, StubRequest, text_chunks

TITLES = {"market": "MarketData", "competitor": "CompetitorReport", "customer": "CustomerReport",
          "section": "SectionText", "summary": "ExecutiveSummary", "company": "CompanyProfile",
          "comparison": "CompanyComparison"}
"""The output schema title of each agent (the agent spec's key): "section" writes every report section."""


def schema_title(request: StubRequest) -> str:
    """The output schema's title: from the response format's schema (structured output, or llama.cpp-style
    JSON mode), else (plain JSON mode) from the instructions' "JSON Schema for <Title>"; "" if none."""
    if request.schema_title:
        return request.schema_title
    match = re.search(r"JSON Schema for (\w+)", request.system)
    return match.group(1) if match else ""


def latency_responder(latency: dict[str, float]):  # noqa: ANN201 - a Responder
    """A stub responder that answers every agent validly after its latency."""
    by_title = {TITLES[k]: v for k, v in latency.items()}

    def respond(request: StubRequest) -> Reply:
        title = schema_title(request)
        content = demo_output_for(title, request.user_text)
        seconds = by_title.get(title, 0.0)
        if not request.stream:
            return Reply(content=content, delay=seconds)
        # Like a real server: the first token after a fifth of the time, the rest spread evenly.
        return Reply(content=content, delay=seconds * 0.2, chunk_delay=seconds * 0.8 / len(text_chunks(content)))

    return respond
