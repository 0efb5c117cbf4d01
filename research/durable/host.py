"""Where a durable job's progress goes: the front end of this process (web app or command line).

A job workflow may start in a process that never saw it submitted: a
restarted process recovers its unfinished jobs. The workflow then asks this
process's :class:`JobHost` to :meth:`~JobHost.attach` it, which gives it a
place for its status events, a cancel flag and (maybe) its models, and hands
it back its settings with this process's secrets (secrets are never stored).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from research.config import Settings
from research.core.steps import EventSink, StatusEvent
from research.inputs import CompanyRequest, MarketRequest
from research.providers.source import ModelSource


def _ignore(_event: StatusEvent) -> None:
    return None


@dataclass(frozen=True)
class DurableJob:
    """What a job workflow is started with (and re-started with after a crash): nothing secret."""

    id: str
    request: MarketRequest | CompanyRequest
    settings: Settings
    """The job's settings without API keys: the process that runs it adds its own."""
    reuse: dict[str, object] | None = None
    """An earlier job's step outcomes to keep (a retry of what failed)."""


@dataclass
class Attachment:
    """A running job's link to the front end of this process."""

    publish: EventSink = _ignore
    cancel: asyncio.Event = field(default_factory=asyncio.Event)
    models: ModelSource | None = None
    """Models the front end opened for the job (it closes them); None: the run opens its own."""


class JobHost(Protocol):
    """The front end of this process, as durable jobs see it."""

    def with_secrets(self, settings: Settings) -> Settings:
        """``settings`` with this process's API keys."""
        ...

    async def attach(self, job: DurableJob, resumed: bool) -> Attachment:
        """Show ``job`` (``resumed``: it was recovered after a restart) and return its attachment."""
        ...

    async def finished(self, job: DurableJob, result: object) -> None:
        """Keep the finished job's result (e.g. in the history)."""
        ...


def without_secrets(settings: Settings) -> Settings:
    """The settings as they may be stored with a job: no API keys."""
    return settings.with_changes(api_key=None, tavily_key=None)


@dataclass
class EnvironmentHost:
    """A host for a process with no front end: events go nowhere, secrets come from ``base``."""

    base: Settings
    on_finished: Callable[[DurableJob, object], Awaitable[None]] | None = None

    def with_secrets(self, settings: Settings) -> Settings:
        """``settings`` with the keys of ``base``."""
        return settings.with_changes(api_key=self.base.api_key, tavily_key=self.base.tavily_key)

    async def attach(self, job: DurableJob, resumed: bool) -> Attachment:
        """A detached attachment: nobody watches."""
        return Attachment()

    async def finished(self, job: DurableJob, result: object) -> None:
        """Hand the result to ``on_finished``, if any."""
        if self.on_finished is not None:
            await self.on_finished(job, result)


_host: JobHost | None = None


def set_host(host: JobHost | None) -> None:
    """Make ``host`` the front end durable jobs of this process report to."""
    global _host
    _host = host


def current_host() -> JobHost:
    """The front end of this process (raises when none was set: the engine was not started)."""
    if _host is None:
        raise RuntimeError("no job host: start the durable engine first")
    return _host
