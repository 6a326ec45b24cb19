"""What the API does once when it starts, in a background thread so that /health answers at once:
queue transcripts that an earlier crash left without a job, and load the pseudonymisation recogniser."""
from __future__ import annotations

import logging
import threading
import time

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import exists, select
from sqlalchemy.exc import SQLAlchemyError

from services.shared.config import Settings
from services.shared.db import Database
from services.shared.errors import TransientError
from services.shared.privacy import get_recogniser
from services.shared.recovery import sweep
from services.shared.tables import Project

log = logging.getLogger(__name__)


class StartupTasks(threading.Thread):
    """The startup sweep and the recogniser preload in a daemon thread, remembering what they did."""

    def __init__(self, database: Database, redis: Redis, settings: Settings) -> None:
        super().__init__(name="qcoder-api-startup", daemon=True)
        self.database, self.redis, self.settings = database, redis, settings
        self.requeued: list[str] | None = None  # None: the sweep could not run
        self.recogniser_loaded = False

    def run(self) -> None:
        """Sweep first (quick, and work may be waiting), then load the recogniser."""
        try:
            self.requeued = sweep_at_startup(self.database, self.redis, self.settings)
            self.recogniser_loaded = preload_recogniser(self.database, self.settings)
        except Exception:  # the API serves without both; a bug here must not go unnoticed, nor stop it
            log.exception("an API startup task failed")


def start_startup_tasks(database: Database, redis: Redis, settings: Settings) -> StartupTasks:
    """Start the startup tasks beside the first requests; returns the running thread."""
    tasks = StartupTasks(database, redis, settings)
    tasks.start()
    return tasks


def sweep_at_startup(database: Database, redis: Redis, settings: Settings) -> list[str] | None:
    """Queue stranded transcripts once; None (with a warning) when Redis or the database is unreachable."""
    try:
        requeued = sweep(database, redis, settings)
    except (TransientError, RedisError, SQLAlchemyError) as exc:
        log.warning("startup recovery sweep skipped (%s); the workers sweep every %d s", exc,
                    settings.recovery_sweep_interval_seconds)
        return None
    log.info("startup recovery sweep: %d transcript(s) queued again", len(requeued))
    return requeued


def preload_recogniser(database: Database, settings: Settings) -> bool:
    """Load the recogniser uploads will share (deduce takes seconds), if any project pseudonymises.

    Without such a project (a fresh installation, most tests) nothing is loaded: the first
    pseudonymising upload loads it then.
    """
    try:
        with database.transaction() as session:
            needed = session.scalar(select(exists().where(Project.pseudonymise.is_(True))))
    except SQLAlchemyError as exc:
        log.warning("could not check for pseudonymising projects (%s); loading the recogniser anyway", exc)
        needed = True
    if not needed:
        return False
    started = time.perf_counter()
    get_recogniser(settings)
    log.info("pseudonymisation recogniser %s loaded in %.1f s", settings.pseudonymise_recogniser,
             time.perf_counter() - started)
    return True
