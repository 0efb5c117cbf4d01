"""Salvaging real models' answers: extract the JSON, keep what is usable, say what was dropped.

:func:`extract_json` finds the JSON object in an answer wrapped in a reasoning
block, a preface or a code fence, and completes one that was cut off.
:func:`salvage` validates it against the output model; the model's own types
normalise near-miss values (see :mod:`research.agents.fields`) and its
validators turn cross-field problems into notes. What still fails is handled
here by location: an unreadable optional value becomes unknown, an unreadable
list item is left out, and a required part that cannot be read is *missing* —
only those parts are worth a repair request (:func:`missing_parts_model`).
"""

from __future__ import annotations

import json
import re
import types
from dataclasses import dataclass, field
from functools import cache
from typing import Annotated, Any, Generic, TypeVar, Union, get_args, get_origin

import pydantic_core
from pydantic import BaseModel, ValidationError, create_model

from research.agents.common import AgentOutput

OutputT = TypeVar("OutputT", bound=BaseModel)

_THINK = re.compile(r"<(think|thinking|reasoning)>.*?(</\1>|$)", re.DOTALL | re.IGNORECASE)
_REFUSAL = re.compile(r"^\W*(i'?m sorry|i am sorry|sorry|i can(no|')t|i cannot|i won'?t|i am unable|i'm unable|"
                      r"as an ai|unfortunately,? i)", re.IGNORECASE)


@dataclass(frozen=True)
class ExtractedJson:
    """The JSON object found in an answer, and whether the answer was cut off before it ended."""

    data: dict[str, Any]
    cut_off: bool = False


class NoJsonError(ValueError):
    """The answer holds no JSON object; ``refusal`` is set when it reads like the model declined."""

    def __init__(self, refusal: str | None) -> None:
        super().__init__("the answer held no JSON object")
        self.refusal = refusal


def extract_json(text: str) -> ExtractedJson:
    """The first JSON object in ``text``: reasoning blocks, prefaces, fences and trailing prose removed.

    An object that was cut off is completed as far as it arrived (``cut_off=True``).
    Raises :class:`NoJsonError` when there is no object at all.
    """
    cleaned = _THINK.sub("", text)
    starts = [m.start() for m in re.finditer(r"\{", cleaned)][:20]
    if not starts:
        plain = " ".join(cleaned.split())
        raise NoJsonError(plain[:300] if _REFUSAL.match(plain) else None)
    decoder = json.JSONDecoder(strict=False)  # raw line breaks and tabs inside strings are read as written
    for begin in starts:
        try:
            data, _end = decoder.raw_decode(cleaned, begin)
        except ValueError:
            data = _partial_object(cleaned[begin:])
            if data:
                return ExtractedJson(data, cut_off=True)
            continue
        if isinstance(data, dict):
            return ExtractedJson(data)
    raise NoJsonError(None)


_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\Z)', re.DOTALL)
_CONTROL = re.compile(r"[\x00-\x1f]")


def _escape_controls(text: str) -> str:
    """``text`` (JSON from its first brace) with raw control characters inside strings escaped, as strict JSON has them."""
    return _STRING.sub(lambda string: _CONTROL.sub(lambda c: json.dumps(c.group(0))[1:-1], string.group(0)), text)


def _partial_object(text: str) -> dict[str, Any] | None:
    """The object ``text`` starts with, completed as far as it arrived, if it is one that was cut off."""
    try:
        data = pydantic_core.from_json(_escape_controls(re.sub(r"\s*```\s*$", "", text.rstrip())), allow_partial=True)
    except ValueError:
        return None
    return data if isinstance(data, dict) and data else None


@dataclass
class Salvage(Generic[OutputT]):
    """What :func:`salvage` made of an answer: the value, or the usable data and what is missing."""

    value: OutputT | None
    data: dict[str, Any]
    missing: list[str] = field(default_factory=list)
    """Top-level fields that could not be read: the only parts a repair request asks for."""
    notes: list[str] = field(default_factory=list)


def unwrap_annotation(annotation: Any) -> tuple[Any, bool]:
    """The annotation without ``Annotated`` and ``None``, and whether ``None`` is allowed."""
    nullable = False
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            nullable = nullable or len(args) < len(get_args(annotation))
            if len(args) != 1:
                return annotation, nullable
            annotation = args[0]
        else:
            return annotation, nullable


def _walk(model_type: type[BaseModel], loc: tuple[Any, ...]) -> list[tuple[Any, bool]]:
    """For each step of ``loc`` that names a field or a list item: (its annotation, nullable)."""
    steps: list[tuple[Any, bool]] = []
    current: Any = model_type
    for part in loc:
        if isinstance(part, int) and get_origin(current) is list:
            current, nullable = unwrap_annotation(get_args(current)[0])
        elif isinstance(part, str) and isinstance(current, type) and issubclass(current, BaseModel) \
                and part in current.model_fields:
            current, nullable = unwrap_annotation(current.model_fields[part].annotation)
        else:
            break
        steps.append((current, nullable))
    return steps


def _container(data: Any, loc: tuple[Any, ...]) -> Any:
    for part in loc:
        data = data[part]
    return data


def label(model_type: type[BaseModel], name: str) -> str:
    """A top-level field as a reader would name it (its title, or its name in words)."""
    info = model_type.model_fields.get(name)
    return (info.title if info and info.title else name.replace("_", " "))


def _describe(data: dict[str, Any], loc: tuple[Any, ...]) -> str:
    """Where a value sits, in words: "market share percent of “Acme”", "growth: cagr percent",
    "willingness to pay note of “Families”"."""
    indexes = [i for i, part in enumerate(loc) if isinstance(part, int)]
    if indexes and indexes[-1] < len(loc) - 1:
        try:
            item = _container(data, loc[: indexes[-1] + 1])
        except (KeyError, IndexError, TypeError):
            item = None
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            leaf = " ".join(str(part).replace("_", " ") for part in loc[indexes[-1] + 1:])
            return f"{leaf} of “{item['name'][:60]}”"
    return ": ".join(str(part).replace("_", " ") for part in loc if not isinstance(part, int))


def _fix(model_type: type[BaseModel], data: dict[str, Any], loc: tuple[Any, ...], drops: set[tuple[Any, ...]],
         notes: list[str], missing: set[str]) -> bool:
    """Make one failing value usable: unknown if optional, else drop its list item, else mark it missing."""
    steps = _walk(model_type, loc)
    loc = loc[: len(steps)]
    if not loc:
        return False
    if steps[-1][1]:  # the value may be null: keep the rest, say it is unknown
        try:
            holder = _container(data, loc[:-1])
            given = holder.get(loc[-1]) if isinstance(holder, dict) else holder[loc[-1]]
            holder[loc[-1]] = None
        except (KeyError, IndexError, TypeError):
            return False
        where = _describe(data, loc)
        problem = "was empty" if isinstance(given, str) and not given.strip() else "could not be read"
        notes.append(f"{where[:1].upper()}{where[1:]} {problem} and is shown as unknown.")
        return True
    for depth in range(len(loc) - 1, 0, -1):  # the innermost list item holding the value
        if isinstance(loc[depth], int):
            drops.add(loc[: depth + 1])
            return True
    missing.add(str(loc[0]))
    data.pop(loc[0], None)
    return True


def _drop_items(data: dict[str, Any], drops: set[tuple[Any, ...]], notes: list[str]) -> None:
    for loc in sorted(drops, key=lambda item: (len(item), item[-1]), reverse=True):
        holder = _container(data, loc[:-1])
        item = holder[loc[-1]]
        name = f" “{item['name'][:60]}”" if isinstance(item, dict) and isinstance(item.get("name"), str) else ""
        del holder[loc[-1]]
        what = str(loc[-2]).replace("_", " ").rstrip("s")
        notes.append(f"One {what} entry{name} could not be read and was left out.")


def salvage(model_type: type[OutputT], data: dict[str, Any], *, cut_off: bool = False) -> Salvage[OutputT]:
    """Validate ``data`` against ``model_type``, keeping every part that can be read.

    Never raises for bad data: the result holds the value (with its notes) or,
    when required parts are missing, the usable data and the missing fields.
    """
    data = json.loads(json.dumps(data))  # a private copy of plain JSON types
    data.pop("notes", None)  # notes are the app's, never the model's
    notes = ["The answer was cut off before it was complete; the parts that arrived are used."] if cut_off else []
    missing: set[str] = set()
    for _round in range(12):
        try:
            value = model_type.model_validate(data)
        except ValidationError as exc:
            drops: set[tuple[Any, ...]] = set()
            errors = [tuple(e["loc"]) for e in exc.errors()]
            open_errors = [loc for loc in errors if not (loc and str(loc[0]) in missing and loc[0] not in data)]
            if not open_errors:
                break  # only the missing fields are left
            changed = [_fix(model_type, data, loc, drops, notes, missing) for loc in open_errors]
            _drop_items(data, drops, notes)
            if not any(changed):
                missing.add("answer")
                break
            continue
        if isinstance(value, AgentOutput):
            value.notes[:0] = [n for n in notes if n not in value.notes]
        return Salvage(value, data, notes=notes)
    return Salvage(None, data, sorted(missing), notes)


def missing_parts_model(model_type: type[BaseModel], missing: list[str]) -> type[BaseModel]:
    """An output model holding only the ``missing`` top-level fields of ``model_type`` (for a repair request)."""
    return _parts_model(model_type, tuple(sorted(missing)))


@cache
def _parts_model(model_type: type[BaseModel], missing: tuple[str, ...]) -> type[BaseModel]:
    fields = {name: (info.annotation, info) for name, info in model_type.model_fields.items() if name in missing}
    return create_model(model_type.__name__, __base__=AgentOutput, **fields)  # type: ignore[call-overload]
