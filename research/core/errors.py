"""Turn exceptions into short, safe explanations a user can read.

Messages never quote the server's error text: providers echo parts of API
keys and prompts there. They say what kind of failure happened and the HTTP
status, which is what a user can act on.
"""

from __future__ import annotations

import openai
from agents.exceptions import ModelBehaviorError, ModelRefusalError, ModelTimeoutError

_STATUS_WORDS = {
    400: "the model server rejected the request",
    401: "the model server rejected the API key",
    403: "the API key may not use this model",
    404: "the model or endpoint was not found",
    408: "the model server timed out",
    409: "the model server reported a conflict",
    413: "the request was too large for the model server",
    422: "the model server could not process the request",
    429: "rate limited",
    500: "server error",
    502: "bad gateway",
    503: "model server unavailable",
    504: "gateway timeout",
}

RETRYABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})


class InvalidOutputError(RuntimeError):
    """Nothing usable remained of the model's answer, even after a repair request; the message says what."""


class ModelDeclinedError(RuntimeError):
    """The model declined to answer; ``refusal`` is its own explanation (model text: escape it to show it)."""

    def __init__(self, refusal: str) -> None:
        super().__init__("the model declined")
        self.refusal = " ".join(refusal.split())[:300]


class RecordedFailure(RuntimeError):
    """A step that failed where it ran (another process, or before a restart), as its record says."""

    def __init__(self, message: str, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


class SchemaRejectedError(RuntimeError):
    """The server found the app's output schema invalid: a bug in the app, not a problem to retry."""

    def __init__(self, status: int) -> None:
        super().__init__(f"the model server rejected the app's output schema (HTTP {status}); please report this as a bug")


def status_reason(status: int) -> str:
    """A few words for an HTTP status, with the code."""
    words = _STATUS_WORDS.get(status, "the model server returned an error")
    return f"{words} (HTTP {status})"


def describe_error(exc: BaseException, attempt_timeout: float | None = None) -> tuple[bool, str]:
    """Return ``(timed_out, message)`` for a task that ended with ``exc``."""
    if isinstance(exc, RecordedFailure):
        return exc.timed_out, str(exc)
    if isinstance(exc, ModelTimeoutError):
        return True, f"timed out after {exc.timeout_seconds:g} s"
    if isinstance(exc, openai.APITimeoutError):
        seconds = f"for {attempt_timeout:g} s" if attempt_timeout else "in time"
        return True, f"timed out: no data from the model server {seconds}"
    if isinstance(exc, TimeoutError):
        return True, f"timed out after {attempt_timeout:g} s" if attempt_timeout else "timed out"
    if isinstance(exc, openai.APIStatusError):
        reason = status_reason(exc.status_code)
        if exc.status_code == 404 and str(exc.request.url).rstrip("/").endswith("/responses"):
            reason += "; this server may not offer the Responses API: set RESEARCH_API=chat_completions"
        return False, reason
    if isinstance(exc, openai.APIConnectionError):
        return False, "could not connect to the model server"
    if isinstance(exc, (InvalidOutputError, SchemaRejectedError)):
        return False, str(exc)
    if isinstance(exc, (ModelDeclinedError, ModelRefusalError)):
        return False, f"the model declined: {' '.join(exc.refusal.split())[:300]}"
    if isinstance(exc, ModelBehaviorError):
        return False, "the model's answer did not match the expected structure"
    return False, f"unexpected error ({type(exc).__name__})"
