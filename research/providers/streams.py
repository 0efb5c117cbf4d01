"""The SDK's models with one check added: an answer the model server cut short raises, instead of passing as empty.

Some OpenAI-compatible servers serve one answer at a time and end a running
stream the moment another request waits (llama-cpp-python's server does, by
default): the client gets the first chunk, then ``data: [DONE]`` with no finish
reason. The SDK takes such a stream for a complete, empty answer. The models
here (:class:`CheckedChatCompletionsModel`, :class:`CheckedResponsesModel`) are
the SDK's own models with one check added: a stream that ends without its
finish reason (Chat Completions) or terminal event (Responses) raises
:class:`~research.core.gates.StreamInterrupted`, which the runner retries like
a dropped connection, without spending the repair request on an answer that
never arrived (and :mod:`research.core.gates` then sends requests one by one).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from agents import OpenAIChatCompletionsModel, OpenAIResponsesModel
from openai.types.responses import Response

from research.core.gates import StreamInterrupted

_TERMINAL_EVENTS = {"response.completed", "response.failed", "response.incomplete", "error", "response.error"}


class _CheckedStream:
    """A server-sent event stream that raises :class:`StreamInterrupted` when it ends unfinished."""

    def __init__(self, stream: Any, finished: Callable[[Any], bool]) -> None:
        self._stream, self._finished = stream, finished

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._events()

    async def _events(self) -> AsyncIterator[Any]:
        finished = False
        async for item in self._stream:
            finished = finished or self._finished(item)
            yield item
        if not finished:
            raise StreamInterrupted()


def _chat_finished(chunk: Any) -> bool:
    return any(choice.index == 0 and choice.finish_reason for choice in (getattr(chunk, "choices", None) or []))


def _responses_finished(event: Any) -> bool:
    return getattr(event, "type", None) in _TERMINAL_EVENTS


class CheckedChatCompletionsModel(OpenAIChatCompletionsModel):
    """The SDK's Chat Completions model; a stream that ends with no finish reason raises :class:`StreamInterrupted`."""

    async def _fetch_response(self, *args: Any, **kwargs: Any) -> Any:
        result = await super()._fetch_response(*args, **kwargs)
        if isinstance(result, tuple):
            response, stream = result
            return response, _CheckedStream(stream, _chat_finished)
        return result


class CheckedResponsesModel(OpenAIResponsesModel):
    """The SDK's Responses model; a stream that ends with no terminal event raises :class:`StreamInterrupted`."""

    async def _fetch_response(self, *args: Any, **kwargs: Any) -> Any:
        result = await super()._fetch_response(*args, **kwargs)
        return result if isinstance(result, Response) else _CheckedStream(result, _responses_finished)
