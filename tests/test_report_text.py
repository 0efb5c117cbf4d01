"""The report's text as a reader meets it: prose that interprets the data instead of repeating the bullets
below it, and addresses a model wrote that are shown exactly as written, never linked, in every export.

The reports come from the offline demo model. The last test renders the Markdown export with Streamlit
itself (``streamlit run`` on 127.0.0.1, the system Chromium), the renderer that links an address even
when its ":" is escaped or written as "&#58;".
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path

import pytest

from research.agents.common import Source
from research.agents.section import SectionText
from research.config import Settings
from research.providers.demo_model import DemoModel
from research.providers.source import ModelSource
from research.reports.html import markdown_html, render_market_html
from research.reports.market import render_json, render_markdown, section_intro, section_markdown
from research.reports.sections import market_sections, report_sections
from research.workflows.market import MarketResearchResult, run_market_research
from tests.test_markdown import gfm_autolinks, invisible

TOPICS = ["Plant-based dairy", "B2B payroll software", "EV charging in the UK", "home insurance"]
EVIL_URL, EVIL_WWW = "https://evil.example/x", "www.evil.example"
SOURCE_URL = "https://example.org/study"


def demo_result(topic: str) -> MarketResearchResult:
    models = ModelSource("demo", "offline-demo", "demo", None, {}, DemoModel(speed=200))
    result = asyncio.run(run_market_research(topic, Settings(demo=True), models=models))
    assert result.market.ok and result.sections["market"].ok
    return result


class Blocks(HTMLParser):
    """The text of each paragraph and of each list item of an HTML fragment, in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[str, str]] = []
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("p", "li"):
            self._open.append(tag)
            self.blocks.append((tag, ""))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("p", "li") and self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        if self._open:
            tag, text = self.blocks[-1]
            self.blocks[-1] = (tag, text + data)


def prose_and_bullets(section_md: str) -> tuple[str, list[str]]:
    """The text of a rendered section's paragraphs above its first list, and the list items' texts."""
    parser = Blocks()
    parser.feed(markdown_html(section_md))
    first_item = next(i for i, (tag, _) in enumerate(parser.blocks) if tag == "li")
    prose = " ".join(text for tag, text in parser.blocks[:first_item] if tag == "p")
    return " ".join(prose.split()), [" ".join(text.split()) for tag, text in parser.blocks[first_item:] if tag == "li"]


def folded(text: str) -> str:
    return " ".join(text.casefold().split())


@pytest.mark.parametrize("topic", TOPICS)
def test_the_market_overview_prose_repeats_no_bullet_word_for_word(topic: str) -> None:
    result = demo_result(topic)
    market = next(s for s in report_sections(result) if s.key == "market")
    prose, bullets = prose_and_bullets(section_markdown(market))
    data = result.market.result
    assert bullets[:len(data.key_trends)] == data.key_trends, "the trends are listed as bullets"
    assert prose.startswith(f"For {topic}, the market is estimated at") and len(prose.split()) > 40
    repeated = [item for item in bullets if folded(item) in folded(prose)]
    assert repeated == [], f"the prose above repeats {repeated}"
    assert re.search(r"doubles in about \d years|more than a decade to double", prose), "it says what the figures mean"
    assert "times its size" in prose and "growth" in prose
    assert not market.notes, "the demo's own prose needs no fixing"


def _market_written_as(prose: str) -> tuple[list, MarketResearchResult]:
    result = demo_result("Plant-based dairy")
    result.sections["market"].result = SectionText(prose=prose)
    results = {o.key: o.result for o in result.all_outcomes if o.ok}
    return market_sections(results, {}), result


def test_model_prose_that_only_lists_the_bullets_is_left_out_with_a_note() -> None:
    result = demo_result("Plant-based dairy")
    data = result.market.result
    trends, drivers, risks = data.key_trends, data.drivers, data.risks
    listing = (f"The market is growing fast. Key trends include {trends[0].lower()}, {trends[1]} and {trends[2]}. "
               f"Main drivers: {'; '.join(drivers)}.\n\nThe main risks are {risks[0]} and {risks[1]}. "
               f"{risks[2]} would squeeze the margins of independent brands within two years.")
    sections, _ = _market_written_as(listing)
    market = next(s for s in sections if s.key == "market")
    assert market.prose == ("The market is growing fast.\n\n"
                            f"{risks[2]} would squeeze the margins of independent brands within two years.")
    assert "3 sentences of the text only repeated the trends, drivers or risks listed below and were left out." \
        in market.notes
    intro = section_intro(market)
    assert not [item for item in [*trends, *drivers, *risks[:2]] if folded(item) in folded(intro)]
    assert "Data notes" in section_markdown(market)


def test_model_prose_that_interprets_is_kept_whole() -> None:
    result = demo_result("Plant-based dairy")
    prose = f"Growth is fast. {result.market.result.risks[0]} is the risk most likely to cut margins, so price early."
    sections, _ = _market_written_as(prose)
    market = next(s for s in sections if s.key == "market")
    assert market.prose == prose and not market.notes


def hostile_result() -> MarketResearchResult:
    """A demo report whose model-written text holds web addresses: in the topic, the prose, a trend and a table."""
    result = demo_result(f"Vertical farming {EVIL_URL}")
    result.sections["market"].result.prose += f" Read {EVIL_URL} and {EVIL_WWW} for more."
    result.market.result.key_trends.append(f"Marketplaces such as {EVIL_WWW}")
    result.competitor.result.competitors[0].positioning = f"See {EVIL_URL} and {EVIL_WWW}"
    result.market.result.sources.append(Source(title="Study", url=SOURCE_URL, retrieved_at=1.7e9))
    return result


def test_no_export_carries_an_invisible_character_and_none_links_a_model_address() -> None:
    result = hostile_result()
    markdown = render_markdown(result)
    assert invisible(markdown) == set()
    assert gfm_autolinks(markdown) == [], "a GFM renderer (Streamlit, GitHub) would link these"
    assert f"`{EVIL_URL}`" in markdown and f"`{EVIL_WWW}`" in markdown and "&#58;" not in markdown

    page = render_market_html(result)
    body = re.sub(r"<script\b.*?</script>", "", page.split("<body", 1)[1], flags=re.DOTALL)
    assert invisible(body) == set()
    assert re.findall(r'<a href="([^"]+)"', body) == [SOURCE_URL], "only the source is a link"
    assert body.count(f"<code>{EVIL_URL}</code>") >= 4 and f"<code>{EVIL_WWW}</code>" in body

    exported = render_json(result)
    assert invisible(exported) == set()
    data = json.loads(exported)
    market_prose = next(s["prose"] for s in data["report"] if s["key"] == "market")
    assert market_prose.endswith(f" Read {EVIL_URL} and {EVIL_WWW} for more."), "the raw text, no entities or code"
    assert data["request"]["topic"] == f"Vertical farming {EVIL_URL}"
    assert data["competitor"]["result"]["competitors"][0]["positioning"] == f"See {EVIL_URL} and {EVIL_WWW}"


STREAMLIT_SCRIPT = """
import os
import streamlit as st

st.markdown(open(os.environ["REPORT_MARKDOWN"], encoding="utf-8").read())
"""


def test_streamlit_shows_model_addresses_as_text_and_links_only_the_source(tmp_path: Path) -> None:
    from browser import launch_chromium, require_chromium
    from playwright.sync_api import expect, sync_playwright

    from tests.support.browser_harness import free_port

    require_chromium()
    report = tmp_path / "report.md"
    report.write_text(render_markdown(hostile_result()), encoding="utf-8")
    script = tmp_path / "show_report.py"
    script.write_text(STREAMLIT_SCRIPT, encoding="utf-8")
    port = free_port()
    env = {**os.environ, "REPORT_MARKDOWN": str(report)}
    command = [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
               "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none"]
    server = subprocess.Popen(command, cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        output = []
        for line in server.stdout:  # the server says when it listens (or exits, ending the loop)
            output.append(line)
            if f"127.0.0.1:{port}" in line and "URL" in line:
                break
        else:
            pytest.fail("streamlit exited: " + "".join(output))
        threading.Thread(target=server.stdout.read, daemon=True).start()  # keep draining its output
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            try:
                page = browser.new_page(viewport={"width": 1200, "height": 2400})
                page.goto(f"http://127.0.0.1:{port}/")
                source = page.get_by_role("link", name="Study")
                expect(source).to_have_attribute("href", SOURCE_URL, timeout=30_000)  # links do work here
                content = page.locator('[data-testid="stMarkdownContainer"]')
                expect(content.get_by_role("heading", name=f"Market research: Vertical farming {EVIL_URL}")).to_be_visible()
                expect(content.locator("td", has_text=f"See {EVIL_URL} and {EVIL_WWW}")).to_be_visible()
                expect(content.locator("li", has_text=f"Marketplaces such as {EVIL_WWW}")).to_be_visible()
                expect(content.locator("p", has_text=f"Read {EVIL_URL} and {EVIL_WWW} for more.")).to_be_visible()
                links = content.locator("a").evaluate_all("links => links.map(a => a.href)")
                anchors = [link for link in links if link.startswith(f"http://127.0.0.1:{port}/#")]  # headings' own
                assert [link for link in links if link not in anchors] == [SOURCE_URL], "only the source is a link"
                text = content.first.evaluate("element => element.textContent")
                assert invisible(text) == set(), "copying the text copies no invisible character"
                assert f"Read {EVIL_URL} and {EVIL_WWW} for more." in text, "and copies the address as written"
            finally:
                browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
