"""Structured output on the wire: the schema sent to the model, and the two ways of asking for it.

:func:`wire_schema` is the output model's JSON schema reduced to what OpenAI's
strict structured outputs accept; the dropped bounds (text lengths, defaults)
are enforced locally when the answer is salvaged. Servers that refuse the
``json_schema`` response format get JSON mode instead, with the schema in the
instructions and, on Chat Completions, in the llama.cpp-style
``{"type": "json_object", "schema": …}`` that such servers use to constrain output.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import openai
from agents import AgentOutputSchemaBase, ModelSettings, OpenAIResponsesModel
from agents.models.interface import Model
from agents.strict_schema import ensure_strict_json_schema
from pydantic import BaseModel

STRICT_KEYWORDS = frozenset({
    "type", "properties", "required", "additionalProperties", "items", "anyOf", "enum", "const", "$ref", "$defs",
    "description", "title", "pattern", "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "multipleOf", "minItems", "maxItems",
})
"""The JSON-schema keywords OpenAI's strict structured outputs accept."""

_JSON_TYPE_REFUSAL = re.compile(r"json_schema|json_object", re.IGNORECASE)
_INVALID_SCHEMA = re.compile(r"invalid schema|schema.{0,40}(not permitted|not supported|invalid)", re.IGNORECASE)


def _reduce(node: Any) -> Any:
    if isinstance(node, list):
        return [_reduce(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "$defs"):
            out[key] = {name: _reduce(sub) for name, sub in value.items()}
        elif key in STRICT_KEYWORDS:
            out[key] = _reduce(value)
    return out


@cache
def wire_schema(output_type: type[BaseModel]) -> dict[str, Any]:
    """The strict JSON schema sent for ``output_type``: only keywords OpenAI's strict mode supports."""
    return ensure_strict_json_schema(_reduce(output_type.model_json_schema()))


@dataclass(frozen=True)
class RawJsonOutput(AgentOutputSchemaBase):
    """Asks the SDK for strict structured output of ``output_type`` but returns the answer's raw text.

    Validation happens afterwards in :func:`research.agents.salvage.salvage`, which keeps what is usable
    instead of rejecting the whole answer over one near-miss value.
    """

    output_type: type[BaseModel]

    def is_plain_text(self) -> bool:
        """Never plain text: the model is asked for JSON."""
        return False

    def name(self) -> str:
        """The schema's name, as the server sees it."""
        return self.output_type.__name__

    def json_schema(self) -> dict[str, Any]:
        """The reduced strict schema (see :func:`wire_schema`)."""
        return wire_schema(self.output_type)

    def is_strict_json_schema(self) -> bool:
        """Strict: the server constrains the answer to the schema where it can."""
        return True

    def validate_json(self, json_str: str) -> str:
        """The raw answer, unchanged."""
        return json_str


@dataclass
class OutputSupport:
    """What the model server accepts for structured output, learned during one run."""

    json_schema: bool = True


def _error_text(error: BaseException) -> str:
    return f"{error} {json.dumps(getattr(error, 'body', None), default=str)}"


def schema_rejected(error: BaseException) -> bool:
    """True when the server found the schema itself invalid ("Invalid schema …"): a bug to report, not a dialect."""
    return isinstance(error, openai.BadRequestError) and bool(_INVALID_SCHEMA.search(_error_text(error)))


def schema_unsupported(error: BaseException) -> bool:
    """True when a server refuses the `json_schema` response format, e.g. llama-cpp-python's
    "Input should be 'text' or 'json_object'" (HTTP 400, 422 or 500); never for an invalid schema."""
    return (
        isinstance(error, openai.APIStatusError)
        and error.status_code in (400, 422, 500)
        and bool(_JSON_TYPE_REFUSAL.search(_error_text(error)))
        and not schema_rejected(error)
    )


def schema_prompt(output_type: type[BaseModel]) -> str:
    """Instructions that carry the schema, for JSON mode."""
    schema = json.dumps(wire_schema(output_type), separators=(",", ":"))
    return (
        f"\n\nReply with only one JSON object, no prose and no code fences, that matches this "
        f"JSON Schema for {output_type.__name__}:\n{schema}"
    )


def json_mode_settings(model: Model, output_type: type[BaseModel]) -> ModelSettings:
    """Ask for JSON mode in the shape the model's API expects; Chat Completions also carries the schema."""
    if isinstance(model, OpenAIResponsesModel):
        return ModelSettings(extra_body={"text": {"format": {"type": "json_object"}}})
    return ModelSettings(extra_body={"response_format": {"type": "json_object", "schema": wire_schema(output_type)}})
