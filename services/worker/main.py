"""The worker process: preload models, then take transcript jobs from Redis."""
from __future__ import annotations

import logging

from rq import Worker

from services.shared.config import Settings
from services.shared.db import Database
from services.shared.queue import make_queue, make_redis
from services.shared.recovery import sweep_if_due
from services.worker.runtime import WorkerRuntime, set_runtime

log = logging.getLogger(__name__)


class SweepingWorker(Worker):
    """An RQ worker whose maintenance also runs the recovery sweep when it is due (one worker at a time)."""

    def __init__(self, *args, settings: Settings | None = None, **kwargs) -> None:  # noqa: ANN002, ANN003
        # RQ builds instances itself too (Worker.find_by_key); those only describe workers and never sweep.
        super().__init__(*args, **kwargs)
        self.settings = settings

    def run_maintenance_tasks(self) -> None:
        """RQ's maintenance, then the recovery sweep if no other process ran it within the interval."""
        super().run_maintenance_tasks()
        if self.settings is None:
            return
        # A database handle of its own, closed right after: the job processes this worker forks
        # must not inherit open connections.
        database = Database(self.settings)
        try:
            sweep_if_due(database, self.connection, self.settings)
        finally:
            database.dispose()


def run_worker(settings: Settings, *, burst: bool = False, name: str | None = None) -> bool:
    """Load models once, then process jobs until stopped (or until the queue is empty with burst)."""
    runtime = WorkerRuntime(settings)
    runtime.preload()
    set_runtime(runtime)
    # Forked job processes inherit the loaded models; they must not inherit pooled DB connections.
    runtime.database.dispose()
    connection = make_redis(settings)
    worker = SweepingWorker(
        [make_queue(settings, connection)],
        connection=connection,
        name=name,
        job_monitoring_interval=settings.worker_job_monitoring_interval,
        maintenance_interval=settings.worker_maintenance_interval,
        # An idle worker only runs maintenance (and so finds jobs of dead workers) when its blocking
        # dequeue times out, after worker_ttl - 15 seconds: make that the maintenance interval.
        worker_ttl=settings.worker_maintenance_interval + 15,
        settings=settings,
    )
    log.info("worker %s listening on queue %s", worker.name, settings.queue_name)
    return worker.work(burst=burst, with_scheduler=True, logging_level="INFO")
