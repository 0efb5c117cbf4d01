"""Helpers for driving the pipeline with the SDK's `agents.testing` doubles."""

from __future__ import annotations

from typing import Any

import httpx2
import openai
from agents.testing import ModelCall, ModelStep, ScriptedModel, assistant_message

from research.providers.demo_content import demo_output_for
from research.providers.source import ModelSource

TITLES = {"market": "MarketData", "competitor": "CompetitorReport", "customer": "CustomerReport",
          "section": "SectionText", "summary": "ExecutiveSummary"}
"""The output schema of each agent of a market run, by agent (spec) key."""
DEFAULT_CALLS = {"section": 3}
"""How many valid answers an agent gets when a test scripts nothing for it: one section per research agent."""


def message_text(call: ModelCall) -> str:
    """The user text of a recorded model call."""
    if isinstance(call.input, str):
        return call.input
    parts = []
    for item in call.input:
        content = item.get("content") if isinstance(item, dict) else None
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(c.get("text", "") for c in content if isinstance(c, dict))
    return "\n".join(parts)


def valid_answer(key: str) -> ModelStep:
    """A step answering with valid content for the agent ``key`` (derived from the request)."""
    return ModelStep.respond(lambda call: [assistant_message(demo_output_for(TITLES[key], message_text(call)))])


def text_answer(text: str) -> ModelStep:
    """A step answering with exactly ``text``."""
    return ModelStep(output=[assistant_message(text)])


def http_error(status: int, headers: dict[str, str] | None = None) -> openai.APIStatusError:
    """An openai error as the client raises it for an HTTP status."""
    response = httpx2.Response(status, headers=headers or {}, request=httpx2.Request("POST", "http://127.0.0.1/v1/responses"))
    cls = {429: openai.RateLimitError, 500: openai.InternalServerError, 401: openai.AuthenticationError}.get(status, openai.APIStatusError)
    return cls(f"HTTP {status}", response=response, body=None)


def scripted_source(**steps: list[Any]) -> tuple[ModelSource, dict[str, ScriptedModel]]:
    """A ModelSource whose agents answer from scripts; unspecified agents answer validly
    (once each, and the section writer once per research agent)."""
    models = {key: ScriptedModel(steps.get(key, [valid_answer(key)] * DEFAULT_CALLS.get(key, 1))) for key in TITLES}
    return ModelSource("compatible", "scripted", "responses", "http://127.0.0.1", dict(models), models["market"]), models
