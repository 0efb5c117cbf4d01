"""Settings read from the environment and an optional `.env` file, with pydantic-settings.

Every variable the app understands is declared in :class:`EnvironmentSettings`
and nowhere else, so the README, `.env.example` and this module stay in step.
:func:`load_settings` turns them into the :class:`Settings` a run uses; a value
that cannot work is a :class:`ConfigError` with one line a user can act on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from research.pricing import parse_prices, price_of

ApiKind = Literal["responses", "chat_completions"]

DEFAULT_OPENAI_MODEL = "gpt-4.1-mini"
DEFAULT_AGENT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 2
DEFAULT_MAX_CONCURRENCY = 5
DEFAULT_RUN_TIMEOUT = 600.0


class SearchChoice(StrEnum):
    """Which web search grounds the research (``RESEARCH_SEARCH``); ``auto`` picks from what is configured."""

    AUTO = "auto"
    OPENAI = "openai"
    SEARXNG = "searxng"
    TAVILY = "tavily"
    DUCKDUCKGO = "duckduckgo"
    NONE = "none"


class ConfigError(ValueError):
    """The configuration cannot work; the message is one line a user can act on."""


class Settings(BaseModel):
    """Everything a run needs to know about its environment (the key is a ``SecretStr``: never printed)."""

    model_config = ConfigDict(frozen=True)

    api_key: SecretStr | None = None
    base_url: str | None = None
    api: ApiKind = "responses"
    model: str | None = None
    demo: bool = False
    agent_timeout: float = DEFAULT_AGENT_TIMEOUT
    """Seconds without any data from the model server before an attempt is abandoned."""
    run_timeout: float = DEFAULT_RUN_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    data_dir: Path = Path("data")
    tracing: bool = False
    max_output_tokens: int | None = None
    """Output-token limit of every model request; None: each agent's own budget (1,500-4,000)."""
    prices: dict[str, tuple[float, float]] = {}
    """USD per million input/output tokens by model, over the built-in list prices (research.pricing)."""
    search: SearchChoice = SearchChoice.AUTO
    """Which web search grounds the research (see ``research.retrieval.search.search_backend``)."""
    searxng_url: str | None = Field(default=None, repr=False)
    """A self-hosted SearXNG's address; kept out of the repr, as it may carry a user name and password."""
    tavily_key: SecretStr | None = None
    fetch_private: bool = False
    """Allow fetching pages on private and local addresses (off: such pages are refused)."""
    database_url: str | None = Field(default=None, repr=False)
    """Postgres for workflow state and history shared by replicas; None: SQLite in the data folder."""
    worker_id: str = "local"
    """This process's stable executor id: a restarted process recovers the unfinished jobs of its id."""
    rate_limit: int | None = None
    """Model requests (agent steps) started per minute across the deployment; None: no limit."""
    worker_concurrency: int | None = None
    """Model-calling steps this process runs at once, within the deployment's cap; None: no own limit."""
    budget_tokens: int | None = None
    """Input plus output tokens one run (a report or a batch) may spend; None: no limit."""
    budget_usd: float | None = None
    """Estimated USD one run may spend (needs the model's price); None: no limit."""
    daily_budget_tokens: int | None = None
    """Tokens the whole deployment may spend per UTC day (every process on its database); None: no limit."""
    daily_budget_usd: float | None = None
    """Estimated USD the whole deployment may spend per UTC day; None: no limit."""
    webhook_url: str | None = Field(default=None, repr=False)
    """Where a watched topic's refreshed report is announced (a small JSON POST); None: nowhere."""
    shared_history: bool = False
    """With sign-in: every person's reports are listed and open for everyone, read-only."""
    admins: frozenset[str] = frozenset()
    """With sign-in: the e-mail addresses or subjects of the people who may delete any report."""
    user_concurrency: int | None = None
    """With sign-in: model-calling steps one person's jobs may run at once (others' wait less); None: no cap."""
    user_daily_budget_tokens: int | None = None
    """With sign-in: tokens one person may spend per UTC day; None: no limit."""
    user_daily_budget_usd: float | None = None
    """With sign-in: estimated USD one person may spend per UTC day; None: no limit."""

    @property
    def key(self) -> str | None:
        """The API key itself, for the HTTP client only."""
        return self.api_key.get_secret_value() if self.api_key else None

    @property
    def warnings(self) -> list[str]:
        """Settings that work but probably not as intended, in one line each."""
        attempts = self.max_retries + 1
        if self.demo or self.agent_timeout * attempts <= self.run_timeout:
            return []
        return [f"RESEARCH_AGENT_TIMEOUT × attempts ({self.agent_timeout:g} s × {attempts}) is more than "
                f"RESEARCH_RUN_TIMEOUT ({self.run_timeout:g} s): a slow agent's last retries cannot finish "
                "within the run's time limit"]

    def with_changes(self, **changes: Any) -> Settings:
        """The same settings with ``changes`` (an ``api_key`` given as text is kept secret)."""
        if isinstance(changes.get("api_key"), str):
            changes["api_key"] = SecretStr(changes["api_key"])
        return self.model_copy(update=changes)

    def with_demo(self) -> Settings:
        """The same settings, switched to the offline demo model."""
        return self.with_changes(demo=True)


def _flag(value: object) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"expected 1 or 0, got {value!r}")


class EnvironmentValues(BaseModel):
    """The variables as written in the environment (names in lower case), each checked on its own."""

    model_config = ConfigDict(extra="ignore")

    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    research_api: ApiKind | None = None
    research_model: str | None = None
    research_demo: bool | None = None
    research_agent_timeout: float = Field(DEFAULT_AGENT_TIMEOUT, ge=0.1)
    research_run_timeout: float = Field(DEFAULT_RUN_TIMEOUT, ge=1)
    research_max_retries: int = Field(DEFAULT_MAX_RETRIES, ge=0)
    research_max_concurrency: int = Field(DEFAULT_MAX_CONCURRENCY, ge=1)
    research_max_output_tokens: int | None = Field(None, ge=16)
    research_data_dir: Path = Path("data")
    research_tracing: bool = False
    research_prices: Annotated[dict[str, tuple[float, float]], NoDecode] = {}  # text, parsed below (not JSON)

    @field_validator("research_prices", mode="before")
    @classmethod
    def _prices(cls, value: object) -> dict[str, tuple[float, float]]:
        return parse_prices(value) if isinstance(value, str) else value  # type: ignore[return-value]
    research_search: SearchChoice = SearchChoice.AUTO
    searxng_url: str | None = None
    tavily_api_key: SecretStr | None = None
    research_fetch_private: bool = False
    research_database_url: str | None = None
    research_worker_id: str = Field("local", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    research_rate_limit: int | None = Field(None, ge=1)
    research_worker_concurrency: int | None = Field(None, ge=1)
    research_budget_tokens: int | None = Field(None, ge=1)
    research_budget_usd: float | None = Field(None, gt=0)
    research_daily_budget_tokens: int | None = Field(None, ge=1)
    research_daily_budget_usd: float | None = Field(None, gt=0)
    research_webhook_url: str | None = None
    research_shared_history: bool = False
    research_admins: Annotated[frozenset[str], NoDecode] = frozenset()  # text, split below (not JSON)
    research_user_concurrency: int | None = Field(None, ge=1)
    research_user_daily_budget_tokens: int | None = Field(None, ge=1)
    research_user_daily_budget_usd: float | None = Field(None, gt=0)

    @field_validator("research_shared_history", mode="before")
    @classmethod
    def _shared_history_flag(cls, value: object) -> bool | None:
        return _flag(value)

    @field_validator("research_admins", mode="before")
    @classmethod
    def _admin_names(cls, value: object) -> object:
        """A comma- or space-separated list of e-mail addresses or subjects."""
        if isinstance(value, str):
            return frozenset(name for name in value.replace(",", " ").split() if name)
        return value

    @field_validator("research_database_url", mode="before")
    @classmethod
    def _database_url(cls, value: object) -> object:
        text = str(value or "").strip()
        if text and not text.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql://… address (leave it unset for SQLite)")
        return text or None

    @field_validator("research_demo", "research_tracing", mode="before")
    @classmethod
    def _one_or_zero(cls, value: object) -> bool | None:
        return _flag(value)

    @field_validator("research_fetch_private", mode="before")
    @classmethod
    def _fetch_private_flag(cls, value: object) -> bool | None:
        return _flag(value)

    @field_validator("research_search", mode="before")
    @classmethod
    def _search_choice(cls, value: object) -> str:
        text = str(value or "").strip().lower() or SearchChoice.AUTO.value
        if text not in {c.value for c in SearchChoice}:
            raise ValueError(f"must be one of {', '.join(c.value for c in SearchChoice)}, got {text!r}")
        return text

    @field_validator("searxng_url", mode="before")
    @classmethod
    def _searxng_address(cls, value: object) -> str | None:
        text = str(value or "").strip().rstrip("/")
        if text and not text.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")  # the value is not echoed: it may hold a password
        return text or None

    @field_validator("tavily_api_key", mode="before")
    @classmethod
    def _stripped_key(cls, value: object) -> object:
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        return text.strip() or None if isinstance(text, str) else value

    @field_validator("research_webhook_url", mode="before")
    @classmethod
    def _webhook_address(cls, value: object) -> str | None:
        text = str(value or "").strip()
        if text and not text.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")  # not echoed: it may hold a token
        return text or None

    @field_validator("openai_base_url", mode="before")
    @classmethod
    def _web_address(cls, value: object) -> str | None:
        text = str(value or "").strip().rstrip("/")
        if text and not text.startswith(("http://", "https://")):
            raise ValueError(f"must start with http:// or https://, got {text!r}")
        return text or None

    @field_validator("research_api", mode="before")
    @classmethod
    def _api_kind(cls, value: object) -> str | None:
        text = str(value or "").strip().lower()
        if text and text not in ("responses", "chat_completions"):
            raise ValueError(f"must be 'responses' or 'chat_completions', got {text!r}")
        return text or None

    @field_validator("research_agent_timeout", "research_run_timeout", "research_budget_usd",
                     "research_daily_budget_usd", "research_user_daily_budget_usd", mode="after")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("must be a finite number of seconds")
        return value


class EnvironmentSettings(EnvironmentValues, BaseSettings):
    """The same variables, read by pydantic-settings from the process environment over a `.env` file."""

    model_config = SettingsConfigDict(extra="ignore", env_ignore_empty=True, case_sensitive=False)


_ERROR_WORDS = {"float_parsing": "must be a number", "int_parsing": "must be a whole number",
                "int_from_float": "must be a whole number", "greater_than_equal": "must be at least {ge}",
                "greater_than": "must be more than {gt}"}


def _one_line(error: ValidationError) -> str:
    first = error.errors(include_url=False)[0]
    name = str(first["loc"][0]).upper() if first["loc"] else "a setting"
    words = _ERROR_WORDS.get(first["type"], str(first["msg"]).removeprefix("Value error, "))
    got = f", got {first['input']!r}" if first["type"] in _ERROR_WORDS else ""
    return f"{name} {words.format(**first.get('ctx', {}))}{got}"


def load_settings(
    env: Mapping[str, str] | None = None,
    *,
    dotenv_path: str | Path | None = ".env",
    overrides: Mapping[str, str] | None = None,
) -> Settings:
    """Build :class:`Settings` from ``env`` (default: the process environment over ``.env``).

    Values already in the process environment win over the `.env` file, and
    ``overrides`` (e.g. a command-line ``--demo``) win over both.
    Raises :class:`ConfigError` for values that cannot work.
    """
    given = {k.lower(): v for k, v in (overrides or {}).items()}
    try:
        if env is None:
            env_file = dotenv_path if dotenv_path is not None and Path(dotenv_path).is_file() else None
            values: EnvironmentValues = EnvironmentSettings(_env_file=env_file, **given)  # type: ignore[call-arg]
        else:
            merged = {k.lower(): v for k, v in env.items() if str(v).strip()} | given
            values = EnvironmentValues.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(_one_line(exc)) from None

    has_key = values.openai_api_key is not None and bool(values.openai_api_key.get_secret_value().strip())
    demo = values.research_demo if values.research_demo is not None else not has_key and not values.openai_base_url
    if not demo and not has_key and not values.openai_base_url:
        raise ConfigError(
            "No model server configured: set OPENAI_API_KEY (or OPENAI_BASE_URL for a local "
            "server), or use the offline demo with RESEARCH_DEMO=1"
        )
    settings = Settings(
        api_key=SecretStr(values.openai_api_key.get_secret_value().strip()) if has_key else None,  # type: ignore[union-attr]
        base_url=values.openai_base_url,
        api=values.research_api or ("chat_completions" if values.openai_base_url else "responses"),
        model=(values.research_model or "").strip() or None,
        demo=demo,
        agent_timeout=values.research_agent_timeout,
        run_timeout=values.research_run_timeout,
        max_retries=values.research_max_retries,
        max_concurrency=values.research_max_concurrency,
        data_dir=values.research_data_dir,
        tracing=values.research_tracing,
        max_output_tokens=values.research_max_output_tokens,
        prices=values.research_prices,
        search=values.research_search,
        searxng_url=values.searxng_url,
        tavily_key=values.tavily_api_key,
        fetch_private=values.research_fetch_private,
        database_url=values.research_database_url,
        worker_id=values.research_worker_id,
        rate_limit=values.research_rate_limit,
        worker_concurrency=values.research_worker_concurrency,
        budget_tokens=values.research_budget_tokens,
        budget_usd=values.research_budget_usd,
        daily_budget_tokens=values.research_daily_budget_tokens,
        daily_budget_usd=values.research_daily_budget_usd,
        webhook_url=values.research_webhook_url,
        shared_history=values.research_shared_history,
        admins=values.research_admins,
        user_concurrency=values.research_user_concurrency,
        user_daily_budget_tokens=values.research_user_daily_budget_tokens,
        user_daily_budget_usd=values.research_user_daily_budget_usd,
    )
    check_budget_price(settings, describe_settings(settings)[1] if settings.model or not settings.base_url else None)
    return settings


def check_budget_price(settings: Settings, model: str | None) -> None:
    """Raise :class:`ConfigError` when a USD budget is set for ``model`` and its price is not known
    (``model`` None: not known yet, e.g. the first model a server lists; checked when the run starts)."""
    usd = [name for name, value in (("RESEARCH_BUDGET_USD", settings.budget_usd),
                                    ("RESEARCH_DAILY_BUDGET_USD", settings.daily_budget_usd)) if value is not None]
    if not usd or settings.demo or model is None or price_of(model, settings.prices) is not None:
        return
    raise ConfigError(f"{usd[0]} needs the price of {model}: add it to RESEARCH_PRICES "
                      f"(e.g. \"{model}=0.40/1.60\", USD per million input/output tokens) or set "
                      "RESEARCH_BUDGET_TOKENS instead")


ProviderKind = Literal["openai", "compatible", "demo"]
"""Which kind of model server the settings select."""
DEMO_MODEL_NAME = "offline-demo"
"""The name the offline demo model is shown by."""


def describe_settings(settings: Settings) -> tuple[ProviderKind, str]:
    """The provider kind and model name the settings select (no network access)."""
    if settings.demo:
        return "demo", DEMO_MODEL_NAME
    if settings.base_url:
        return "compatible", settings.model or "(first model the server lists)"
    return "openai", settings.model or DEFAULT_OPENAI_MODEL
