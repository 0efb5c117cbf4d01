"""DBOS Transact for this process: configured once, launched on the loop that runs the jobs.

The workflow state lives in the same database as the report history: a
SQLite file in the data folder by default, or the Postgres database of
``RESEARCH_DATABASE_URL`` shared by several app processes. Each process has a
stable executor id (``RESEARCH_WORKER_ID``); when it restarts with the same
id, DBOS hands it back the jobs it was running. The application version is
pinned (:data:`APP_VERSION`), so a code change does not strand pending jobs;
bump it only when the job or step workflows change in a way an older
recorded run cannot replay.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid

from dbos import DBOS, DBOSConfig, Queue

from research.config import Settings
from research.durable.host import JobHost, set_host
from research.logs import route_library_logs
from research.store import database_url_for

APP_NAME = "market-research"
APP_VERSION = "research-jobs-1"
PROVIDER_QUEUE = "research-provider"
"""The queue every model-calling step waits in: one concurrency cap and rate limit for the whole deployment."""
QUEUE_POLL_SECONDS = 0.01
"""How often each process looks for queued steps it may start (a small read; it bounds a step's start delay)."""
BOOT_ID = uuid.uuid4().hex
"""This process's run: a step or job that recorded another boot id was running before a restart."""


def dbos_config(settings: Settings) -> DBOSConfig:
    """The DBOS configuration for ``settings`` (database, executor id, pinned version, quiet logs)."""
    return DBOSConfig(name=APP_NAME, system_database_url=database_url_for(settings.data_dir, settings.database_url),
                      application_version=APP_VERSION, executor_id=settings.worker_id, log_level="WARNING")


class DurableEngine:
    """DBOS for one process. :meth:`start` on the jobs' loop; :meth:`close` when the process ends."""

    def __init__(self, settings: Settings, host: JobHost) -> None:
        self.settings = settings
        self.host = host
        self.started = False
        self.queue: Queue | None = None

    async def start(self) -> None:
        """Launch DBOS on the running loop: it recovers this worker's unfinished jobs and serves the queue.

        The loop it is started on runs every job and step workflow, recovered or
        dequeued, so steps share the loop's HTTP clients.
        """
        import research.durable.workflows  # noqa: F401 - registers the workflows, once per process

        set_host(self.host)
        DBOS(config=dbos_config(self.settings))
        route_library_logs(self.settings.data_dir)  # DBOS's own console handler is replaced by the log file
        _drop_console_handlers()
        DBOS.launch()  # on this loop: DBOS sends recovered and dequeued workflows here
        limiter = {"limit": self.settings.rate_limit, "period": 60.0} if self.settings.rate_limit else None
        # Stored in the database and read by every process: the last process started sets the limits.
        self.queue = await DBOS.register_queue_async(
            PROVIDER_QUEUE, global_concurrency=self.settings.max_concurrency,
            worker_concurrency=self.settings.worker_concurrency, limiter=limiter,  # type: ignore[arg-type]
            polling_interval_sec=QUEUE_POLL_SECONDS, on_conflict="always_update")
        await _until_serving(PROVIDER_QUEUE)
        self.started = True
        global _engine
        _engine = self

    def close(self) -> None:
        """Stop DBOS (unfinished jobs stay recorded, to be recovered by the next start)."""
        global _engine
        if self.started:
            DBOS.destroy(destroy_registry=False)
            self.started = False
        _engine = None
        set_host(None)


_engine: DurableEngine | None = None


def provider_queue() -> Queue:
    """The provider queue of the started engine."""
    if _engine is None or _engine.queue is None:
        raise RuntimeError("the durable engine is not started")
    return _engine.queue


def close_engine() -> None:
    """Close the started engine, if any (call it off the loop it was started on, once that loop is done)."""
    if _engine is not None:
        _engine.close()


async def _until_serving(queue: str, seconds: float = 3.0) -> None:
    """Wait (bounded) until DBOS's thread for ``queue`` runs: a new queue is picked up within a second."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(thread.name == f"queue-worker-{queue}" for thread in threading.enumerate()):
            return
        await asyncio.sleep(0.02)


def _drop_console_handlers() -> None:
    logger = logging.getLogger("dbos")
    for handler in [h for h in logger.handlers if not getattr(h, "_research", False)]:
        logger.removeHandler(handler)


async def start_engine(settings: Settings, host: JobHost) -> DurableEngine:
    """Create and start the engine on the running loop."""
    engine = DurableEngine(settings, host)
    await engine.start()
    return engine
