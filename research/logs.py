"""Where the libraries' log lines go: a log file in the data folder, never the terminal.

The Agents SDK and the ``openai`` client log failed requests ("Error getting
response: …") with the server's error text, which may echo prompts or parts of
keys. :func:`route_library_logs` sends those loggers to ``research.log`` under
the data folder, reduced to the logger, the level and the words before the
first colon, so no request, answer or key is ever written.
"""

from __future__ import annotations

import logging
from pathlib import Path

LIBRARY_LOGGERS = ("openai.agents", "openai", "httpx", "httpx2", "dbos")
LOG_FILE = "research.log"


class _Redact(logging.Filter):
    """Keep only what a log line says happened, never what it quotes."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except (TypeError, ValueError):
            text = str(record.msg)
        summary = text.split(":", 1)[0].split("\n", 1)[0][:120]
        if record.exc_info and record.exc_info[0] is not None:
            summary += f" ({record.exc_info[0].__name__})"
        record.msg, record.args, record.exc_info, record.exc_text = summary, None, None, None
        return True


def route_library_logs(data_dir: Path, level: int = logging.WARNING) -> Path | None:
    """Send the SDK's and HTTP client's warnings to ``data_dir/research.log`` (redacted), not to stderr.

    Returns the log file's path, or None when the folder cannot be written (the
    lines are then dropped rather than printed). Safe to call more than once.
    """
    path = data_dir / LOG_FILE
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(path, encoding="utf-8", delay=True)
    except OSError:
        handler, path = logging.NullHandler(), None
    handler.addFilter(_Redact())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if getattr(h, "_research", False)]:
            logger.removeHandler(old)
            old.close()
        handler._research = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.setLevel(max(level, logger.level or level))
        logger.propagate = False
    return path
