"""What changed, on the page, and *Watch* (AppTest against the local stub server): a second report on a topic
opens with what changed since the first; a person watches a topic from its report and stops watching it."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from stub import Plan, app_served

from research.jobs.service import Period
from ui import runtime

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture
def server(monkeypatch, tmp_path):
    with app_served(Plan(latency={"section": 0.05, "summary": 0.05}), monkeypatch, tmp_path) as stub:
        yield stub


def report(topic: str) -> tuple[AppTest, str]:
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.text_input(key="topic").input(topic)
    next(b for b in at.button if b.label == "Generate report").click().run()
    job = at.query_params["job"]
    job = job[0] if isinstance(job, list) else job
    assert runtime.jobs().wait(job, 30)
    return at.run(), job


def watch_menu(at: AppTest) -> list[str]:
    """The labels of the report's *Watch* menus."""
    labels = [block.proto.popover.label for block in at.get("popover")]
    return [label for label in labels if label.startswith("Watch")]


def texts(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_a_second_report_on_a_topic_opens_with_what_changed(server) -> None:
    first, _ = report("plant-based dairy")
    assert "What changed since" not in texts(first), "nothing to compare the first report with"
    second, _ = report("Plant-based  Dairy")  # the same topic in another case and spacing
    page = texts(second)
    assert "#### What changed since" in page
    assert page.index("What changed since") < page.index("## Executive Summary"), "the report opens with it"


def test_a_person_watches_a_topic_from_its_report_and_stops(server) -> None:
    at, job = report("vertical farming")
    assert watch_menu(at) == ["Watch"]
    at.radio(key=f"watch-every-{job}").set_value(Period.MONTHLY.value)
    next(b for b in at.button if b.label == "Watch this topic").click().run()
    watched = runtime.jobs().watched_topic(job)
    assert watched is not None and (watched.topic, watched.every) == ("vertical farming", "monthly")
    assert watch_menu(at) == ["Watching (monthly)"]
    next(b for b in at.button if b.label == "Stop watching").click().run()
    assert runtime.jobs().watched_topic(job) is None
    assert watch_menu(at) == ["Watch"]
