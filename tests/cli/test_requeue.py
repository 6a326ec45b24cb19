"""`qcoder requeue`: the recovery sweep on demand, as an operator runs it after an outage."""
from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import redis
from rq import Queue
from sqlalchemy import select, update

from services.shared.codebook import load_codebook
from services.shared.config import REPO_ROOT
from services.shared.db import Database
from services.shared.projects import create_project
from services.shared.tables import Transcript, User, utcnow
from services.shared.uploads import build_transcript, store_transcript
from tests.api.helpers import SHORT_INTERVIEW, prepare_database, store_waiting_transcript
from tests.support import settings_env


def _requeue(settings, *args: str) -> subprocess.CompletedProcess:  # noqa: ANN001
    return subprocess.run([sys.executable, "-m", "services.cli.main", "requeue", *args], cwd=REPO_ROOT,
                          env=settings_env(settings), capture_output=True, text=True, timeout=300)


def test_requeue_queues_stranded_transcripts_once_and_prints_them(make_settings, redis_url) -> None:
    settings = make_settings(redis_url=redis_url)
    prepare_database(settings, ("owner", False))
    database = Database(settings)
    with database.transaction() as session:
        owner = session.scalar(select(User).where(User.username == "owner"))
        project = create_project(session, name="p", owner=owner, codebook=load_codebook(settings.codebook_path),
                                 pseudonymise=False)
        ids = {status: store_transcript(session, project, build_transcript(SHORT_INTERVIEW, f"{status}.txt", settings),
                                        owner).id for status in ("queued", "processing", "done", "fresh")}
        for status, transcript_id in ids.items():
            # Stored ten minutes ago without a job: as if the API died between commit and enqueue.
            age = timedelta(seconds=5) if status == "fresh" else timedelta(minutes=10)
            session.execute(update(Transcript).where(Transcript.id == transcript_id).values(
                status="queued" if status == "fresh" else status, updated_at=utcnow() - age))
    database.dispose()

    first = _requeue(settings, "--grace-seconds", "60")
    again = _requeue(settings, "--grace-seconds", "60")

    assert first.returncode == 0, first.stderr
    assert sorted(first.stdout.split()) == sorted([ids["queued"], ids["processing"]])
    assert "queued 2 stranded transcript(s) again" in first.stderr
    assert again.returncode == 0 and again.stdout == "", again.stdout  # their jobs are queued now: live
    queue = Queue(settings.queue_name, connection=redis.Redis.from_url(redis_url))
    assert sorted(job.args[0] for job in queue.get_jobs()) == sorted([ids["queued"], ids["processing"]])


def test_requeue_without_redis_is_a_clear_error(make_settings) -> None:
    settings = make_settings(redis_url="redis://127.0.0.1:1/0")
    prepare_database(settings)

    result = _requeue(settings)

    # Nothing waits, so Redis is never asked; with a waiting transcript it must fail clearly.
    assert result.returncode == 0 and "queued 0" in result.stderr
    store_waiting_transcript(settings, stored_minutes_ago=10)

    failed = _requeue(settings)

    assert failed.returncode == 2 and "Redis is unreachable" in failed.stderr, failed.stderr
