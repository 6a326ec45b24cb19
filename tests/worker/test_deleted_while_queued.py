"""A transcript deleted while its job waits in the queue: the job ends cleanly (no failure, no retry,
nothing written), and the worker goes on with the next job."""
from __future__ import annotations

import redis
from rq import SimpleWorker
from rq.job import Job, JobStatus
from sqlalchemy import func, select

from services.shared.db import Database
from services.shared.deletion import delete_transcript
from services.shared.queue import enqueue_transcript, make_queue
from services.shared.tables import EmbeddingCacheEntry, Transcript
from services.worker.runtime import WorkerRuntime, set_runtime
from tests.api.helpers import store_waiting_transcript


def test_job_of_a_transcript_deleted_while_queued_ends_cleanly(database_url, redis_url, make_settings) -> None:
    settings = make_settings(database_url=database_url, redis_url=redis_url, segmenter="rules")
    transcript_id = store_waiting_transcript(settings)
    database = Database(settings)
    connection = redis.Redis.from_url(redis_url)
    job_id = enqueue_transcript(settings, connection, transcript_id)
    with database.transaction() as session:
        delete_transcript(session, session.get(Transcript, transcript_id), settings)

    set_runtime(WorkerRuntime(settings))
    try:
        worker = SimpleWorker([make_queue(settings, connection)], connection=connection)
        worked = worker.work(burst=True)
    finally:
        set_runtime(None)

    job = Job.fetch(job_id, connection=connection)
    assert worked and job.get_status() == JobStatus.FINISHED
    assert job.return_value() == {"transcript_id": transcript_id, "status": "deleted", "skipped": True}
    with database.transaction() as session:
        assert session.get(Transcript, transcript_id) is None
        assert session.scalar(select(func.count()).select_from(EmbeddingCacheEntry)) == 0  # nothing was embedded
    database.dispose()
    connection.close()
