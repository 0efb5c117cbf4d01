"""Model and user text in Markdown stays text: no HTML, no structure, no links made of it.

A GFM renderer (Streamlit's, GitHub's) links "https://…", "www.…" and e-mail addresses it finds in a
paragraph's *parsed* text, after escapes and character references are decoded: so neither "\\:" nor
"&#58;" stops it, only a code span does. :func:`gfm_autolinks` applies that rule to markdown-it's
parse of the text (CommonMark, the same parse the HTML export uses).
"""

from __future__ import annotations

import re
import unicodedata

import pytest
from markdown_it import MarkdownIt

from research.reports import markdown as md
from research.reports.html import markdown_html

ADDRESSES = "See https://evil.example/x?a=1&b=2 and www.evil.example, or mail sales@evil.example."
# How the GFM autolink-literal transform (mdast-util-gfm-autolink-literal) finds links in a text node.
_GFM_LITERAL = re.compile(r"(?i)(?:https?://|www(?=\.))[-.\w]+[^ \t\r\n]*|[-.\w+]+@[-\w]+(?:\.[-\w]+)+")


def gfm_autolinks(markdown: str) -> list[str]:
    """The addresses a GFM renderer would turn into links: found in the parsed text, never in code spans."""
    renderer = MarkdownIt("commonmark").enable("table")
    found = []
    for token in renderer.parse(markdown):
        text = "".join(child.content if child.type == "text" else "\n" for child in token.children or [])
        found += _GFM_LITERAL.findall(text)
    return found


def invisible(text: str) -> set[str]:
    """The invisible format characters in ``text`` (zero-width space and joiners, soft hyphen, BOM, …)."""
    return {f"U+{ord(c):04X}" for c in text if unicodedata.category(c) == "Cf"}


def test_the_check_finds_what_a_gfm_renderer_would_link() -> None:
    assert gfm_autolinks("See https://evil.example/x and www.evil.example") == ["https://evil.example/x", "www.evil.example"]
    assert gfm_autolinks("See https&#58;//evil.example and www\\.evil.example") == ["https://evil.example", "www.evil.example"]
    assert gfm_autolinks("| a |\n| --- |\n| mail a@evil.example |") == ["a@evil.example"]
    assert gfm_autolinks("See `https://evil.example/x` and `www.evil.example`") == []


@pytest.mark.parametrize("render", [md.inline, md.prose, md.cell], ids=["inline", "prose", "cell"])
def test_addresses_in_model_text_are_kept_from_becoming_links(render) -> None:
    rendered = render(ADDRESSES)
    assert gfm_autolinks(rendered) == [], rendered
    assert invisible(rendered) == set(), "no invisible character rides along when the text is copied"
    html = markdown_html(rendered)
    assert "<a" not in html
    for address in ("https://evil.example/x?a=1&amp;b=2", "www.evil.example", "sales@evil.example"):
        assert f"<code>{address}</code>" in html, "shown exactly as written, as code"
    assert "</code>, or mail" in html and "</code>.</p>" in html, "the sentence's punctuation stays outside"


def test_addresses_in_a_table_cell_keep_the_table_whole() -> None:
    table = md.table(["Positioning"], [[md.cell("Read https://evil.example/a|b and www.evil.example")]])
    html = markdown_html(table)
    assert gfm_autolinks(table) == [] and "<a" not in html
    assert html.count("<td>") == 1 and "<code>https://evil.example/a</code>|b" in html


@pytest.mark.parametrize("text", ["https://evil.example/`x`y", "1https://evil.example", "_www.evil.example",
                                  "HTTPS://EVIL.EXAMPLE", "(www.evil.example)", "https&#58;//evil.example"])
def test_awkward_addresses_stay_unlinked(text: str) -> None:
    for rendered in (md.inline(text), md.prose(text)):
        assert gfm_autolinks(rendered) == [], rendered
        assert "<a" not in markdown_html(rendered)


def test_markdown_syntax_in_model_text_stays_literal() -> None:
    text = "# Title\n\n- item\n1. first\n> quote\n<b>bold</b> [link](https://evil.example) `code` | pipe"
    html = markdown_html(md.prose(text))
    for tag in ("<h1", "<ul", "<ol", "<blockquote", "<b>", "<a", "<table"):
        assert tag not in html
    assert "<p># Title</p>" in html and "1. first" in html and "&lt;b&gt;bold&lt;/b&gt;" in html
    assert md.inline("AT&T <b>") == "AT&amp;T &lt;b\\>" and markdown_html(md.inline("AT&T")) == "<p>AT&amp;T</p>\n"
