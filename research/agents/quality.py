"""A quality floor under salvage: filler that is not an answer is left out before the answer is read.

Small models fill fields with punctuation (``][``, ``]}, {``, ``1.``),
placeholders (``null``, ``[tblname]``), text in capitals, talk about the task,
copies of the schema's own descriptions or titles ("How much a segment will
pay, as a level with a short explanation."), their instructions, or the app's
own data notes handed back as findings. :func:`strip_filler` removes such text from
an answer's JSON before it is validated, so salvage treats it like any other
unreadable value (an optional value becomes unknown, a list item is left out,
a required part is missing and may be asked for once more), and says how much
it removed. Only the model's free text is checked: ids, quotes of evidence,
codes and numbers are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any, get_args, get_origin

from pydantic import BaseModel

from research.agents.salvage import unwrap_annotation

_LETTER = re.compile(r"[^\W\d_]")
_NOT_WORD = re.compile(r"[\W_]+")
UNCHECKED = frozenset({"cites", "quote", "currency", "url", "as_of"})
"""Text fields that hold ids, evidence quotes, codes, addresses or dates, not the model's own words."""
APP_FIELDS = frozenset({"notes", "sources", "figures"})
"""Fields the app fills, never the model."""


@dataclass(frozen=True)
class Filler:
    """What :func:`strip_filler` found: how many texts it checked and how many it left out."""

    checked: int
    removed: int

    @property
    def everything(self) -> bool:
        """True when every text of the answer was filler."""
        return self.checked > 0 and self.removed == self.checked

    def note(self) -> str | None:
        """The data note for what was left out, or None when nothing was."""
        if not self.removed:
            return None
        what = "1 piece of the answer was" if self.removed == 1 else f"{self.removed} pieces of the answer were"
        return (f"{what} filler (punctuation, a placeholder, or a copy of the instructions), not an answer, and "
                f"{'was' if self.removed == 1 else 'were'} left out.")


def _plain(text: str) -> str:
    return _NOT_WORD.sub(" ", text.casefold()).strip()


def _collect(schema: Any, into: set[str]) -> None:
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key in ("description", "title") and isinstance(value, str):
                into.add(value)
            else:
                _collect(value, into)
    elif isinstance(schema, list):
        for item in schema:
            _collect(item, into)


def _inner(annotation: Any) -> Any:
    """The type a field holds, without ``Annotated``, ``None`` and lists around it."""
    inner, _ = unwrap_annotation(annotation)
    while get_origin(inner) is list:
        inner, _ = unwrap_annotation(get_args(inner)[0])
    return inner


@cache
def text_fields(model_type: type[BaseModel]) -> frozenset[str]:
    """The names of the fields, at any depth, that hold the model's own words (text or lists of text)."""
    names: set[str] = set()
    for name, info in model_type.model_fields.items():
        if name in APP_FIELDS:
            continue
        inner = _inner(info.annotation)
        if inner is str and name not in UNCHECKED:
            names.add(name)
        elif isinstance(inner, type) and issubclass(inner, BaseModel):
            names |= text_fields(inner)
    return frozenset(names)


@cache
def schema_texts(model_type: type[BaseModel]) -> frozenset[str]:
    """Every description and title the model was shown in ``model_type``'s JSON schema."""
    found: set[str] = set()
    _collect(model_type.model_json_schema(), found)
    return frozenset(found)


def instruction_lines(prompt: str) -> list[str]:
    """The sentences and list lines of an agent's instructions."""
    return [part for line in prompt.splitlines() for part in re.split(r"(?<=[.:;])\s+", line.strip("- ")) if part]


PLACEHOLDERS = frozenset({"null", "none", "nil", "n a", "na", "undefined", "unknown", "tbd", "todo", "text", "example",
                          "lorem ipsum", "output", "value", "empty", "string", "number", "integer", "boolean", "object",
                          "array", "anyof", "oneof", "allof", "properties", "items", "required", "type", "no answer"})
"""Words models write in place of an answer, JSON Schema's own words among them (compared without case or
punctuation: "N/A" is "n a")."""
COVERED = 0.5
"""A text of four words or more is filler when at least this share of its words repeat the instructions or the
schema three words at a time ("SectionText: The section in plain prose, 1 to 3 paragraphs with …")."""
PLACEHOLDER_MARK = re.compile(r"^\W*[\[{<]+[^\]}>]{0,40}[\]}>]+\W*$|[<{]{1,2}\s*[A-Z_]{2,20}\s*[>}]{1,2}|\[[A-Z_]{3,20}\]")
"""A template slot left unfilled: "[tblname]", "[TOTAL_TEXT]", "{{output}}", "<NAME> (2019)"."""
META = re.compile(r"^\W*(?:your task is|the task is|the response should|please provide|as an ai\b|i hope (?:this|that)|"
                  r"i am (?:an ai|a language model))", re.IGNORECASE)
"""Talk about the task instead of an answer to it ("Your task is to provide a detailed summary…")."""
NAME_LIKE = frozenset({"name", "key_products", "industry"})
"""Fields of names ("NVIDIA", "EC2", "IT"), which may be in capitals or have no long word."""
_CODE = re.compile(r"[A-Z][a-z]+(?:[A-Z][a-z]+)+")
"""A schema's name as the model saw it, e.g. "SectionText"."""
_WORD3 = re.compile(r"[^\W\d_]{3,}")
SHOUTED_LETTERS = 5
"""Text in capitals only, with at least this many letters, is filler in a sentence field ("YELLOW", "SALE",
"EMBEDTIPES"); names are not checked for it ("NVIDIA" is a name)."""


def _trigrams(words: list[str]) -> set[tuple[str, ...]]:
    return {tuple(words[i:i + 3]) for i in range(len(words) - 2)}


class FillerCheck:
    """Decides whether a text is filler: no letters, a placeholder, shouting, a copy (or a patchwork) of what the
    model was told, or a repeated data note."""

    def __init__(self, told: Iterable[str], notes: Iterable[str] = ()) -> None:
        self._told = {plain for text in told if (plain := _plain(text))}
        self._notes = {plain for text in notes if len((plain := _plain(text)).split()) >= 4}
        self._trigrams = {gram for told in self._told for gram in _trigrams(told.split())}
        self._openings = {told for told in self._told if len(told.split()) >= 5}
        self._codes = {text.casefold() for text in told if _CODE.fullmatch(text)}

    def __call__(self, text: str, *, name: bool = False) -> bool:
        """True when ``text`` is not an answer (``name``: the text is a name, which may be in capitals)."""
        if not _LETTER.search(text):
            return True
        plain = _plain(text)
        if plain in PLACEHOLDERS or plain in self._told or any(note in plain for note in self._notes):
            return True
        if PLACEHOLDER_MARK.search(text) or META.match(text) or (not name and not _WORD3.search(text)):
            return True  # an unfilled slot, talk about the task, or no word at all ("./mX 35789652")
        letters = [c for c in text if c.isalpha()]
        if not name and len(letters) >= SHOUTED_LETTERS and not any(c.islower() for c in letters):
            return True
        words = plain.split()
        if words[0] in self._codes or any(plain.startswith(opening) for opening in self._openings):
            return True  # opens with the schema's name ("SectionText: …") or one of its descriptions
        if len(words) >= 4 and any(plain in told for told in self._told):
            return True  # a fragment of an instruction or a description
        if len(words) >= 4 and self._covered(words) >= COVERED:
            return True  # pieces of the instructions or the schema put together
        return any(len(told.split()) >= 5 and told in plain and len(plain) <= 1.5 * len(told) for told in self._told)

    def _covered(self, words: list[str]) -> float:
        covered = set()
        for i in range(len(words) - 2):
            if tuple(words[i:i + 3]) in self._trigrams:
                covered |= {i, i + 1, i + 2}
        return len(covered) / len(words)


def strip_filler(data: dict[str, Any], is_filler: FillerCheck, fields: frozenset[str]) -> tuple[dict[str, Any], Filler]:
    """``data`` without the filler in its text ``fields`` (a list loses the item, an object the key), and what
    was found."""
    counts = [0, 0]

    def clean(value: Any, key: str | None) -> Any:
        if isinstance(value, dict):
            kept = {}
            for name, item in value.items():
                cleaned = clean(item, name)
                if cleaned is not _GONE:
                    kept[name] = cleaned
            return kept
        if isinstance(value, list):
            return [cleaned for item in value if (cleaned := clean(item, key)) is not _GONE]
        if isinstance(value, str) and key in fields and value.strip():
            counts[0] += 1
            if is_filler(value, name=key in NAME_LIKE):
                counts[1] += 1
                return _GONE
        return value

    return clean(data, None), Filler(*counts)


_GONE = object()
"""A value :func:`strip_filler` leaves out."""
