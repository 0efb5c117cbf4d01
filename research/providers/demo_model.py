"""The offline demo model: an Agents SDK ``Model`` that answers without a language model.

:class:`DemoModel` lets a new user try the whole research flow with no API key. It recognises the
calling agent by the title of its output schema, waits a realistic latency, and answers with the
deterministic demo content of :mod:`research.providers.demo_content` — streamed progressively when asked.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any, cast

from agents.agent_output import AgentOutputSchemaBase
from agents.exceptions import UserError
from agents.handoffs import Handoff
from agents.items import ModelResponse, TResponseInputItem, TResponseStreamEvent
from agents.model_settings import ModelSettings
from agents.models.interface import Model, ModelTracing
from agents.tool import Tool
from agents.tracing import generation_span
from agents.usage import Usage
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseContentPartAddedEvent,
    ResponseContentPartDoneEvent,
    ResponseCreatedEvent,
    ResponseInProgressEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseOutputMessage,
    ResponseOutputText,
    ResponseTextDeltaEvent,
    ResponseTextDoneEvent,
    ResponseUsage,
)
from openai.types.responses.response_prompt_param import ResponsePromptParam
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

from research.providers.demo_content import demo_output_for

DEMO_MODEL_NAME = "offline-demo"
"""The model name reported in responses and traces."""

DEFAULT_LATENCY: Mapping[str, float] = {
    "MarketData": 1.2,
    "CompetitorReport": 1.6,
    "CustomerReport": 1.4,
    "SectionText": 0.8,
    "ExecutiveSummary": 1.2,
    "CompanyProfile": 1.0,
    "CompanyComparison": 1.5,
}
"""Seconds each agent's answer takes at ``speed=1``, by output schema title."""

_CHUNK_SIZES = (23, 31, 27, 36, 20, 40, 29, 34, 25, 38)


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(p.get("text")) for p in content if isinstance(p, dict) and p.get("text") is not None)
    return ""


def _last_user_text(input: str | list[TResponseInputItem]) -> str:
    """The text of the latest user message in ``input``."""
    if isinstance(input, str):
        return input
    for item in reversed(input):
        if isinstance(item, dict) and item.get("role") == "user":
            return _text_of(item.get("content"))
    return ""


def _all_text(system_instructions: str | None, input: str | list[TResponseInputItem]) -> str:
    if isinstance(input, str):
        return (system_instructions or "") + input
    texts = [_text_of(item.get("content")) for item in input if isinstance(item, dict)]
    return (system_instructions or "") + "".join(texts)


def _chunks(text: str) -> list[str]:
    """``text`` cut into pieces of 20-40 characters."""
    pieces: list[str] = []
    pos = 0
    while pos < len(text):
        size = _CHUNK_SIZES[len(pieces) % len(_CHUNK_SIZES)]
        pieces.append(text[pos : pos + size])
        pos += size
    return pieces or [""]


class DemoModel(Model):
    """A ``Model`` that returns deterministic demo JSON for the research agents, offline.

    Args:
        latency: Seconds per output schema title, overriding :data:`DEFAULT_LATENCY`.
        speed: Divides every latency (e.g. ``speed=50`` in tests); must be positive.
    """

    def __init__(self, *, latency: Mapping[str, float] | None = None, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._latency = {**DEFAULT_LATENCY, **(latency or {})}
        self._speed = speed

    def latency_for(self, schema_title: str) -> float:
        """Seconds an answer for ``schema_title`` takes at this model's speed."""
        return max(0.0, self._latency.get(schema_title, 1.0)) / self._speed

    @staticmethod
    def _schema_title(output_schema: AgentOutputSchemaBase | None) -> str:
        if output_schema is None or output_schema.is_plain_text():
            raise UserError("DemoModel needs an agent with a structured output_type (e.g. MarketData)")
        title = output_schema.json_schema().get("title")
        if not isinstance(title, str) or title not in DEFAULT_LATENCY:
            raise UserError(f"DemoModel has no demo content for output schema {title!r}")
        return title

    def _answer(
        self, system_instructions: str | None, input: str | list[TResponseInputItem], output_schema: Any
    ) -> tuple[str, str, Usage]:
        title = self._schema_title(output_schema)
        text = demo_output_for(title, _last_user_text(input))
        input_tokens = max(1, len(_all_text(system_instructions, input)) // 4)
        output_tokens = max(1, len(text) // 4)
        usage = Usage(requests=1, input_tokens=input_tokens, output_tokens=output_tokens,
                      total_tokens=input_tokens + output_tokens)
        return title, text, usage

    @staticmethod
    def _message(text: str | None, item_id: str) -> ResponseOutputMessage:
        """The assistant message holding ``text``; ``None`` gives the empty in-progress message."""
        if text is None:
            return ResponseOutputMessage(id=item_id, type="message", role="assistant", status="in_progress", content=[])
        part = ResponseOutputText(type="output_text", text=text, annotations=[], logprobs=[])
        return ResponseOutputMessage(id=item_id, type="message", role="assistant", status="completed", content=[part])

    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None,
        conversation_id: str | None,
        prompt: ResponsePromptParam | None,
    ) -> ModelResponse:
        """Wait the agent's latency, then return its demo answer as one assistant message."""
        title, text, usage = self._answer(system_instructions, input, output_schema)
        with generation_span(model=DEMO_MODEL_NAME, disabled=tracing.is_disabled()) as span:
            await asyncio.sleep(self.latency_for(title))
            span.span_data.usage = {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens}
            if tracing.include_data():
                span.span_data.output = [{"role": "assistant", "content": text}]
        message = self._message(text, f"msg_demo_{uuid.uuid4().hex}")
        return ModelResponse(output=[message], usage=usage, response_id=f"resp_demo_{uuid.uuid4().hex}")

    async def stream_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None,
        conversation_id: str | None,
        prompt: ResponsePromptParam | None,
    ) -> AsyncIterator[TResponseStreamEvent]:
        """Stream the demo answer as Responses events, text deltas spread over the latency."""
        title, text, usage = self._answer(system_instructions, input, output_schema)
        latency = self.latency_for(title)
        item_id, seq = f"msg_demo_{uuid.uuid4().hex}", 0
        final = self._message(text, item_id)
        part = final.content[0]
        response = Response(
            id=f"resp_demo_{uuid.uuid4().hex}", created_at=time.time(), model=DEMO_MODEL_NAME, object="response",
            output=[final], tool_choice="auto", tools=[], top_p=None, parallel_tool_calls=False,
            status="completed",
            usage=ResponseUsage(
                input_tokens=usage.input_tokens, output_tokens=usage.output_tokens, total_tokens=usage.total_tokens,
                input_tokens_details=InputTokensDetails(cached_tokens=0, cache_write_tokens=0),
                output_tokens_details=OutputTokensDetails(reasoning_tokens=0),
            ),
        )
        pending = response.model_copy(update={"output": [], "status": "in_progress", "usage": None})

        def event(cls: type[Any], **fields: Any) -> TResponseStreamEvent:
            nonlocal seq
            seq += 1
            return cast(TResponseStreamEvent, cls(sequence_number=seq - 1, **fields))

        where = {"item_id": item_id, "output_index": 0, "content_index": 0}
        span = generation_span(model=DEMO_MODEL_NAME, disabled=tracing.is_disabled())
        span.start(mark_as_current=False)
        try:
            yield event(ResponseCreatedEvent, type="response.created", response=pending)
            yield event(ResponseInProgressEvent, type="response.in_progress", response=pending)
            yield event(ResponseOutputItemAddedEvent, type="response.output_item.added", output_index=0,
                        item=self._message(None, item_id))
            yield event(ResponseContentPartAddedEvent, type="response.content_part.added", **where,
                        part=part.model_copy(update={"text": ""}))
            pieces = _chunks(text)
            loop = asyncio.get_running_loop()
            start, step = loop.time(), latency / len(pieces)
            for index, piece in enumerate(pieces, start=1):
                await asyncio.sleep(max(0.0, start + index * step - loop.time()))
                yield event(ResponseTextDeltaEvent, type="response.output_text.delta", **where, delta=piece,
                            logprobs=[])
            yield event(ResponseTextDoneEvent, type="response.output_text.done", **where, text=text, logprobs=[])
            yield event(ResponseContentPartDoneEvent, type="response.content_part.done", **where, part=part)
            yield event(ResponseOutputItemDoneEvent, type="response.output_item.done", output_index=0, item=final)
            span.span_data.usage = {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens}
            yield event(ResponseCompletedEvent, type="response.completed", response=response)
        finally:
            span.finish()
