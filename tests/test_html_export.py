"""The self-contained HTML report: escaped text, inline plotly.js once, no network loads, charts that draw.

The reports come from the offline demo model; the browser test opens the file in the system
Chromium, records every request the page makes and checks that the charts rendered. The plotly.js
inlined is the vendored "basic" bundle (bar, pie, scatter), so a report stays well under 1.5 MB.
"""

from __future__ import annotations

import asyncio
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from plotly.offline import get_plotlyjs, get_plotlyjs_version

from research.agents.common import Source
from research.config import Settings
from research.inputs import WorkflowKind
from research.providers.demo_content import DEMO_NOTICE
from research.providers.demo_model import DemoModel
from research.providers.source import ModelSource
from research.reports.charts import SECTION_CHARTS, company_profiles, company_revenue_chart
from research.reports.exports import EXPORTS, export
from research.reports.html import (
    CSP,
    PLOTLY_BASIC_JS,
    PLOTLY_BASIC_TRACES,
    plotly_js,
    render_batch_html,
    render_market_html,
    trace_types,
)
from research.reports.sections import report_sections
from research.workflows.companies import CompanyBatchResult, run_company_batch
from research.workflows.market import MarketResearchResult, run_market_research

SOURCE_URL = "https://example.org/market-study?year=2025&part=2"
MODEL_URL = "https://model-wrote-this.example/page"
HOSTILE = "<script>alert(1)</script>"
MARKET_CHARTS, BATCH_CHARTS = 3, 1
LOADING_TAGS = {"script", "link", "img", "iframe", "embed", "object", "source", "audio", "video", "frame", "base"}


def _demo() -> ModelSource:
    return ModelSource("demo", "offline-demo", "demo", None, {}, DemoModel(speed=200))


def market_result(topic: str) -> MarketResearchResult:
    """A demo market run whose market data also rests on one real-looking web source."""
    result = asyncio.run(run_market_research(topic, Settings(demo=True), models=_demo()))
    assert result.market.result is not None
    result.market.result.sources.append(Source(title="Market study <2025>", url=SOURCE_URL, retrieved_at=1.7e9))
    return result


def batch_result() -> CompanyBatchResult:
    return asyncio.run(run_company_batch(["Stripe", "Adyen", "Klarna"], Settings(demo=True), models=_demo()))


class Tags(HTMLParser):
    """Every start tag with its attributes (script bodies are raw text, so plotly.js's strings are not tags)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


def parse(page: str) -> Tags:
    parser = Tags()
    parser.feed(page)
    parser.close()
    return parser


@pytest.fixture
def market_html() -> str:
    return render_market_html(market_result(f"Vertical farming {MODEL_URL}"))


@pytest.fixture
def batch_html() -> str:
    return render_batch_html(batch_result())


def test_html_is_an_export_of_both_workflows() -> None:
    for kind in WorkflowKind:
        item = export(kind, "html")
        assert item is not None and item in EXPORTS[kind]
        assert (item.label, item.mime) == ("Download report (.html)", "text/html")
    market, batch = export(WorkflowKind.MARKET, "html"), export(WorkflowKind.COMPANIES, "html")
    assert market is not None and batch is not None
    market_run, batch_run = market_result("Vertical farming"), batch_result()
    assert market.render(market_run) == render_market_html(market_run)
    assert batch.render(batch_run) == render_batch_html(batch_run)


@pytest.mark.parametrize("which", ["market", "batch"])
def test_nothing_is_loaded_from_outside_and_plotly_js_is_inline_once(which: str, request) -> None:
    page = request.getfixturevalue(f"{which}_html")
    tags = parse(page)
    for tag, attrs in tags.tags:
        if tag in LOADING_TAGS:
            for name in ("src", "href", "data", "srcset", "poster"):
                value = (attrs.get(name) or "").strip().lower()
                assert not value.startswith(("http:", "https:", "//")), f"<{tag} {name}={value!r}> loads from outside"
    assert not re.search(r"<script[^>]*\bsrc\s*=", page, re.IGNORECASE)
    assert "<script src" not in page.lower() and "<link" not in page.lower()
    assert "@import" not in page and "url(" not in page.split("<script", 1)[0], "no stylesheet may fetch anything"
    assert page.count(plotly_js()) == 1, "plotly.js is inlined exactly once"
    assert "plotly.js (basic - minified)" in page and get_plotlyjs()[:2000] not in page, "the basic bundle, not the full"
    scripts = [attrs for tag, attrs in tags.tags if tag == "script"]
    assert len(scripts) == 1 + (MARKET_CHARTS if which == "market" else BATCH_CHARTS)  # plotly.js + one per chart
    assert len(re.findall(r'class="plotly-graph-div"', page)) == (MARKET_CHARTS if which == "market" else BATCH_CHARTS)
    head = page.split("</head>", 1)[0]
    assert head.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in head[:300]
    assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' in head
    assert head.index("Content-Security-Policy") < head.index("<script")
    assert "default-src 'none'" in CSP and "img-src data:" in CSP
    assert 'class="watermark"' in page and DEMO_NOTICE in page


def test_sources_are_links_and_model_written_addresses_are_not(market_html: str) -> None:
    links = [attrs for tag, attrs in parse(market_html).tags if tag == "a"]
    assert [a["href"] for a in links] == [SOURCE_URL]
    assert links[0]["rel"] == "noopener noreferrer"
    assert "Market study &lt;2025&gt;</a>" in market_html
    assert "model-wrote-this" in market_html and 'href="https://model-wrote-this' not in market_html
    assert f"<code>{MODEL_URL}</code>" in market_html, "a model's address is shown as code, exactly as written"
    assert "\u200b" not in market_html
    assert "<img" not in market_html


def test_a_full_report_is_under_1_5_mb_with_the_basic_plotly_bundle() -> None:
    result = market_result("Plant-based dairy")
    page = render_market_html(result)
    assert len(page.encode("utf-8")) < 1_500_000, f"{len(page.encode('utf-8')):,} bytes"
    batch = render_batch_html(batch_result())
    assert len(batch.encode("utf-8")) < 1_500_000, f"{len(batch.encode('utf-8')):,} bytes"
    assert page.count("plotly.js (basic - minified)") == 1 and batch.count("plotly.js (basic - minified)") == 1


def test_the_basic_bundle_draws_every_trace_type_the_reports_use() -> None:
    bundle = PLOTLY_BASIC_JS.read_text(encoding="utf-8")
    registered = set(re.findall(r'moduleType:"trace",name:"(\w+)"', bundle))
    assert registered == PLOTLY_BASIC_TRACES
    result = market_result("Plant-based dairy")
    figures = [SECTION_CHARTS[type(s.data)](s.data) for s in report_sections(result) if s.data is not None]
    figures.append(company_revenue_chart(company_profiles(batch_result())))
    used = trace_types(figures)
    assert "bar" in used and used <= registered, f"{used - registered} are not in the basic bundle"
    version = re.search(r"plotly\.js \(basic - minified\) v(\S+)", bundle[:300]).group(1)
    assert version == get_plotlyjs_version(), "the vendored bundle is the plotly package's plotly.js version"


def test_a_chart_the_basic_bundle_cannot_draw_gets_the_full_bundle(monkeypatch) -> None:
    import plotly.graph_objects as go

    import research.reports.html as html_export

    monkeypatch.setitem(html_export.SECTION_CHARTS, next(iter(html_export.SECTION_CHARTS)),
                        lambda data: go.Figure(go.Treemap(labels=["a", "b"], parents=["", "a"])))
    page = render_market_html(market_result("Plant-based dairy"))
    assert page.count(get_plotlyjs().replace("</script", "<\\/script")) == 1
    assert "plotly.js (basic - minified)" not in page


def test_a_hostile_topic_stays_escaped() -> None:
    page = render_market_html(market_result(HOSTILE))
    assert "<script>alert(1)" not in page
    parsed = parse(page)
    assert parsed.title == f"Market research: {HOSTILE}"
    assert "<title>Market research: &lt;script&gt;alert(1)&lt;/script&gt;</title>" in page
    assert "<h1>Market research: &lt;script&gt;alert(1)&lt;/script&gt;</h1>" in page
    assert sum(1 for tag, _ in parsed.tags if tag == "script") == 1 + MARKET_CHARTS


def test_a_report_without_data_has_no_plotly_js() -> None:
    result = batch_result()
    for outcome in result.companies:
        outcome.result = None
    page = render_batch_html(result)
    assert "<script" not in page and "plotly-graph-div" not in page
    assert "<h2>Comparison</h2>" in page


CSP_PROBE = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
"""


@pytest.mark.parametrize("which", ["market", "batch"])
def test_the_file_in_a_real_browser_loads_nothing_and_draws_its_charts(which: str, request, tmp_path: Path) -> None:
    from browser import launch_chromium, require_chromium

    require_chromium()
    from playwright.sync_api import sync_playwright

    path = tmp_path / f"{which}.html"
    path.write_text(request.getfixturevalue(f"{which}_html"), encoding="utf-8")
    charts = MARKET_CHARTS if which == "market" else BATCH_CHARTS
    requests: list[str] = []
    failures: dict[str, str | None] = {}
    routed: list[str] = []
    errors: list[str] = []

    def abort(route) -> None:  # never let a request reach the network, but record that one got this far
        routed.append(route.request.url)
        route.abort()

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("request", lambda r: requests.append(r.url))
            page.on("requestfailed", lambda r: failures.update({r.url: r.failure}))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.route(re.compile(r"^(https?|wss?|ftp):", re.IGNORECASE), abort)
            page.add_init_script(CSP_PROBE)
            page.goto(path.as_uri())
            page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {charts}")

            assert page.title().startswith("Market research: " if which == "market" else "Company research: ")
            assert page.locator(".js-plotly-plot").count() == charts
            for plot in page.locator(".js-plotly-plot").all():
                assert plot.locator(".main-svg").count() >= 1
                assert plot.locator(".barlayer .point, .scatterlayer .point").count() > 0
                assert plot.locator(".gtitle").count() == 1
            if which == "market":  # each research section has its own chart
                for section in ("market", "competitor", "customer"):
                    assert page.locator(f"#{section} .js-plotly-plot .point").count() > 0, section
            assert page.locator(".watermark").is_visible()
            assert page.evaluate("Object.keys(Plotly.PlotSchema.get().traces).sort()") == sorted(PLOTLY_BASIC_TRACES)

            bar = page.locator(".barlayer .point").first
            bar.hover(force=True)  # Plotly's drag layer sits over the bars and does the hover
            hover = page.locator(".hoverlayer .hovertext")
            hover.first.wait_for(timeout=5_000)
            assert hover.first.text_content()
            assert page.locator(".modebar").count() == charts
            if which == "market":
                page.get_by_role("link", name="Market study <2025>").wait_for()
            page.wait_for_timeout(200)
            made = list(requests)
            violations = page.evaluate("window.__violations")

            # The CSP itself stops a load, should a future bug try one: the browser refuses it before any
            # network stack (and so before the route) sees it.
            page.evaluate("new Image().src = 'http://127.0.0.1:9/probe.png'")
            page.wait_for_timeout(300)
            probe_violations = page.evaluate("window.__violations")
        finally:
            browser.close()
    outside = [url for url in made if not url.lower().startswith(("file:", "data:", "about:", "blob:"))]
    assert outside == [], f"the report requested {outside}"
    assert made[0] == path.as_uri()
    assert violations == [], violations
    assert probe_violations == ["img-src http://127.0.0.1:9/probe.png"]
    assert failures.get("http://127.0.0.1:9/probe.png") == "csp" and routed == []
    assert not [e for e in errors if "Content Security Policy" not in e], errors
