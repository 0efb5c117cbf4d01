"""Readable text from a fetched body: HTML main text (trafilatura), PDF text (pypdf), plain text.

The text is data: nothing in it is executed, followed or interpreted (no scripts, links or
embedded instructions are acted on). It is capped at :data:`MAX_TEXT_CHARS` characters.
"""

from __future__ import annotations

import html
import io
import re
from html.parser import HTMLParser

MAX_TEXT_CHARS = 100_000
MAX_PDF_PAGES = 30

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
ACCEPTED_TYPES = HTML_TYPES | {"text/plain", "application/pdf"}
SNIFFED_TYPES = frozenset({"", "application/octet-stream"})
"""Types decided by the body's first bytes (a PDF is often served as octet-stream)."""

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.IGNORECASE)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)


class ExtractionError(Exception):
    """The body could not be read; ``str(exc)`` is the plain-words reason."""


def sniff(body: bytes, media_type: str) -> str:
    """The media type to read the body as: the declared one, or for :data:`SNIFFED_TYPES` one guessed from its start."""
    if media_type not in SNIFFED_TYPES:
        return media_type
    start = body[:1024].lstrip()
    if start.startswith(b"%PDF-"):
        return "application/pdf"
    if media_type == "" and start[:1] == b"<":
        return "text/html"
    if media_type == "" and start and b"\x00" not in start:
        return "text/plain"
    return media_type or "unknown type"


def extract(body: bytes, media_type: str, charset: str | None = None) -> tuple[str, str]:
    """``(title, text)`` of the body read as ``media_type``; raises :class:`ExtractionError`."""
    if media_type == "application/pdf":
        title, text = _pdf(body)
    elif media_type in HTML_TYPES:
        title, text = _html(_decode(body, charset))
    elif media_type == "text/plain":
        title, text = "", _decode(body, charset)
    else:
        raise ExtractionError(f"not a web page or PDF ({media_type})")
    return title, _cap(text.strip())


def _cap(text: str) -> str:
    if len(text) <= MAX_TEXT_CHARS:
        return text
    cut = text[:MAX_TEXT_CHARS]
    space = cut.rfind(" ", MAX_TEXT_CHARS - 200)
    return cut[:space] if space > 0 else cut


def _decode(body: bytes, charset: str | None) -> str:
    candidates = [charset] if charset else []
    if match := _META_CHARSET.search(body[:4096]):
        candidates.append(match.group(1).decode("ascii"))
    for candidate in [*candidates, "utf-8"]:
        try:
            return body.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return body.decode("cp1252", "replace")


def _html(page: str) -> tuple[str, str]:
    title = ""
    if match := _TITLE.search(page[:200_000]):
        title = " ".join(html.unescape(match.group(1)).split())[:300]
    import trafilatura  # here, not at import: a run without web pages (the demo) never loads it

    try:
        text = trafilatura.extract(page, include_comments=False, include_tables=True, favor_precision=False)
    except Exception:  # a parser failure on hostile markup: fall back below
        text = None
    return title, text if text is not None else _strip_tags(page)


class _TextCollector(HTMLParser):
    _SKIPPED = frozenset({"script", "style", "noscript", "template", "svg", "head"})
    _BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "table"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIPPED:
            self._skipping += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIPPED and self._skipping:
            self._skipping -= 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def _strip_tags(page: str) -> str:
    """Visible text with tags removed: the fallback when trafilatura finds no main text."""
    collector = _TextCollector()
    try:
        collector.feed(page)
        collector.close()
    except Exception:  # HTMLParser is lenient; keep whatever was collected
        pass
    lines = (" ".join(line.split()) for line in "".join(collector.parts).splitlines())
    return "\n".join(line for line in lines if line)


def _pdf(body: bytes) -> tuple[str, str]:
    import pypdf

    try:
        reader = pypdf.PdfReader(io.BytesIO(body))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ExtractionError("the PDF is encrypted")
        texts = [page.extract_text() or "" for page in reader.pages[:MAX_PDF_PAGES]]
        title = reader.metadata.title if reader.metadata and reader.metadata.title else ""
    except ExtractionError:
        raise
    except Exception:
        raise ExtractionError("unreadable PDF") from None
    return " ".join(str(title).split())[:300], "\n\n".join(text.strip() for text in texts if text.strip())
