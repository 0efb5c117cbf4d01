"""A model that answers with filler, as small local models do: punctuation, the schema's own descriptions,
its instructions, and the app's data notes handed back as findings (for the junk-answer tests)."""

from __future__ import annotations

import itertools
import json
from typing import Any

from research.providers.demo_content import demo_output_for, parse_request
from tests.support.openai_wire import Reply, StubRequest
from tests.support.responders import schema_title

PUNCTUATION = ("][", "]}, {", "\\]\\[", "1.", "...", "- -")
"""Filler seen from SmolLM2-135M and Gemma 3 270M."""


def _descriptions(schema: Any) -> list[str]:
    if isinstance(schema, dict):
        own = [v for k, v in schema.items() if k == "description" and isinstance(v, str)]
        return own + [d for k, v in schema.items() if k != "description" for d in _descriptions(v)]
    if isinstance(schema, list):
        return [d for item in schema for d in _descriptions(item)]
    return []


def filler_for(request: StubRequest) -> list[str]:
    """What this request's answer is filled with: punctuation, the schema's descriptions, the instructions'
    first sentence, and the data notes (caveats) the request carries."""
    told = _descriptions(request.schema or {}) + [request.system.split(". ")[0]]
    caveats = [c.get("note", "") for c in parse_request(request.user_text).get("caveats") or [] if isinstance(c, dict)]
    return [*PUNCTUATION, *told, *caveats]


def _fill(value: Any, filler: itertools.cycle, key: str | None = None) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, filler, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, filler, key) for v in value]
    if isinstance(value, str) and key not in ("currency", "scale", "level", "as_of", "cites", "quote"):
        return next(filler)
    return value


def junk_answer(request: StubRequest) -> Reply:
    """A valid-shaped answer whose every text is filler (numbers, codes and levels are kept)."""
    valid = json.loads(demo_output_for(schema_title(request), request.user_text))
    return Reply(content=json.dumps(_fill(valid, itertools.cycle(filler_for(request)))))
