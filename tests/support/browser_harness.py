"""Harness for driving the web app in a real browser, shared by the UI benchmark and tests.

Starts ``streamlit run app.py`` as a subprocess on a free 127.0.0.1 port with its own data
folder and environment, launches the system Chromium (``/usr/bin/chromium``, never a
downloaded browser) with the flags this workplace needs, and reads the app's log for uncaught
exceptions. Imports neither Streamlit nor (at module level) Playwright.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1400, "height": 2400}  # Streamlit scrolls inside its own container: tall viewport
TOPIC_LABEL = "Industry or market"
GENERATE = "Generate report"
AGENT_CARD = '[class*="st-key-agent-"]'
EXCEPTION = '[data-testid="stException"]'
_ENV_PREFIXES = ("OPENAI_", "RESEARCH_", "SEARXNG_", "TAVILY_")
# Blank values win over a developer's `.env` (the environment wins, and blank means "not set").
_BLANK = ("OPENAI_API_KEY", "SEARXNG_URL", "TAVILY_API_KEY", "RESEARCH_SEARCH", "RESEARCH_FETCH_PRIVATE",
          "RESEARCH_MAX_OUTPUT_TOKENS", "RESEARCH_API", "RESEARCH_DEMO", "RESEARCH_AGENT_TIMEOUT", "RESEARCH_RUN_TIMEOUT",
          "RESEARCH_MAX_RETRIES", "RESEARCH_MAX_CONCURRENCY", "RESEARCH_TRACING", "RESEARCH_DATABASE_URL",
          "RESEARCH_WORKER_ID", "RESEARCH_RATE_LIMIT", "RESEARCH_WORKER_CONCURRENCY")

# Records, in the page's own clock (Date.now(), epoch ms), the first click on "Generate report"
# and when the first agent card and each level-1 heading first appear in the DOM.
MARKS_SCRIPT = """
(() => {
  const marks = window.__marks = {};
  document.addEventListener('click', (event) => {
    const button = event.target instanceof Element ? event.target.closest('button') : null;
    if (marks.clicked === undefined && button && button.textContent.includes('GENERATE')) marks.clicked = Date.now();
  }, true);
  const check = () => {
    const now = Date.now();
    if (marks.status === undefined && document.querySelector('AGENT_CARD')) marks.status = now;
    for (const h of document.querySelectorAll('h1')) {
      const key = 'h1:' + h.textContent.trim();
      if (marks[key] === undefined) marks[key] = now;
    }
  };
  new MutationObserver(check).observe(document, {subtree: true, childList: true, characterData: true});
})();
""".replace("GENERATE", GENERATE).replace("AGENT_CARD", AGENT_CARD)
# Clicks an element at a given epoch time in ms: several pages can click at the same moment.
CLICK_AT = "(element, at) => setTimeout(() => element.click(), Math.max(0, at - Date.now()))"


def report_heading(topic: str) -> str:
    """The report's level-1 heading for ``topic`` (plain topics only: no Markdown escaping)."""
    return f"Market research: {topic}"


def chromium_problem() -> str | None:
    """Why the system Chromium cannot be used, or None when it can."""
    if not os.path.isfile(CHROMIUM):
        return f"Chromium is not installed at {CHROMIUM} (Debian: apt-get install chromium)"
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is not executable"
    return None


def launch_chromium(playwright: Any) -> Any:
    """Launch the system Chromium (never a downloaded one); awaitable with the async API."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def app_env(base_url: str, data_dir: Path, model: str = "stub-model",
            extra_env: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without OPENAI_*/RESEARCH_*, pointed at ``base_url``, plus ``extra_env`` (wins)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_ENV_PREFIXES)}
    env.update(dict.fromkeys(_BLANK, ""))
    env.update(OPENAI_BASE_URL=base_url, RESEARCH_MODEL=model, RESEARCH_DATA_DIR=str(data_dir))
    env.update(extra_env or {})
    return env


class StreamlitApp:
    """``streamlit run app.py`` as a subprocess on 127.0.0.1, restartable on the same port and data."""

    def __init__(self, base_url: str, data_dir: Path, *, port: int | None = None, log_path: Path | None = None,
                 ready_timeout: float = 30.0, extra_env: Mapping[str, str] | None = None,
                 secrets_file: Path | None = None) -> None:
        self.base_url, self.data_dir = base_url, Path(data_dir)
        self.extra_env = dict(extra_env or {})
        """More variables for the app's environment (e.g. ``RESEARCH_SEARCH``); they win over the defaults."""
        self.secrets_file = secrets_file
        """The app's only secrets file (``--secrets.files``, e.g. with ``[auth]``); None: Streamlit's usual places."""
        self.port = port or free_port()
        self.log_path = log_path
        self.ready_timeout = ready_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self._log: TextIO | None = None

    @property
    def url(self) -> str:
        """The app's root URL (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> StreamlitApp:
        """Start the server and wait (bounded) until its health check answers."""
        if self.process is not None:
            raise RuntimeError("already running")
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(self.log_path, "a", encoding="utf-8")  # noqa: SIM115 - closed in stop()
            self._log.write(f"\n=== streamlit run app.py on port {self.port} ===\n")
            self._log.flush()
        out = self._log if self._log is not None else subprocess.DEVNULL
        command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(self.port),
                   "--server.address", "127.0.0.1", "--server.headless", "true"]
        if self.secrets_file is not None:
            command += ["--secrets.files", str(self.secrets_file)]
        self.process = subprocess.Popen(command, cwd=ROOT, env=app_env(self.base_url, self.data_dir, extra_env=self.extra_env),
                                        stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
        deadline = time.monotonic() + self.ready_timeout
        while True:
            if self.process is None or self.process.poll() is not None:
                where = f"; see {self.log_path}" if self.log_path else ""
                raise RuntimeError(f"streamlit exited during start-up{where}")
            try:
                with opener.open(f"{self.url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                where = f"; see {self.log_path}" if self.log_path else ""
                raise RuntimeError(f"streamlit was not ready within {self.ready_timeout:.0f} s{where}")
            time.sleep(0.1)  # readiness polling only

    def stop(self) -> None:
        """Terminate the server (SIGTERM, then SIGKILL after 10 s). Idempotent."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def restart(self) -> StreamlitApp:
        """A fresh server process on the same port and data folder."""
        self.stop()
        return self.start()

    def __enter__(self) -> StreamlitApp:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def log_size(log: Path) -> int:
    """The log's current length in bytes (0 before it exists), to read only what comes later."""
    return log.stat().st_size if log.is_file() else 0


def server_errors(log: Path | None, start: int = 0) -> list[str]:
    """Streamlit's "Uncaught app execution" reports (their exception lines) from byte ``start`` on."""
    if log is None or not log.is_file():
        return []
    with log.open("rb") as file:
        file.seek(start)
        lines = file.read().decode("utf-8", errors="replace").splitlines()
    found = []
    for n, line in enumerate(lines):
        if "Uncaught app execution" in line:
            tail = next((x for x in lines[n + 1:] if x and not x.startswith((" ", "Traceback"))), "")
            found.append(tail.strip())
    return found
