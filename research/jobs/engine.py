"""DBOS Transact for this process: configured once, launched on the loop that runs the jobs.

The workflow state lives in the same database as the report history: a
SQLite file in the data folder by default, or the Postgres database of
``RESEARCH_DATABASE_URL`` shared by several app processes. Each process has a
stable executor id (``RESEARCH_WORKER_ID``); when it restarts with the same
id, DBOS hands it back the jobs it was running. The application version is
pinned (:data:`APP_VERSION`), so a code change does not strand pending jobs;
bump it only when the job or step workflows change in a way an older
recorded run cannot replay.

Model requests wait in the provider queue (:data:`PROVIDER_QUEUE`) when the
limit must hold across processes: a shared database, or a rate limit. A
single process on its own database limits them in memory instead
(:class:`~research.jobs.slots.ProviderSlots`), so a freed slot goes to the
next step at once rather than at the queue's next poll. Through the queue, a
slot a queued step frees passes to the process's next step in memory too, while
nothing waits in the queue (:mod:`research.jobs.lending`).
"""

from __future__ import annotations

import logging
import uuid
from enum import StrEnum

import sqlalchemy as sa
from dbos import DBOS, DBOSConfig, Queue

from research.config import Settings
from research.logs import route_library_logs
from research.store import database_url_for

APP_NAME = "market-research"
APP_VERSION = "research-jobs-4"
"""4: no "began" step (a job's start is its order's); 3: each graph step is a step of the job's own workflow at a
reserved place; 2: plain JSON (1 pickled)."""
PROVIDER_QUEUE = "research-provider"
"""The queue every model-calling step waits in when the limit is deployment-wide."""
QUEUE_POLL_SECONDS = 0.01
"""How often each process looks for queued steps it may start (a small read; it bounds a step's start delay)."""
RESULT_POLL_SECONDS = 0.1
"""How often a job looks for the outcome of a step another process runs."""
LISTENER_POLL_SECONDS = 0.05
"""The pause of DBOS's notification thread on SQLite (it reads only while something waits for a notification);
stopping DBOS waits for it, so the default of a second made every command line run half a second longer."""
SCHEDULE_POLL_SECONDS = 2.0
"""How soon a process's scheduler sees a topic just watched (or no longer watched) elsewhere."""
BOOT_ID = uuid.uuid4().hex
"""This process's run: a step or job that recorded another boot id was running before a restart."""


class RunState(StrEnum):
    """A job's or step's state as DBOS records it (the values are DBOS's own status strings)."""

    PENDING = "PENDING"
    ENQUEUED = "ENQUEUED"
    DELAYED = "DELAYED"
    SUCCESS = "SUCCESS"
    ERROR = "ERROR"
    CANCELLED = "CANCELLED"
    MAX_RECOVERY_ATTEMPTS_EXCEEDED = "MAX_RECOVERY_ATTEMPTS_EXCEEDED"

    @property
    def unfinished(self) -> bool:
        """True while DBOS will still run it (now, later, or after a restart)."""
        return self in (RunState.PENDING, RunState.ENQUEUED, RunState.DELAYED)


def dbos_config(settings: Settings) -> DBOSConfig:
    """The DBOS configuration for ``settings`` (database, executor id, pinned version, quiet logs)."""
    return DBOSConfig(name=APP_NAME, system_database_url=database_url_for(settings.data_dir, settings.database_url),
                      application_version=APP_VERSION, executor_id=settings.worker_id, log_level="WARNING",
                      notification_listener_polling_interval_sec=LISTENER_POLL_SECONDS,
                      scheduler_polling_interval_sec=SCHEDULE_POLL_SECONDS)


def ensure_schema(settings: Settings) -> None:
    """Create DBOS's tables in the deployment's database if no process has yet (e.g. ``watch add`` on a fresh
    data folder): DBOS is launched once with its own executor id, listening to no queue, and stopped."""
    engine = sa.create_engine(database_url_for(settings.data_dir, settings.database_url))
    schema = "dbos" if engine.dialect.name == "postgresql" else None
    try:
        with engine.connect() as conn:
            names = set(sa.inspect(conn).get_table_names(schema=schema))
    finally:
        engine.dispose()
    if "workflow_schedules" in names:
        return
    DBOS(config={**dbos_config(settings), "executor_id": f"{settings.worker_id}-setup"})
    DBOS.listen_queues([])
    DBOS.launch()
    DBOS.destroy(destroy_registry=False)


def deployment_wide(settings: Settings) -> bool:
    """True when model requests must wait in the provider queue: the limit holds across processes.

    A shared database (several replicas) needs one cap for all of them; a rate
    limit is counted by the queue. Otherwise the process's own slots suffice.
    """
    return bool(settings.database_url or settings.rate_limit)


def lends_slots(settings: Settings) -> bool:
    """True when a queued step's slot may pass to this process's next step in memory (:mod:`research.jobs.lending`):
    the limit is deployment-wide and not a rate limit, which the queue must count request by request."""
    return deployment_wide(settings) and not settings.rate_limit


class DurableEngine:
    """DBOS for one process. :meth:`start` on the jobs' loop; :meth:`close` when the process ends."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.started = False
        self.queue: Queue | None = None

    async def start(self, *, serve_schedules: bool = True) -> None:
        """Launch DBOS on the running loop: it recovers this worker's unfinished jobs and serves the queue.

        The workflows must be registered first (importing :mod:`research.jobs.durable` does it).

        The loop it is started on runs every job and step workflow, recovered or
        dequeued, so steps share the loop's HTTP clients.
        """
        DBOS(config=dbos_config(self.settings))
        route_library_logs(self.settings.data_dir)  # DBOS's own console handler is replaced by the log file
        _drop_console_handlers()
        if not serve_schedules:  # a one-off command: scheduled refreshes are for the app and the workers
            DBOS.listen_queues([PROVIDER_QUEUE])
        DBOS.launch()  # on this loop: DBOS sends recovered and dequeued workflows here
        self.started = True
        if not deployment_wide(self.settings):
            return  # no queue to poll: this process's own slots hold its requests (the database stays quiet)
        limiter = {"limit": self.settings.rate_limit, "period": 60.0} if self.settings.rate_limit else None
        # Stored in the database and read by every process: the last process started sets the limits.
        self.queue = await DBOS.register_queue_async(
            PROVIDER_QUEUE, global_concurrency=self.settings.max_concurrency,
            worker_concurrency=self.settings.worker_concurrency, limiter=limiter,  # type: ignore[arg-type]
            partition_concurrency=self.settings.user_concurrency,  # one person's share; partitions: owners
            polling_interval_sec=QUEUE_POLL_SECONDS, on_conflict="always_update")

    def close(self) -> None:
        """Stop DBOS (unfinished jobs stay recorded, to be recovered by the next start)."""
        if self.started:
            DBOS.destroy(destroy_registry=False)
            self.started = False


def _drop_console_handlers() -> None:
    logger = logging.getLogger("dbos")
    for handler in [h for h in logger.handlers if not getattr(h, "_research", False)]:
        logger.removeHandler(handler)
