"""The model of a run with a budget: every request the SDK makes through it reserves its worst case first.

:class:`BudgetedModel` wraps the SDK model a run uses. Each call, whether the
runner's first request, one of the SDK's retries or the repair request, counts
its prompt conservatively, reserves it plus the request's output-token limit
from the :class:`~research.core.budget.RunBudget` (which may refuse it:
:class:`~research.core.budget.BudgetReached`), and settles with the usage the
server reports, or with a conservative estimate from the text when it reports
none.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from agents import ModelSettings
from agents.models.interface import Model

from research.core.budget import Reservation, RunBudget, conservative_tokens

DEFAULT_OUTPUT_LIMIT = 4096
"""Reserved for a request that carries no output-token limit (the runner always sets one)."""


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)


def prompt_tokens(system_instructions: str | None, input: Any, settings: ModelSettings, output_schema: Any) -> int:
    """An upper bound on the tokens a request sends: instructions, input, output schema and extra body."""
    parts = [system_instructions or "", _text(input)]
    if output_schema is not None and hasattr(output_schema, "json_schema"):
        try:
            parts.append(_text(output_schema.json_schema()))
        except Exception:  # noqa: BLE001 - a schema that cannot be shown is not sent either
            pass
    if settings.extra_body:
        parts.append(_text(settings.extra_body))
    messages = 1 + (len(input) if isinstance(input, list) else 1)
    return conservative_tokens(*parts, messages=messages)


def _usage_of(response: Any) -> tuple[int, int] | None:
    usage = getattr(response, "usage", None)
    if usage is None:
        return None
    given, produced = int(getattr(usage, "input_tokens", 0) or 0), int(getattr(usage, "output_tokens", 0) or 0)
    return (given, produced) if given or produced else None


class BudgetedModel(Model):
    """``model``, with each request held to ``budget`` (see the module's description)."""

    def __init__(self, model: Model, budget: RunBudget) -> None:
        self.model, self.budget = model, budget

    def get_retry_advice(self, request: Any) -> Any:
        """The wrapped model's advice on retrying a failed request."""
        return self.model.get_retry_advice(request)

    async def _cleanup_on_run_end(self, owner: object) -> None:
        await self.model._cleanup_on_run_end(owner)

    async def close(self) -> None:
        """Close the wrapped model."""
        await self.model.close()

    async def _reserve(self, system_instructions: str | None, input: Any, settings: ModelSettings,
                       output_schema: Any) -> Reservation:
        prompt = prompt_tokens(system_instructions, input, settings, output_schema)
        return await self.budget.reserve(prompt, settings.max_tokens or DEFAULT_OUTPUT_LIMIT)

    def _settle(self, reservation: Reservation, reported: tuple[int, int] | None, text: str) -> None:
        if reported is not None:
            self.budget.settle(reservation, *reported, estimated=False)
        elif text:  # the server reported nothing: count what was sent and what came back, conservatively
            self.budget.settle(reservation, reservation.prompt_tokens, conservative_tokens(text, messages=0),
                               estimated=True)
        else:  # refused before any answer (an HTTP error): nothing was produced
            self.budget.settle(reservation, 0, 0, estimated=False)

    async def get_response(self, system_instructions: str | None, input: Any, model_settings: ModelSettings,
                           tools: Any, output_schema: Any, handoffs: Any, tracing: Any, **kwargs: Any) -> Any:
        """The wrapped model's answer, its worst case reserved before and settled after."""
        reservation = await self._reserve(system_instructions, input, model_settings, output_schema)
        response, text = None, ""
        try:
            response = await self.model.get_response(system_instructions, input, model_settings, tools,
                                                     output_schema, handoffs, tracing, **kwargs)
            text = "".join(_text(getattr(item, "content", "")) for item in getattr(response, "output", []))
            return response
        finally:
            self._settle(reservation, _usage_of(response), text)

    async def stream_response(self, system_instructions: str | None, input: Any, model_settings: ModelSettings,
                              tools: Any, output_schema: Any, handoffs: Any, tracing: Any,
                              **kwargs: Any) -> AsyncIterator[Any]:
        """The wrapped model's stream, its worst case reserved before and settled when it ends."""
        reservation = await self._reserve(system_instructions, input, model_settings, output_schema)
        reported: tuple[int, int] | None = None
        pieces: list[str] = []
        try:
            async for event in self.model.stream_response(system_instructions, input, model_settings, tools,
                                                          output_schema, handoffs, tracing, **kwargs):
                kind = getattr(event, "type", None)
                if kind == "response.output_text.delta":
                    pieces.append(event.delta)
                elif kind == "response.completed":
                    reported = _usage_of(event.response)
                yield event
        finally:
            self._settle(reservation, reported, "".join(pieces))
