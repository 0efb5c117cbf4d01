"""Checks on what a user types, before any request is made."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

MAX_TOPIC_LENGTH = 200
MIN_TOPIC_LENGTH = 2
MAX_COMPANY_LENGTH = 100
MAX_COMPANIES = 50


class InputError(ValueError):
    """User input that cannot be researched; the message says why in one line."""


def _one_line(raw: str | None, what: str, example: str, maximum: int, minimum: int = 1) -> str:
    text = (raw or "").strip()
    if not text:
        raise InputError(f"Enter {what}, e.g. '{example}'.")
    noun = what.removeprefix("a ").removesuffix(" to research")
    if len(text) > maximum:
        raise InputError(f"The {noun} is {len(text)} characters long; keep it under {maximum}.")
    if len(text) < minimum:
        raise InputError("The topic is too short; describe a market or an industry.")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp") for ch in text):
        raise InputError(f"The {noun} contains control characters or line breaks; use a single line of text.")
    return " ".join(text.split())


def validate_topic(raw: str | None) -> str:
    """Return the topic with white space tidied, or raise :class:`InputError`.

    A topic is one line of 2 to 200 printable characters. Markup and
    instruction-like text are allowed here (they reach the model only as
    quoted data and are never rendered as HTML).
    """
    return _one_line(raw, "a topic to research", "electric vehicle charging in Europe", MAX_TOPIC_LENGTH, MIN_TOPIC_LENGTH)


def validate_company_names(raw: Iterable[str]) -> list[str]:
    """Trim, drop blank lines, de-duplicate (ignoring case) and check at most 50 names.

    Raises :class:`InputError` naming the first bad entry.
    """
    names: dict[str, str] = {}
    for line in raw:
        if line.strip():
            name = _one_line(line, "a company name", "Stripe", MAX_COMPANY_LENGTH)
            names.setdefault(name.casefold(), name)
    if not names:
        raise InputError("Enter at least one company name, e.g. 'Stripe'.")
    if len(names) > MAX_COMPANIES:
        raise InputError(f"{len(names)} companies given; the limit is {MAX_COMPANIES} per run.")
    return list(names.values())
