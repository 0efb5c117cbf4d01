"""Watched topics: a market report refreshed daily, weekly or monthly on DBOS's own schedules.

``watch add`` stores a DBOS schedule (``watch:<request intent>``) in the
deployment's database; every app process and worker runs DBOS's scheduler,
which starts the workflow :func:`refresh_topic` once per period with the id
``sched-<schedule>-<time>``, so across any number of processes a period's
refresh runs exactly once, and a restart changes nothing. The refresh submits
the topic as a new job through the job service (within the deployment's daily
budget), which opens with what changed since the last report; when the job
ends, ``RESEARCH_WEBHOOK_URL`` receives a small JSON: the topic, the job, its
status and the headline changes. The webhook's address is checked by the same
guard as page fetching (private addresses only with ``RESEARCH_FETCH_PRIVATE``);
a failed post is retried, then logged, and never holds the job back.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import httpx2
from dbos import DBOS, DBOSClient
from pydantic import BaseModel

from research.config import Settings
from research.inputs import MarketRequest
from research.jobs import durable
from research.jobs.engine import APP_NAME, ensure_schema
from research.owners import LOCAL_ID
from research.retrieval.guard import Refused, check_url, guarded_transport
from research.store import database_url_for

_log = logging.getLogger(__name__)
PREFIX = "watch:"
"""The names of the schedules of watched topics start with this."""
WEBHOOK_TIMEOUT = 10.0
"""Seconds a webhook post may take."""
WEBHOOK_ATTEMPTS = 4
"""Posts of one webhook message before it is given up (and logged)."""


class Period(StrEnum):
    """How often a watched topic is refreshed."""

    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"

    @property
    def cron(self) -> str:
        """DBOS's cron expression (seconds first) for the period: at 06:00 UTC, weekly on Mondays, monthly on the 1st."""
        return {Period.DAILY: "0 0 6 * * *", Period.WEEKLY: "0 0 6 * * 1", Period.MONTHLY: "0 0 6 1 * *"}[self]


class WatchOrder(BaseModel):
    """What a schedule passes its refreshes: the request, how often (as set, and as a cron expression), and
    whose the refreshed reports are."""

    request: MarketRequest
    every: str
    cron: str
    created_at: float
    owner: str = LOCAL_ID
    """Who watches the topic (an :class:`research.owners.Owner` id): the refreshed reports are theirs."""


class WatchedTopic(BaseModel):
    """A watched topic as lists show it."""

    topic: str
    every: str
    last_refreshed: str | None = None
    """When its schedule last fired (ISO time, UTC), if it has."""


def schedule_name(request: MarketRequest, owner: str = LOCAL_ID) -> str:
    """The schedule of ``request``'s topic watched by ``owner`` (one per topic and person, whatever its spelling)."""
    return PREFIX + request.intent + ("" if owner == LOCAL_ID else f"\n{owner}")


class Watches:
    """The deployment's watched topics, kept as DBOS schedules in its database (no DBOS launch needed)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._url = database_url_for(settings.data_dir, settings.database_url)

    def _client(self) -> DBOSClient:
        ensure_schema(self.settings)
        return DBOSClient(system_database_url=self._url, application_name=APP_NAME)

    def add(self, request: MarketRequest, every: Period | str, owner: str = LOCAL_ID) -> WatchedTopic:
        """Watch ``request``'s topic ``every`` period (a :class:`Period`, or a cron expression with seconds first,
        e.g. for tests) for ``owner``; watching it again replaces its period."""
        cron = every.cron if isinstance(every, Period) else str(every)
        order = WatchOrder(request=request, every=str(every), cron=cron, created_at=time.time(), owner=owner)
        name = schedule_name(request, owner)
        client = self._client()
        try:
            if client.get_schedule(name) is not None:
                client.delete_schedule(name)
            client.create_schedule(schedule_name=name, workflow_name=REFRESH, schedule=cron,
                                   context=order.model_dump_json())
        finally:
            client.destroy()
        return WatchedTopic(topic=request.topic, every=order.every)

    def remove(self, request: MarketRequest, owner: str = LOCAL_ID) -> bool:
        """Stop ``owner``'s watching ``request``'s topic; False when they did not watch it."""
        name = schedule_name(request, owner)
        client = self._client()
        try:
            if client.get_schedule(name) is None:
                return False
            client.delete_schedule(name)
            return True
        finally:
            client.destroy()

    def watching(self, request: MarketRequest, owner: str = LOCAL_ID) -> WatchedTopic | None:
        """``owner``'s watch of ``request``'s topic, if they watch it."""
        return next((topic for topic in self.list(owner) if MarketRequest.parse(topic.topic).intent == request.intent),
                    None)

    def list(self, owner: str | None = LOCAL_ID) -> list[WatchedTopic]:
        """The topics ``owner`` watches (None: everyone's), in the order they were added."""
        client = self._client()
        try:
            schedules = client.list_schedules(schedule_name_prefix=PREFIX)
        finally:
            client.destroy()
        orders = [(WatchOrder.model_validate_json(s["context"]), s.get("last_fired_at")) for s in schedules]
        return [WatchedTopic(topic=order.request.topic, every=order.every, last_refreshed=fired)
                for order, fired in sorted(orders, key=lambda pair: pair[0].created_at)
                if owner is None or order.owner == owner]


def webhook_message(job_id: str, snapshot: Any) -> dict[str, Any]:
    """The small JSON a webhook receives when a watched topic's report is ready (no report text, no key)."""
    result = getattr(snapshot, "result", None)
    changes = getattr(result, "changes", None)
    headline: dict[str, Any] = {}
    if changes is not None:
        headline = {"since": changes.since, "material": changes.material,
                    "market_size": {"before": changes.market_size.before, "after": changes.market_size.after,
                                    "change_percent": changes.market_size.change_percent,
                                    "note": changes.market_size.note},
                    "competitors_entered": changes.competitors.entered, "competitors_left": changes.competitors.left}
    return {"event": "watched_topic_report", "topic": snapshot.title, "job_id": job_id,
            "link": f"/research?job={job_id}", "status": snapshot.status.value, "changes": headline}


async def post_webhook(url: str, body: str, allow_private: bool, key: str = "") -> int:
    """POST ``body`` (JSON) to ``url`` through the address guard; raises on a refused address or an HTTP error.

    Delivery is at least once: a process that stops after the receiver got the post but before DBOS recorded
    it posts again when the refresh resumes. ``key`` (the job id) goes in the ``Idempotency-Key`` header, so
    a receiver can drop a repeat."""
    await check_url(url, allow_private=allow_private)
    transport = guarded_transport(allow_private=allow_private, max_connections=1)
    async with httpx2.AsyncClient(transport=transport, timeout=WEBHOOK_TIMEOUT, trust_env=False,
                                  follow_redirects=False) as client:
        response = await client.post(url, content=body, headers={"Content-Type": "application/json",
                                                                 **({"Idempotency-Key": key} if key else {})})
    response.raise_for_status()
    return response.status_code


@DBOS.workflow(name="research.refresh")
async def refresh_topic(scheduled_at: dt.datetime, context: str) -> str:
    """One scheduled refresh of a watched topic: a new job on it, then the webhook; returns the job's status."""
    order = WatchOrder.model_validate_json(context)
    host = durable.serving()
    job_id = await DBOS.run_step_async({"name": "submit"}, host.submit_refresh, order.request, order.owner)
    if job_id is None:  # the deployment's daily budget is spent: this period's refresh is skipped
        _log.warning("a watched topic's refresh was skipped: the daily budget is spent")
        return "skipped"
    handle = await DBOS.retrieve_workflow_async(job_id)
    await handle.get_result()
    snapshot = host.snapshot(job_id)
    url = host.settings.webhook_url
    if url and snapshot is not None:
        body = json.dumps(webhook_message(job_id, snapshot), ensure_ascii=False)
        try:
            await DBOS.run_step_async({"name": "webhook", "retries_allowed": True, "max_attempts": WEBHOOK_ATTEMPTS,
                                       "interval_seconds": 1.0, "backoff_rate": 3.0},
                                      post_webhook, url, body, host.settings.fetch_private, job_id)
        except Exception as exc:  # noqa: BLE001 - logged; the job is done whatever the receiver does
            reason = "refused address" if isinstance(exc, Refused) else type(exc).__name__
            _log.warning("the webhook to %s failed after %d attempts (%s)", urlsplit(url).hostname, WEBHOOK_ATTEMPTS,
                         reason)
    return snapshot.status.value if snapshot is not None else "unknown"


REFRESH = "research.refresh"
"""The refresh workflow's name, as schedules name it."""
