"""Structured output: validating answers safely, and JSON mode for servers without JSON schemas."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import openai
from agents import AgentOutputSchema, ModelSettings, OpenAIResponsesModel
from agents.exceptions import ModelBehaviorError
from agents.models.interface import Model
from pydantic import BaseModel, ValidationError

_SCHEMA_REFUSAL = re.compile(r"json_schema|json_object|response_format", re.IGNORECASE)
_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


class InvalidAnswer(ModelBehaviorError):
    """The model's answer failed validation; ``summary`` says why without quoting it."""

    def __init__(self, summary: str) -> None:
        super().__init__(f"invalid answer: {summary}")
        self.summary = summary


@dataclass
class OutputSupport:
    """What the model server accepts for structured output, learned during one run."""

    json_schema: bool = True


def validation_summary(error: ValidationError) -> str:
    """What was wrong with an answer (field and rule), never the answer's text."""
    parts = []
    for item in error.errors(include_input=False, include_url=False)[:4]:
        where = ".".join(str(p) for p in item["loc"]) or "answer"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


class CheckedOutput(AgentOutputSchema):
    """The SDK's output schema, validating with the model's own rules and a safe error."""

    def validate_json(self, json_str: str) -> BaseModel:
        """Parse and validate the answer, raising :class:`InvalidAnswer` on any problem."""
        try:
            return self.output_type.model_validate_json(json_str)
        except ValidationError as exc:
            raise InvalidAnswer(validation_summary(exc)) from None


def schema_unsupported(error: BaseException) -> bool:
    """True when a server refuses `json_schema` output, e.g. llama-cpp-python's
    "Input should be 'text' or 'json_object'" (HTTP 400, 422 or 500)."""
    return (
        isinstance(error, openai.APIStatusError)
        and error.status_code in (400, 422, 500)
        and bool(_SCHEMA_REFUSAL.search(f"{error} {error.body}"))
    )


def schema_prompt(output_type: type[BaseModel]) -> str:
    """Instructions that carry the schema, for JSON mode."""
    schema = json.dumps(output_type.model_json_schema(), separators=(",", ":"))
    return (
        f"\n\nReply with only one JSON object, no prose and no code fences, that matches this "
        f"JSON Schema for {output_type.__name__}:\n{schema}"
    )


def json_mode_settings(model: Model) -> ModelSettings:
    """Ask for JSON mode in the shape the model's API expects."""
    if isinstance(model, OpenAIResponsesModel):
        return ModelSettings(extra_body={"text": {"format": {"type": "json_object"}}})
    return ModelSettings(extra_body={"response_format": {"type": "json_object"}})


def strip_fences(text: str) -> str:
    """The JSON inside a Markdown code fence, if the model added one."""
    match = _FENCE.match(text)
    return match.group(1) if match else text
