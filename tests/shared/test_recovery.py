"""The recovery sweep where users get it: at API startup (in the background, also with Redis down)
and periodically, by one process of the installation per interval."""
from __future__ import annotations

import logging

import redis
from fastapi.testclient import TestClient
from rq import Queue
from sqlalchemy import select

from services.api.app import create_app
from services.shared.db import Database
from services.shared.recovery import sweep_if_due
from services.shared.tables import Transcript
from tests.api.helpers import store_waiting_transcript

def _stranded(settings, *, pseudonymise: bool = False) -> str:  # noqa: ANN001
    """A transcript stored ten minutes ago whose job never reached Redis."""
    return store_waiting_transcript(settings, pseudonymise=pseudonymise, stored_minutes_ago=10)


def _job_id(settings, transcript_id: str) -> str | None:  # noqa: ANN001
    database = Database(settings)
    with database.transaction() as session:
        job_id = session.scalar(select(Transcript.job_id).where(Transcript.id == transcript_id))
    database.dispose()
    return job_id


def test_periodic_sweep_runs_once_per_interval_between_all_processes(make_settings, redis_url) -> None:
    settings = make_settings(redis_url=redis_url, recovery_sweep_interval_seconds=120)
    transcript_id = _stranded(settings)
    database, connection = Database(settings), redis.Redis.from_url(redis_url)
    # Two workers reaching maintenance at the same moment: one sweeps, the other finds it done.
    first = sweep_if_due(database, connection, settings)
    second = sweep_if_due(database, connection, settings)
    connection.delete(f"qcoder:recovery-sweep:{settings.queue_name}")  # the interval has passed
    third = sweep_if_due(database, connection, settings)

    assert first == [transcript_id] and second is None
    assert third == []  # its job is queued now: live, nothing to do
    assert [job.args[0] for job in Queue(settings.queue_name, connection=connection).get_jobs()] == [transcript_id]
    database.dispose()
    connection.close()


def test_periodic_sweep_survives_redis_being_down(make_settings, caplog) -> None:
    settings = make_settings(redis_url="redis://127.0.0.1:1/0")
    _stranded(settings)
    database, connection = Database(settings), redis.Redis.from_url(settings.redis_url)
    with caplog.at_level(logging.WARNING):
        assert sweep_if_due(database, connection, settings) is None
    assert "recovery sweep failed" in caplog.text
    database.dispose()


def test_api_startup_queues_stranded_transcripts_in_the_background(make_settings, redis_url) -> None:
    settings = make_settings(redis_url=redis_url, pseudonymise_recogniser="rules")
    transcript_id = _stranded(settings, pseudonymise=True)

    with TestClient(create_app(settings)) as client:
        assert client.get("/health").status_code == 200
        startup = client.app.state.startup_tasks
        startup.join(timeout=120)
        job_id = _job_id(settings, transcript_id)

    assert startup.requeued == [transcript_id] and job_id is not None
    queued = Queue(settings.queue_name, connection=redis.Redis.from_url(redis_url)).get_jobs()
    assert [job.id for job in queued] == [job_id]
    # A project pseudonymises, so the recogniser uploads share was loaded at startup.
    assert startup.recogniser_loaded


def test_api_starts_while_redis_is_down(make_settings, caplog) -> None:
    settings = make_settings(redis_url="redis://127.0.0.1:1/0", pseudonymise_recogniser="rules")
    transcript_id = _stranded(settings)

    with caplog.at_level(logging.WARNING), TestClient(create_app(settings)) as client:
        assert client.get("/health").status_code == 200
        startup = client.app.state.startup_tasks
        startup.join(timeout=120)

    assert startup.requeued is None and "startup recovery sweep skipped" in caplog.text
    assert not startup.recogniser_loaded  # no project pseudonymises: nothing to preload
    assert _job_id(settings, transcript_id) is None
