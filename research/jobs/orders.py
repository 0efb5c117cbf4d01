"""What a job hands to DBOS: plain JSON, never pickled objects.

A :class:`JobOrder` is a job's workflow input (its request, its settings
without secrets, the job it retries); a step's inputs and its outcome travel
as :func:`dump_outcome` JSON, each result tagged with its model's name so
:func:`load_outcome` gives back the typed result. Plain data is what lets a
job be retried after a cancel, a failure or a restart, whatever its steps hold.
"""

from __future__ import annotations

import importlib
import json
import time
from typing import Any

from pydantic import BaseModel, Field

from research.config import Settings
from research.core.steps import StepOutcome
from research.inputs import ResearchRequest
from research.owners import LOCAL_ID

_RESULT_MODULES = "research."
"""Results are models of this package: a tag naming anything else is refused."""


class JobOrder(BaseModel):
    """A job as DBOS stores it: enough to run it again after a restart, and nothing secret."""

    id: str
    request: ResearchRequest
    settings: Settings
    """The job's settings without API keys: the process that runs it adds its own."""
    retry_of: str | None = None
    """The job whose successful steps this one keeps (a retry of what failed)."""
    created_at: float = Field(default_factory=time.time)
    owner: str = LOCAL_ID
    """Who started the job (an :class:`research.owners.Owner` id; orders of earlier releases: the local user)."""
    owner_name: str | None = None
    """How they are named beside the job (:attr:`research.owners.Owner.label`)."""

    @classmethod
    def of(cls, job_id: str, request: Any, settings: Settings, retry_of: str | None = None,
           created_at: float | None = None, owner: str = LOCAL_ID, owner_name: str | None = None) -> JobOrder:
        """The order for a job, its settings stripped of secrets."""
        return cls(id=job_id, request=request, settings=without_secrets(settings), retry_of=retry_of,
                   created_at=created_at or time.time(), owner=owner, owner_name=owner_name)


def without_secrets(settings: Settings) -> Settings:
    """The settings as they may be stored with a job: no API keys."""
    return settings.with_changes(api_key=None, tavily_key=None)


def dump_outcome(outcome: StepOutcome[Any], **extra: Any) -> str:
    """A step's outcome as JSON, its result tagged with its model (``extra``: more fields beside it)."""
    result = outcome.result
    tag = f"{type(result).__module__}:{type(result).__qualname__}" if isinstance(result, BaseModel) else None
    body = outcome.model_dump(mode="json")
    return json.dumps({**extra, "outcome": body, "type": tag}, ensure_ascii=False)


def load_outcome(text: str) -> tuple[StepOutcome[Any], dict[str, Any]]:
    """The typed outcome of :func:`dump_outcome` JSON, and the extra fields written with it."""
    data = json.loads(text)
    body, tag = data.pop("outcome"), data.pop("type")
    result = body.pop("result", None)
    outcome = StepOutcome.model_validate(body)
    if result is not None and tag:
        outcome.result = _model(tag).model_validate(result)
    return outcome, data


def _model(tag: str) -> type[BaseModel]:
    module, _, name = tag.partition(":")
    if not module.startswith(_RESULT_MODULES):
        raise ValueError(f"not a result model of this app: {tag!r}")
    found = getattr(importlib.import_module(module), name, None)
    if not (isinstance(found, type) and issubclass(found, BaseModel)):
        raise ValueError(f"not a result model: {tag!r}")
    return found
