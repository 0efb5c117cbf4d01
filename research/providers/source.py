"""Which model server a run talks to: OpenAI, any OpenAI-compatible server, or the demo.

Clients are created inside the running event loop (``open_models``), never
at import time, so one process-wide loop thread can own them.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from functools import cache

from agents.models.interface import Model
from agents.tracing import set_trace_provider
from agents.tracing.processors import default_processor
from agents.tracing.provider import DefaultTraceProvider
from openai import AsyncOpenAI, DefaultAsyncHttpxClient

from research.agents.wire import OutputSupport
from research.config import DEMO_MODEL_NAME, ConfigError, ProviderKind, Settings, describe_settings
from research.core.gates import GATES, ServerGate
from research.providers.client import QuickParseOpenAI
from research.providers.streams import CheckedChatCompletionsModel, CheckedResponsesModel

__all__ = ["DEMO_MODEL_NAME", "ModelSource", "ProviderKind", "describe_settings", "open_models"]


@dataclass(frozen=True)
class ModelSource:
    """The models a run uses, and how to describe them (never including the key)."""

    kind: ProviderKind
    model_name: str
    api: str
    base_url: str | None
    models: dict[str, Model]
    fallback: Model
    client: AsyncOpenAI | None = field(default=None, repr=False)
    output_support: OutputSupport = field(default_factory=OutputSupport)
    """Learned during the run: e.g. the server refuses JSON schemas, so use JSON mode."""
    gate: ServerGate | None = field(default=None, repr=False)
    """How many requests go to the server at once (one by one once it shows it serves one at a time)."""

    @property
    def is_demo(self) -> bool:
        """True for the offline demo model."""
        return self.kind == "demo"

    @property
    def label(self) -> str:
        """Where the model runs, e.g. 'OpenAI (Responses API)', without the model's name (that is ``model_name``)."""
        if self.is_demo:
            return "Offline demo model (no language model)"
        api = "Responses API" if self.api == "responses" else "Chat Completions"
        where = "OpenAI" if self.kind == "openai" else f"OpenAI-compatible server at {self.base_url}"
        return f"{where} ({api})"

    def for_agent(self, key: str) -> Model:
        """The model that serves the agent named ``key``."""
        return self.models.get(key, self.fallback)

    async def aclose(self) -> None:
        """Close the HTTP client (call it in the loop that opened it)."""
        if self.client is not None:
            await self.client.close()


async def _first_server_model(client: AsyncOpenAI, base_url: str) -> str:
    try:
        page = await client.models.list()
    except Exception as exc:  # noqa: BLE001 - any failure means we cannot pick a model
        raise ConfigError(
            f"RESEARCH_MODEL is not set and the server at {base_url} did not list its models "
            f"({type(exc).__name__}); set RESEARCH_MODEL"
        ) from None
    ids = [m.id for m in page.data]
    if not ids:
        raise ConfigError(f"RESEARCH_MODEL is not set and the server at {base_url} lists no models")
    return ids[0]


@cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context per process: building it costs ~20 ms, so runs share it."""
    return ssl.create_default_context()


@cache
def _trace_provider() -> DefaultTraceProvider:
    """The SDK's trace provider for this process, installed on first use with no processor: the SDK's own default
    builds its exporter (an HTTP client with a TLS context, about 0.1 s) even while tracing is off."""
    provider = DefaultTraceProvider()
    set_trace_provider(provider)
    return provider


@cache
def _export_traces() -> None:
    """Send traces to OpenAI's dashboard from now on (the SDK's exporting processor, added once)."""
    _trace_provider().register_processor(default_processor())


def set_tracing(enabled: bool) -> None:
    """Turn the SDK's tracing on (``RESEARCH_TRACING``: runs are exported to OpenAI's dashboard) or off."""
    if enabled:
        _export_traces()
    _trace_provider().set_disabled(not enabled)


async def open_models(settings: Settings, *, demo_speed: float = 1.0) -> ModelSource:
    """Create the client and models for one run, inside the running event loop."""
    set_tracing(settings.tracing)
    kind, name = describe_settings(settings)
    if kind == "demo":
        from research.providers.demo_model import DemoModel

        model: Model = DemoModel(speed=demo_speed)
        return ModelSource("demo", DEMO_MODEL_NAME, "demo", None, {}, model)

    # The SDK's runner does every retry (and reports it); the client must not retry on its own.
    client = QuickParseOpenAI(
        api_key=settings.key or "not-needed",
        base_url=settings.base_url,
        max_retries=0,
        http_client=DefaultAsyncHttpxClient(verify=_tls_context()),
    )
    if kind == "compatible" and not settings.model:
        try:
            name = await _first_server_model(client, settings.base_url or "")
        except ConfigError:
            await client.close()
            raise
    if settings.api == "responses":
        model = CheckedResponsesModel(model=name, openai_client=client)
    else:
        model = CheckedChatCompletionsModel(model=name, openai_client=client)
    gate = GATES.gate(settings.base_url or "OpenAI", settings.data_dir)
    return ModelSource(kind, name, settings.api, settings.base_url, {}, model, client, gate=gate)
