"""Escaping for text that comes from users or models and goes into Markdown.

Nothing a model or a user writes may turn into HTML, a heading, a link or a
table break in the report: inline text is escaped character by character,
prose keeps its paragraphs but loses block syntax and HTML.
"""

from __future__ import annotations

import re

_INLINE_SPECIAL = re.compile(r"([\\`*_{}\[\]#|>]|~(?=~))")
_INLINE_START = re.compile(r"^([-+=]|\d+(?=[.)]))")
_BLOCK_START = re.compile(r"^(\s*)([#>\-+*=|]|\d+[.)]|```|~~~)")


def _no_html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_AUTOLINK = re.compile(r"(?i)\b(https?|ftp|mailto)(:)|\b(www)(\.)")


_ZERO_WIDTH_SPACE = "\u200b"


def _no_autolinks(text: str) -> str:
    """Break what a Markdown renderer would turn into a link by itself ("https://…", "www.…").

    Streamlit links such text even when its ":" or "." is escaped or written as an entity; an
    invisible zero-width space after the scheme or "www" is what keeps it plain text.
    """
    return _AUTOLINK.sub(lambda m: f"{m.group(1) or m.group(3)}{_ZERO_WIDTH_SPACE}{m.group(2) or m.group(4)}", text)


def inline(text: str) -> str:
    """One line of literal text: every Markdown character escaped, no line breaks, no automatic links."""
    flat = " ".join(str(text).split())
    escaped = _no_autolinks(_INLINE_SPECIAL.sub(r"\\\1", flat.replace("<", "&lt;")))
    return _INLINE_START.sub(lambda m: m.group(1) + "\\" if m.group(1)[0].isdigit() else "\\" + m.group(1), escaped)


def cell(text: str) -> str:
    """Literal text for a table cell."""
    return inline(text)


def prose(text: str) -> str:
    """Paragraphs of literal prose: no HTML, headings, quotes, lists, tables or fences."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", str(text).strip()):
        lines = []
        for line in block.splitlines():
            line = _no_autolinks(_no_html(line.rstrip()))
            line = _BLOCK_START.sub(lambda m: m.group(1) + "\\" + m.group(2), line)
            lines.append(line.replace("|", "\\|").replace("[", "\\[").replace("]", "\\]").replace("`", "\\`"))
        paragraphs.append("\n".join(lines))
    return "\n\n".join(p for p in paragraphs if p)


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A Markdown table; cells must already be escaped."""
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(out)


def notes(items: list[str]) -> str:
    """The data notes of a section: what the app fixed or dropped in the model's answer."""
    return "**Data notes**\n\n" + "\n".join(f"- {inline(item)}" for item in items)
