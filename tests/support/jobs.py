"""A durable job service on the test server, as the app runs one, for tests that drive it directly."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from research.config import Settings, load_settings
from research.jobs.service import JobService
from research.store import ReportStore


def stub_settings(base_url: str, data_dir: Path, **env: str) -> Settings:
    """Settings for the test server at ``base_url`` (Chat Completions, no web search), ``env`` on top."""
    return load_settings(env={"OPENAI_BASE_URL": base_url, "RESEARCH_MODEL": "stub-model",
                              "RESEARCH_API": "chat_completions", "RESEARCH_SEARCH": "none",
                              "RESEARCH_DATA_DIR": str(data_dir), **env})


@contextmanager
def durable_service(settings: Settings) -> Iterator[JobService]:
    """The durable job service of ``settings`` with its history, closed at the end."""
    jobs = JobService(settings, ReportStore(settings.data_dir))
    try:
        yield jobs
    finally:
        jobs.close()
