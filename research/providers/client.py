"""The OpenAI client the models use, reading each streamed chunk with pydantic's compiled validator first.

``openai`` builds every response object, and every chunk of a stream, with its
lenient pure-Python ``construct_type``, so that a server's unexpected value never
fails a request. That costs about 100 µs a chunk; a report's answers arrive in
thousands of small chunks, so reading them took more CPU than everything else a
run does. :class:`QuickParseOpenAI` validates the same data with pydantic's
compiled validator (about 4 µs) and keeps ``openai``'s own lenient reading for
anything that does not validate (an unknown event type, a ``finish_reason`` a
local server invented, a missing field), so every answer reads as it did before.
"""

from __future__ import annotations

import inspect
import types
import typing
from functools import cache
from typing import Any

import pydantic
from openai import AsyncOpenAI


class QuickParseOpenAI(AsyncOpenAI):
    """``AsyncOpenAI`` that reads response data with pydantic's validator, and as ``openai`` does when that fails."""

    def _process_response_data(self, *, data: object, cast_to: Any, response: Any) -> Any:
        model = _model_for(cast_to, data) if isinstance(data, dict) and not self._strict_response_validation else None
        if model is not None:
            try:
                return model.model_validate(data)
            except pydantic.ValidationError:
                pass  # read leniently below, as openai always does
        return super()._process_response_data(data=data, cast_to=cast_to, response=response)


def _model_for(cast_to: Any, data: dict[str, Any]) -> type[pydantic.BaseModel] | None:
    """The pydantic model ``data`` should be: ``cast_to`` itself, or the member of a union of events that its
    ``type`` names; None when there is none (openai's reading decides)."""
    if inspect.isclass(cast_to):
        return cast_to if issubclass(cast_to, pydantic.BaseModel) else None
    kind = data.get("type")
    return _members_by_type(cast_to).get(kind) if isinstance(kind, str) else None


@cache
def _members_by_type(union: Any) -> dict[str, type[pydantic.BaseModel]]:
    """For a union of models told apart by a literal ``type`` field (as openai's stream events are): each model
    by its ``type`` value. Empty for anything else."""
    members: dict[str, type[pydantic.BaseModel]] = {}
    for member in _union_members(union):
        field = member.model_fields.get("type")
        if field is None or typing.get_origin(field.annotation) is not typing.Literal:
            return {}
        for value in typing.get_args(field.annotation):
            members.setdefault(value, member)
    return members


def _union_members(union: Any) -> list[type[pydantic.BaseModel]]:
    """The models of a (possibly annotated) union; empty unless every member is a model."""
    if typing.get_origin(union) is typing.Annotated:
        union = typing.get_args(union)[0]
    if typing.get_origin(union) not in (typing.Union, types.UnionType):
        return []
    members = list(typing.get_args(union))
    ok = all(inspect.isclass(m) and issubclass(m, pydantic.BaseModel) for m in members)
    return members if ok else []
