"""Enqueueing work for the workers; the web process never imports worker code."""
from __future__ import annotations

import uuid

from redis import Redis
from rq import Callback, Queue, Retry

from services.shared.config import Settings

PROCESS_TRANSCRIPT = "services.worker.tasks.process_transcript"
ON_FAILURE = "services.worker.tasks.on_job_failure"
# Job records in Redis: results for a week (status pages), failures a month (time to investigate).
RESULT_TTL_SECONDS = 7 * 24 * 3600
FAILURE_TTL_SECONDS = 30 * 24 * 3600


def make_redis(settings: Settings) -> Redis:
    """Connect to the Redis named in the settings."""
    return Redis.from_url(settings.redis_url)


def make_queue(settings: Settings, connection: Redis) -> Queue:
    """The queue transcripts are processed from."""
    return Queue(settings.queue_name, connection=connection)


def enqueue_transcript(settings: Settings, connection: Redis, transcript_id: str) -> str:
    """Enqueue processing of one transcript by dotted name; returns the job id."""
    job_id = f"transcript-{transcript_id}-{uuid.uuid4().hex[:8]}"
    make_queue(settings, connection).enqueue(
        PROCESS_TRANSCRIPT,
        transcript_id,
        job_id=job_id,
        job_timeout=settings.job_timeout_seconds,
        retry=Retry(max=settings.job_retries, interval=settings.job_retry_intervals_seconds),
        result_ttl=RESULT_TTL_SECONDS,
        failure_ttl=FAILURE_TTL_SECONDS,
        on_failure=Callback(ON_FAILURE),
        description=f"process transcript {transcript_id}",
    )
    return job_id


RETRAIN_MODEL = "services.worker.retrain.retrain_model"


def enqueue_training(settings: Settings, connection: Redis, training_run_id: str) -> str:
    """Enqueue a retraining job by dotted name; returns the job id (not retried: a failed run is recorded)."""
    job_id = f"training-{training_run_id}"
    make_queue(settings, connection).enqueue(
        RETRAIN_MODEL,
        training_run_id,
        job_id=job_id,
        job_timeout=settings.job_timeout_seconds,
        result_ttl=RESULT_TTL_SECONDS,
        failure_ttl=FAILURE_TTL_SECONDS,
        description=f"retrain model for training run {training_run_id}",
    )
    return job_id
