"""The command line's jobs, run durably: a job killed with its process finishes with ``--resume``.

``python -m research TOPIC`` runs its job as a DBOS workflow in the data
folder's database (or ``RESEARCH_DATABASE_URL``'s), and records it in the
history like the web app does. If the process dies, ``python -m research
--resume`` (same data folder and ``RESEARCH_WORKER_ID``) picks up every job
this worker left unfinished, keeps the steps that had finished, runs the
rest, and writes the reports. The caller closes the engine
(:func:`research.durable.engine.close_engine`) once the loop has ended.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from research.config import Settings
from research.core.steps import EventSink
from research.durable.host import Attachment, DurableJob, without_secrets
from research.inputs import CompanyRequest, MarketRequest
from research.providers.source import open_models
from research.store import ReportStore, new_job_id
from research.workflows import JobResult

Request = MarketRequest | CompanyRequest


@dataclass
class CommandLineHost:
    """The host of the command line's durable jobs: progress on stderr, results in the history."""

    settings: Settings
    store: ReportStore
    progress: Callable[[Request], EventSink]
    cancel: asyncio.Event
    err: TextIO = sys.stderr
    results: dict[str, JobResult] = field(default_factory=dict)
    resumed: list[str] = field(default_factory=list)

    def with_secrets(self, settings: Settings) -> Settings:
        """``settings`` with this process's API keys."""
        return settings.with_changes(api_key=self.settings.api_key, tavily_key=self.settings.tavily_key)

    async def attach(self, job: DurableJob, resumed: bool) -> Attachment:
        """Show the job's progress; say so when it was resumed after a restart."""
        if resumed:
            self.resumed.append(job.id)
            print(f"research: resumed after a restart: {job.request.title} (job {job.id})", file=self.err)
        return Attachment(self.progress(job.request), self.cancel)

    async def finished(self, job: DurableJob, result: Any) -> None:
        """Keep the result for the caller and in the history."""
        self.results[job.id] = result
        await asyncio.to_thread(self.store.record_finished, job.id, status=result.status,
                                finished_at=result.finished_at, result_json=result.model_dump_json(),
                                elapsed=result.elapsed)


async def run_durably(host: CommandLineHost, request: Request) -> JobResult:
    """Run ``request`` as a durable job of this worker and return its result.

    Raises :class:`research.config.ConfigError` before any request when no model can be selected.
    """
    from research.durable.engine import start_engine
    from research.durable.workflows import cancel_job, run_job

    source = await open_models(host.settings)  # the configuration is checked before anything is recorded
    await source.aclose()
    await start_engine(host.settings, host)
    job = DurableJob(new_job_id(), request, without_secrets(host.settings))
    await asyncio.to_thread(host.store.record_started, job.id, kind=request.kind, topic=request.title,
                                provider=source.label, model=source.model_name, demo=source.is_demo,
                                created_at=time.time(), worker=host.settings.worker_id)
    print(f"research: job {job.id} (if this process stops, `python -m research --resume` finishes it)",
          file=host.err)
    waiter = asyncio.ensure_future(host.cancel.wait())
    runner = asyncio.ensure_future(run_job(job))
    await asyncio.wait({waiter, runner}, return_when=asyncio.FIRST_COMPLETED)
    if waiter.done() and not runner.done():
        cancel_job(job.id)  # recorded: this job is never resumed
    waiter.cancel()
    await runner
    return host.results[job.id]


async def serve(host: CommandLineHost) -> None:
    """Work for the deployment until ``host.cancel`` is set: this worker's unfinished jobs, and queued steps."""
    from research.durable.engine import start_engine

    await start_engine(host.settings, host)
    print(f"research: worker {host.settings.worker_id} ready: resuming its unfinished jobs and serving the "
          "provider queue (Ctrl-C stops)", file=host.err, flush=True)
    await host.cancel.wait()


async def resume(host: CommandLineHost) -> list[JobResult]:
    """Finish every job this worker left unfinished; their results, in the order they finish."""
    from dbos import DBOS

    from research.durable.engine import start_engine
    from research.durable.workflows import unfinished_jobs

    await start_engine(host.settings, host)
    ids = await unfinished_jobs(worker=host.settings.worker_id)
    for job_id in ids:
        handle = await DBOS.retrieve_workflow_async(job_id)
        await handle.get_result()
    return [host.results[job_id] for job_id in ids if job_id in host.results]
