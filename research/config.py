"""Settings read from the environment and an optional `.env` file.

Every variable the app understands is read here and nowhere else, so the
README, `.env.example` and this module stay in step.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from dotenv import dotenv_values

ApiKind = Literal["responses", "chat_completions"]

DEFAULT_OPENAI_MODEL = "gpt-4.1-mini"
DEFAULT_AGENT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 2
DEFAULT_MAX_CONCURRENCY = 5
DEFAULT_RUN_TIMEOUT = 600.0


class ConfigError(ValueError):
    """The configuration cannot work; the message is one line a user can act on."""


@dataclass(frozen=True)
class Settings:
    """Everything a run needs to know about its environment.

    The API key is kept out of ``repr`` so it cannot leak through logs or
    error messages that print the settings.
    """

    api_key: str | None = None
    base_url: str | None = None
    api: ApiKind = "responses"
    model: str | None = None
    demo: bool = False
    agent_timeout: float = DEFAULT_AGENT_TIMEOUT
    run_timeout: float = DEFAULT_RUN_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    data_dir: Path = Path("data")
    tracing: bool = False
    max_output_tokens: int | None = None
    """Output-token limit of every model request; None: each agent's own budget (2,000-4,000)."""

    def __repr__(self) -> str:
        key = "set" if self.api_key else "unset"
        return (
            f"Settings(api_key=<{key}>, base_url={self.base_url!r}, api={self.api!r}, "
            f"model={self.model!r}, demo={self.demo}, agent_timeout={self.agent_timeout}, run_timeout={self.run_timeout}, "
            f"max_retries={self.max_retries}, max_concurrency={self.max_concurrency}, "
            f"max_output_tokens={self.max_output_tokens})"
        )

    __str__ = __repr__

    @property
    def warnings(self) -> list[str]:
        """Settings that work but probably not as intended, in one line each."""
        attempts = self.max_retries + 1
        if self.demo or self.agent_timeout * attempts <= self.run_timeout:
            return []
        return [f"RESEARCH_AGENT_TIMEOUT × attempts ({self.agent_timeout:g} s × {attempts}) is more than "
                f"RESEARCH_RUN_TIMEOUT ({self.run_timeout:g} s): a slow agent's last retries cannot finish "
                "within the run's time limit"]

    def with_demo(self) -> Settings:
        """The same settings, switched to the offline demo model."""
        return replace(self, demo=True)


def _flag(value: str | None) -> bool | None:
    if value is None or value.strip() == "":
        return None
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"expected 1 or 0, got {value!r}")


def _number(env: Mapping[str, str], name: str, default: float, *, integer: bool, minimum: float) -> float:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        kind = "a whole number" if integer else "a number"
        raise ConfigError(f"{name} must be {kind}, got {raw!r}") from None
    if value < minimum or value != value or value in (float("inf"), float("-inf")):
        raise ConfigError(f"{name} must be at least {minimum:g}, got {raw!r}")
    return value


def load_settings(
    env: Mapping[str, str] | None = None,
    *,
    dotenv_path: str | Path | None = ".env",
    overrides: Mapping[str, str] | None = None,
) -> Settings:
    """Build :class:`Settings` from ``env`` (default: ``os.environ`` over ``.env``).

    Values already in the process environment win over the `.env` file, and
    ``overrides`` (e.g. a command-line ``--demo``) win over both.
    Raises :class:`ConfigError` for values that cannot work.
    """
    if env is None:
        merged: dict[str, str] = {}
        if dotenv_path is not None and Path(dotenv_path).is_file():
            merged.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
        merged.update(os.environ)
        env = merged
    if overrides:
        env = {**env, **overrides}

    api_key = (env.get("OPENAI_API_KEY") or "").strip() or None
    base_url = (env.get("OPENAI_BASE_URL") or "").strip().rstrip("/") or None
    if base_url and not base_url.startswith(("http://", "https://")):
        raise ConfigError(f"OPENAI_BASE_URL must start with http:// or https://, got {base_url!r}")

    api_raw = (env.get("RESEARCH_API") or "").strip().lower()
    if api_raw and api_raw not in ("responses", "chat_completions"):
        raise ConfigError(f"RESEARCH_API must be 'responses' or 'chat_completions', got {api_raw!r}")
    api: ApiKind = api_raw or ("chat_completions" if base_url else "responses")  # type: ignore[assignment]

    try:
        demo_flag = _flag(env.get("RESEARCH_DEMO"))
        tracing = bool(_flag(env.get("RESEARCH_TRACING")))
    except ConfigError as exc:
        raise ConfigError(f"RESEARCH_DEMO / RESEARCH_TRACING: {exc}") from None

    if demo_flag is None:
        demo = api_key is None and base_url is None
    else:
        demo = demo_flag
    if not demo and api_key is None and base_url is None:
        raise ConfigError(
            "No model server configured: set OPENAI_API_KEY (or OPENAI_BASE_URL for a local "
            "server), or use the offline demo with RESEARCH_DEMO=1"
        )

    return Settings(
        api_key=api_key,
        base_url=base_url,
        api=api,
        model=(env.get("RESEARCH_MODEL") or "").strip() or None,
        demo=demo,
        agent_timeout=_number(env, "RESEARCH_AGENT_TIMEOUT", DEFAULT_AGENT_TIMEOUT, integer=False, minimum=0.1),
        run_timeout=_number(env, "RESEARCH_RUN_TIMEOUT", DEFAULT_RUN_TIMEOUT, integer=False, minimum=1),
        max_retries=int(_number(env, "RESEARCH_MAX_RETRIES", DEFAULT_MAX_RETRIES, integer=True, minimum=0)),
        max_concurrency=int(
            _number(env, "RESEARCH_MAX_CONCURRENCY", DEFAULT_MAX_CONCURRENCY, integer=True, minimum=1)
        ),
        data_dir=Path((env.get("RESEARCH_DATA_DIR") or "").strip() or "data"),
        tracing=tracing,
        max_output_tokens=int(_number(env, "RESEARCH_MAX_OUTPUT_TOKENS", 0, integer=True, minimum=16)) or None,
    )
