"""Helpers tests import: child-process settings, real worker processes, polling."""
from __future__ import annotations

import os
import uuid
from pathlib import Path

from services.shared.config import REPO_ROOT, Settings


def settings_env(settings: Settings) -> dict[str, str]:
    """Environment variables that make a child process (worker, CLI) use the same settings."""
    env = dict(os.environ)
    env.update(
        {
            "QCODER_DATABASE_URL": settings.database_url,
            "QCODER_REDIS_URL": settings.redis_url,
            "QCODER_QUEUE_NAME": settings.queue_name,
            "QCODER_DATA_DIR": str(settings.data_dir),
            "QCODER_MODELS_DIR": str(settings.models_dir),
            # The retrain job reads the base labelled data and codebook, and segments like the test.
            "QCODER_LABELLED_DATA_DIR": str(settings.labelled_data_dir),
            "QCODER_CODEBOOK_PATH": str(settings.codebook_path),
            "QCODER_SEGMENTER": settings.segmenter,
            "QCODER_WORKER_JOB_MONITORING_INTERVAL": str(settings.worker_job_monitoring_interval),
            "QCODER_WORKER_MAINTENANCE_INTERVAL": str(settings.worker_maintenance_interval),
            "QCODER_RECOVERY_SWEEP_INTERVAL_SECONDS": str(settings.recovery_sweep_interval_seconds),
            "QCODER_RECOVERY_GRACE_SECONDS": str(settings.recovery_grace_seconds),
            # Workers enqueue too (the recovery sweep), so they need the test's retry policy.
            "QCODER_JOB_RETRIES": str(settings.job_retries),
            "QCODER_JOB_RETRY_INTERVALS_SECONDS": "[" + ",".join(map(str, settings.job_retry_intervals_seconds)) + "]",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if settings.model_version:
        env["QCODER_MODEL_VERSION"] = settings.model_version
    return env


def descendants(pid: int) -> list[int]:
    """All processes below `pid`, read from /proc (children first found, deepest last)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, frontier = [], [pid]
    while frontier:
        children = parents.get(frontier.pop(), [])
        found.extend(children)
        frontier.extend(children)
    return found


class WorkerProcesses:
    """Real `qcoder worker` processes started by a test; all are killed at teardown."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.processes: list = []

    def start(self, settings: Settings, name: str | None = None):  # noqa: ANN201
        """Start a worker for `settings` in its own process group (so it can be killed whole)."""
        import subprocess
        import sys

        name = name or f"w{len(self.processes)}-{uuid.uuid4().hex[:6]}"
        log = open(self.log_dir / f"worker-{name}.log", "wb")  # noqa: SIM115 - closed at teardown
        process = subprocess.Popen(
            [sys.executable, "-m", "services.cli.main", "worker", "--name", name],
            env=settings_env(settings), stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=REPO_ROOT,
        )
        process.log_file = log
        process.log_path = self.log_dir / f"worker-{name}.log"
        self.processes.append(process)
        return process

    def kill(self, process) -> None:  # noqa: ANN001
        """SIGKILL the worker and its job process (RQ's work horse runs in a session of its own), as a crash would."""
        import signal

        for pid in [*descendants(process.pid), process.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
        process.wait(timeout=30)

    def stop_all(self) -> None:
        """Kill every worker still running and close their logs."""
        for process in self.processes:
            self.kill(process)
            process.log_file.close()


def wait_for(predicate, *, timeout: float, interval: float = 0.2, message: str = "condition"):  # noqa: ANN001, ANN201
    """Poll `predicate` until it returns a truthy value or `timeout` seconds pass."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def run_queued_jobs(settings: Settings, runtime=None) -> None:  # noqa: ANN001 - a WorkerRuntime
    """Run every queued job with RQ's own job execution (SimpleWorker, burst) in this process, then return.

    `runtime` replaces the worker runtime (e.g. one with a test embedder); by default a fresh one is
    built and closed afterwards."""
    from rq import SimpleWorker

    from services.shared.queue import make_queue, make_redis
    from services.worker.runtime import WorkerRuntime, set_runtime

    own_runtime = runtime is None
    runtime = WorkerRuntime(settings) if own_runtime else runtime
    redis = make_redis(settings)
    set_runtime(runtime)
    try:
        SimpleWorker([make_queue(settings, redis)], connection=redis).work(burst=True)
    finally:
        set_runtime(None)
        redis.close()
        if own_runtime:
            runtime.database.dispose()
