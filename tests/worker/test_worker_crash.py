"""A worker killed in the middle of a job: a new worker finishes it, exactly once."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from services.shared.config import REPO_ROOT
from services.shared.db import Database
from services.shared.queue import enqueue_transcript, make_redis
from services.shared.tables import ProcessingRun, Quotation, Transcript
from services.shared.uploads import build_transcript, store_transcript
from tests.api.helpers import prepare_database
from tests.support import wait_for

EXAMPLES = REPO_ROOT / "labelled_data" / "transcripts"


def _long_transcript() -> bytes:
    """About 30,000 words of interview, so that processing takes long enough to be interrupted."""
    bodies = []
    for path in sorted(EXAMPLES.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        if text.startswith("---"):
            text = text.split("---", 2)[2]
        bodies.append(text)
    body = "\n".join(bodies)
    while len(body.split()) < 30_000:
        body += "\n" + body
    return body.encode("utf-8")


@pytest.mark.slow
def test_worker_crash_mid_job_is_processed_exactly_once_by_a_new_worker(
    database_url, redis_url, make_settings, workers
) -> None:
    # Short heartbeats and maintenance so the abandoned job is noticed within about a minute.
    settings = make_settings(
        database_url=database_url, redis_url=redis_url,
        worker_job_monitoring_interval=2, worker_maintenance_interval=3, job_retry_intervals_seconds=[1, 1, 1],
        pseudonymise_recogniser="rules", pseudonym_key_secret="c" * 40,
    )
    prepare_database(settings, ("researcher", False))
    database = Database(settings)
    from services.shared.codebook import load_codebook
    from services.shared.privacy import project_pseudonymiser
    from services.shared.projects import create_project
    from services.shared.tables import User

    with database.transaction() as session:
        owner = session.scalar(select(User).where(User.username == "researcher"))
        project = create_project(session, name="crash", owner=owner, codebook=load_codebook(settings.codebook_path),
                                 pseudonymise=True)
        # Stored as an upload stores it: pseudonymised (with the rules recogniser, quick on 30,000 words).
        built = build_transcript(_long_transcript(), "lang.txt", settings,
                                 pseudonymiser=project_pseudonymiser(session, project, settings))
        assert built.pseudonymised
        transcript = store_transcript(session, project, built, owner)
        transcript_id = transcript.id
    redis = make_redis(settings)
    enqueue_transcript(settings, redis, transcript_id)

    def status() -> tuple[str, int]:
        with database.transaction() as session:
            row = session.get(Transcript, transcript_id)
            return row.status, row.attempts

    first = workers.start(settings, name="doomed")
    wait_for(lambda: status()[0] == "processing", timeout=120, interval=0.05, message="the job to start")
    workers.kill(first)
    assert status() == ("processing", 1), "the job finished before the worker could be killed"

    workers.start(settings, name="rescuer")
    wait_for(lambda: status()[0] in ("done", "failed"), timeout=300, interval=0.5, message="the retried job to finish")

    with database.transaction() as session:
        row = session.get(Transcript, transcript_id)
        assert row.status == "done", (row.error_code, row.error_message)
        assert row.attempts == 2
        runs = session.scalar(select(func.count()).select_from(ProcessingRun).where(ProcessingRun.transcript_id == transcript_id))
        assert runs == 1
        run_ids = set(session.scalars(select(Quotation.run_id).where(Quotation.transcript_id == transcript_id)))
        assert run_ids == {row.current_run_id}
    database.dispose()
    redis.close()
