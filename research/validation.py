"""Checks on what a user types, before any request is made."""

from __future__ import annotations

import unicodedata

MAX_TOPIC_LENGTH = 200
MIN_TOPIC_LENGTH = 2


class InputError(ValueError):
    """User input that cannot be researched; the message says why in one line."""


def validate_topic(raw: str | None) -> str:
    """Return the topic with surrounding white space removed, or raise :class:`InputError`.

    A topic is one line of 2 to 200 printable characters. Markup and
    instruction-like text are allowed here (they reach the model only as
    quoted data and are never rendered as HTML).
    """
    topic = (raw or "").strip()
    if not topic:
        raise InputError("Enter a topic to research, e.g. 'electric vehicle charging in Europe'.")
    if len(topic) > MAX_TOPIC_LENGTH:
        raise InputError(f"The topic is {len(topic)} characters long; keep it under {MAX_TOPIC_LENGTH}.")
    if len(topic) < MIN_TOPIC_LENGTH:
        raise InputError("The topic is too short; describe a market or an industry.")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp") for ch in topic):
        raise InputError("The topic contains control characters or line breaks; use a single line of text.")
    return " ".join(topic.split())
