"""Settings from the environment and `.env`, and what they select."""

from __future__ import annotations

import pytest

from research.config import ConfigError, load_settings
from research.providers.source import describe_settings, open_models


def test_nothing_configured_means_the_offline_demo() -> None:
    settings = load_settings({})
    assert settings.demo and describe_settings(settings) == ("demo", "offline-demo")


def test_a_key_alone_selects_openai_responses() -> None:
    settings = load_settings({"OPENAI_API_KEY": "sk-x"})
    assert (settings.demo, settings.api) == (False, "responses")
    assert describe_settings(settings) == ("openai", "gpt-4.1-mini")


def test_a_base_url_selects_chat_completions_unless_overridden() -> None:
    assert load_settings({"OPENAI_BASE_URL": "http://localhost:11434/v1/"}).api == "chat_completions"
    settings = load_settings({"OPENAI_BASE_URL": "http://localhost:11434/v1", "RESEARCH_API": "responses", "RESEARCH_MODEL": "llama3"})
    assert (settings.api, settings.base_url, settings.model) == ("responses", "http://localhost:11434/v1", "llama3")


def test_demo_flag_wins_over_a_key_and_limits_are_read() -> None:
    settings = load_settings({"OPENAI_API_KEY": "sk-x", "RESEARCH_DEMO": "1", "RESEARCH_AGENT_TIMEOUT": "12.5",
                              "RESEARCH_MAX_RETRIES": "0", "RESEARCH_MAX_CONCURRENCY": "8", "RESEARCH_DATA_DIR": "/tmp/r"})
    assert settings.demo
    assert (settings.agent_timeout, settings.max_retries, settings.max_concurrency, str(settings.data_dir)) == (12.5, 0, 8, "/tmp/r")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"RESEARCH_DEMO": "0"}, "No model server configured"),
        ({"RESEARCH_API": "grpc"}, "RESEARCH_API must be"),
        ({"OPENAI_BASE_URL": "localhost:11434"}, "must start with http"),
        ({"RESEARCH_MAX_RETRIES": "-1"}, "at least 0"),
        ({"RESEARCH_MAX_CONCURRENCY": "2.5"}, "whole number"),
        ({"RESEARCH_AGENT_TIMEOUT": "nan"}, "RESEARCH_AGENT_TIMEOUT"),
        ({"RESEARCH_DEMO": "maybe"}, "expected 1 or 0"),
    ],
)
def test_bad_values_are_one_line_errors(env, message) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        load_settings(env)
    assert "\n" not in str(info.value)


def test_dotenv_is_read_and_the_environment_wins(tmp_path, monkeypatch) -> None:
    (tmp_path / ".env").write_text("OPENAI_API_KEY=sk-from-file\nRESEARCH_MODEL=from-file\n")
    monkeypatch.setenv("RESEARCH_MODEL", "from-env")
    settings = load_settings(dotenv_path=tmp_path / ".env")
    assert (settings.key, settings.model, settings.demo) == ("sk-from-file", "from-env", False)


def test_the_key_is_not_in_the_settings_repr() -> None:
    settings = load_settings({"OPENAI_API_KEY": "sk-very-secret"})
    assert "sk-very-secret" not in repr(settings) and "sk-very-secret" not in str(settings)


async def test_tracing_is_off_unless_asked_for() -> None:
    from agents.tracing import get_trace_provider, set_tracing_disabled

    set_tracing_disabled(False)
    await open_models(load_settings({}))
    assert get_trace_provider().create_trace("probe").export() is None  # a disabled trace exports nothing
    await open_models(load_settings({"RESEARCH_TRACING": "1"}))
    assert get_trace_provider().create_trace("probe").export() is not None
    set_tracing_disabled(True)


def test_list_settings_are_read_as_written_from_the_process_environment(monkeypatch, tmp_path) -> None:
    """Prices and admins are text, not JSON: pydantic-settings must not try to decode them."""
    monkeypatch.setenv("RESEARCH_DEMO", "1")
    monkeypatch.setenv("RESEARCH_PRICES", "gpt-4.1-mini=0.40/1.60;llama3.1=0/0")
    monkeypatch.setenv("RESEARCH_ADMINS", "Alice@Example.com, bob-subject")
    monkeypatch.setenv("RESEARCH_SHARED_HISTORY", "yes")
    monkeypatch.setenv("RESEARCH_USER_CONCURRENCY", "2")
    monkeypatch.setenv("RESEARCH_USER_DAILY_BUDGET_TOKENS", "50000")
    settings = load_settings(dotenv_path=tmp_path / "absent.env")
    assert settings.prices == {"gpt-4.1-mini": (0.4, 1.6), "llama3.1": (0.0, 0.0)}
    assert settings.admins == frozenset({"Alice@Example.com", "bob-subject"})
    assert settings.shared_history and settings.user_concurrency == 2 and settings.user_daily_budget_tokens == 50_000
