"""Finding transcripts that wait for processing but have no live job, and queueing them again.

"No live job": none recorded, one Redis no longer has (or finished or failed), or one "started" by a
worker that stopped beating (it died, or Redis crashed under it).

A transcript can be stored without a job reaching Redis: the API died between its commit and the
enqueue, Redis was down (the upload answered 503), or Redis lost its data. Processing is
idempotent (the worker skips a transcript that is done, and only one result is ever stored), so
queueing a transcript twice never processes it twice. The API sweeps once when it starts, workers
sweep every `recovery_sweep_interval_seconds` (one of them at a time), and `qcoder requeue` sweeps on
demand (see docs/privacy.md, "Faults").
"""
from __future__ import annotations

import logging
from datetime import timedelta, timezone

from redis import Redis
from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from services.shared.config import Settings
from services.shared.db import Database
from services.shared.errors import TransientError
from services.shared.queue import enqueue_transcript
from services.shared.tables import Transcript, utcnow

log = logging.getLogger(__name__)
# Job states in which RQ will still run the job (or retry it) by itself.
LIVE_STATES = frozenset({JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED})
# The Redis key whose expiry paces the periodic sweep of all workers of one installation.
SWEEP_MARKER = "qcoder:recovery-sweep:{queue}"


def requeue_stranded(
    session: Session, redis: Redis, settings: Settings, *, grace_seconds: int | None = None
) -> list[str]:
    """Queue every queued/processing transcript whose job is missing or finished; returns their ids.

    Rows changed within `grace_seconds` (default: the setting recovery_grace_seconds) are left alone:
    an upload commits its transcript a moment before it enqueues the job.
    """
    grace = settings.recovery_grace_seconds if grace_seconds is None else grace_seconds
    cutoff = utcnow() - timedelta(seconds=grace)
    # A running job's worker beats every monitoring interval; three missed beats mean it died.
    stale_after = timedelta(seconds=3 * settings.worker_job_monitoring_interval + 10)
    waiting = session.scalars(
        select(Transcript).where(Transcript.status.in_(("queued", "processing"))).order_by(Transcript.created_at)
    ).all()
    requeued = []
    try:
        for transcript in waiting:
            updated = transcript.updated_at if transcript.updated_at.tzinfo else transcript.updated_at.replace(
                tzinfo=cutoff.tzinfo)
            if updated > cutoff or _job_is_live(redis, transcript.job_id, stale_after):
                continue
            transcript.job_id = enqueue_transcript(settings, redis, transcript.id)
            requeued.append(transcript.id)
    except RedisError as exc:
        raise TransientError(f"Redis is unreachable ({exc}); queue stranded transcripts again when it is back.") from exc
    if requeued:
        log.warning("queued %d stranded transcript(s) again: %s", len(requeued), ", ".join(requeued))
    session.flush()
    return requeued


def _job_is_live(redis: Redis, job_id: str | None, stale_after: timedelta) -> bool:
    """Whether RQ will still run this job: queued or scheduled, or started by a worker that still beats.

    A worker that died just after taking a job (or whose Redis crashed) leaves it "started" until
    RQ's own cleanup, which can wait for the whole job timeout.
    """
    if not job_id:
        return False
    try:
        job = Job.fetch(job_id, connection=redis)
    except NoSuchJobError:
        return False
    status = job.get_status()
    if status == JobStatus.STARTED:
        beat = job.last_heartbeat or job.started_at
        if beat is None:
            return False
        beat = beat if beat.tzinfo else beat.replace(tzinfo=timezone.utc)
        return utcnow() - beat < stale_after
    return status in LIVE_STATES


def sweep(database: Database, redis: Redis, settings: Settings, *, grace_seconds: int | None = None) -> list[str]:
    """One sweep in its own transaction; returns the ids queued again (TransientError when Redis is down)."""
    with database.transaction() as session:
        return requeue_stranded(session, redis, settings, grace_seconds=grace_seconds)


def sweep_if_due(database: Database, redis: Redis, settings: Settings) -> list[str] | None:
    """The periodic sweep: runs unless another process of the installation swept within the interval.

    A marker key that expires after the interval is both the lock and the clock, so N workers
    sweep once per interval between them, not N times. Returns None when it was not this
    process's turn. Never raises: a failed sweep is logged and tried again next interval.
    """
    marker = SWEEP_MARKER.format(queue=settings.queue_name)
    try:
        if not redis.set(marker, "1", nx=True, ex=max(1, settings.recovery_sweep_interval_seconds)):
            return None
        return sweep(database, redis, settings)
    except (RedisError, TransientError, SQLAlchemyError) as exc:
        log.warning("recovery sweep failed (%s); it runs again within %d s", exc, settings.recovery_sweep_interval_seconds)
    except Exception:  # a bug here must not stop the process that hosts the sweep
        log.exception("recovery sweep failed unexpectedly")
    return None
