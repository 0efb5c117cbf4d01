"""Escaping for text that comes from users or models and goes into Markdown.

Nothing a model or a user writes may turn into HTML, a heading, a link or a
table break in the report: inline text is escaped character by character,
prose keeps its paragraphs but loses block syntax and HTML.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_INLINE_SPECIAL = re.compile(r"([\\`*_{}\[\]#|>]|~(?=~))")
_INLINE_START = re.compile(r"^([-+=]|\d+(?=[.)]))")
_BLOCK_START = re.compile(r"^(\s*)([#>\-+*=|]|\d+[.)]|```|~~~)")


def _no_html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# What a GFM renderer (Streamlit's, GitHub's) turns into a link by itself: "http(s)://", "ftp://", "www.",
# "mailto:"/"xmpp:" and e-mail addresses, up to the next space (a "|" ends it, as it would end a table cell).
# A scheme or "www" right after an ASCII letter is not linked ("awww.x"); anything else may be.
_ADDRESS = re.compile(r"(?i)(?<![a-z])(?:(?:https?|ftp)://|www\.|(?:mailto|xmpp):)[^\s|]*"
                      r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+[^\s|]*")
_TRAILING = ".,:;!?'\")]}*_~"  # punctuation after an address is the sentence's, not the address's


def _segments(text: str) -> list[tuple[str, bool]]:
    """``text`` cut into plain text and the addresses in it: (piece, True for an address)."""
    out: list[tuple[str, bool]] = []
    end = 0
    for match in _ADDRESS.finditer(text):
        address = match.group().rstrip(_TRAILING)
        if not address:
            continue
        out.append((text[end:match.start()], False))
        out.append((address, True))
        end = match.start() + len(address)
    out.append((text[end:], False))
    return [(piece, address) for piece, address in out if piece]


def _literal_address(address: str) -> str:
    """An address as inline code: shown and copied exactly as written, never linked.

    A GFM renderer links "https://…", "www.…" and e-mail addresses in text even when their ":" or "."
    is escaped or written as a character reference (the link is found in the parsed text, after
    references are decoded), but never inside a code span. A backtick in the address is written
    escaped between code spans, so no code span needs a longer fence.
    """
    return "\\`".join(f"`{part}`" if part else "" for part in address.split("`"))


def _no_autolinks(text: str, escape: Callable[[str], str]) -> str:
    """``text`` with its plain parts passed through ``escape`` and its addresses as inline code."""
    return "".join(_literal_address(piece) if address else escape(piece) for piece, address in _segments(text))


def _escape_inline(text: str) -> str:
    return _INLINE_SPECIAL.sub(r"\\\1", text.replace("&", "&amp;").replace("<", "&lt;"))


def _escape_prose(text: str) -> str:
    return _no_html(text).replace("|", "\\|").replace("[", "\\[").replace("]", "\\]").replace("`", "\\`")


def inline(text: str) -> str:
    """One line of literal text: every Markdown character escaped, no line breaks, addresses as inline code."""
    escaped = _no_autolinks(" ".join(str(text).split()), _escape_inline)
    return _INLINE_START.sub(lambda m: m.group(1) + "\\" if m.group(1)[0].isdigit() else "\\" + m.group(1), escaped)


def cell(text: str) -> str:
    """Literal text for a table cell."""
    return inline(text)


def _escape_block_start(match: re.Match[str]) -> str:
    """A line's start that would open a block, escaped ("1." as "1\\.": a backslash before a digit stays visible)."""
    mark = match.group(2)
    return match.group(1) + (mark[:-1] + "\\" + mark[-1] if mark[0].isdigit() else "\\" + mark)


def prose(text: str) -> str:
    """Paragraphs of literal prose: no HTML, headings, quotes, lists, tables or fences."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", str(text).strip()):
        lines = []
        for line in block.splitlines():
            line = _no_autolinks(line.rstrip(), _escape_prose)
            lines.append(_BLOCK_START.sub(_escape_block_start, line))
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
