"""Load benchmark: many concurrent jobs in one process (``python -m benchmarks --load N``).

Starts the local stub server with the stated latencies, submits N market
jobs at once to one :class:`~research.jobs.service.JobService` (the web
app's service), waits for all of them and prints wall time, completion counts,
requests in flight at the peak and the process's peak memory.
"""

from __future__ import annotations

import resource
import tempfile
import time
from pathlib import Path

from benchmarks.latency import critical_path
from research.config import Settings
from research.inputs import MarketRequest
from research.jobs.service import JobService
from research.store import ReportStore
from tests.support.openai_server import StubOpenAIServer


def run_load_bench(jobs: int, latency: dict[str, float]) -> dict[str, float]:
    """Run ``jobs`` concurrent jobs and return the measured figures."""
    from tests.support.responders import latency_responder

    with tempfile.TemporaryDirectory() as data, StubOpenAIServer(latency_responder(latency)) as server:
        settings = Settings(api_key="bench", base_url=server.base_url, api="chat_completions", model="stub-model")
        runner = JobService(settings, ReportStore(Path(data)), durable=False)
        started = time.perf_counter()
        ids = [runner.submit(MarketRequest.parse(f"load test market {i}"), settings) for i in range(jobs)]
        finished = sum(runner.wait(job_id, 600) for job_id in ids)
        wall = time.perf_counter() - started
        complete = sum(1 for job_id in ids if (s := runner.snapshot(job_id)) and s.status == "complete")
        runner.close()
        in_flight = server.max_in_flight
    return {
        "jobs": jobs, "finished": finished, "complete": complete, "wall": wall, "peak_in_flight": in_flight,
        "rss_peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def print_load_bench(jobs: int, latency: dict[str, float]) -> None:
    """Run the load benchmark and print a Markdown table."""
    f = run_load_bench(jobs, latency)
    critical = critical_path(latency)
    lat = ", ".join(f"{k} {v:g} s" for k, v in latency.items())
    print(f"{jobs} concurrent market jobs in one JobService ({lat})\n")
    print("| Jobs | Complete | Wall time | One job's critical path | Peak requests in flight | Peak RSS (process) |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(f"| {f['jobs']} | {f['complete']}/{f['jobs']} | {f['wall']:.2f} s | {critical:.2f} s | {f['peak_in_flight']} | "
          f"{f['rss_peak_mib']:.0f} MiB |")
    print("\nThe stub server runs in this process too, and streams every section and summary at ~8,000 characters/s "
          "(far faster than real models), so the figure includes its CPU time.")
