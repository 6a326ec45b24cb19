"""RQ jobs. Each takes ids only, opens its own session and loads models through the runtime."""
from __future__ import annotations

import logging

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import get_current_job
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, OperationalError

from services.shared.errors import QcoderError, TransientError
from services.shared.tables import Transcript
from services.worker.pipeline import ProgressCallback, analyse
from services.worker.runtime import WorkerRuntime, get_runtime
from services.worker.store import claim_transcript, mark_failed, store_analysis

log = logging.getLogger(__name__)

# Only these are retried by RQ; anything else marks the transcript failed with its reason.
TRANSIENT_ERRORS = (OperationalError, RedisConnectionError, RedisTimeoutError, TransientError)


def _report_progress(stage: str, percent: int) -> None:
    job = get_current_job()
    if job is None:
        return
    job.meta["stage"] = stage
    job.meta["progress"] = percent
    job.save_meta()


def process_transcript(transcript_id: str) -> dict:
    """RQ job: process one stored transcript, reporting progress in job.meta."""
    job = get_current_job()
    return run_transcript(get_runtime(), transcript_id, job_id=job.id if job else None, progress=_report_progress)


def run_transcript(
    runtime: WorkerRuntime, transcript_id: str, *, job_id: str | None = None, progress: ProgressCallback | None = None
) -> dict:
    """Segment, embed and classify one stored transcript and store its quotations in one transaction.

    A re-run's chosen model version (`Transcript.requested_model_version`) overrides the project's pin
    and the registry.
    Transient errors propagate (RQ retries them); domain errors and bugs mark the transcript failed.
    """
    report = progress or (lambda _stage, _pct: None)
    database = runtime.database
    try:
        with database.transaction() as session:
            # Claim first, read after, in one transaction: the claim locks the row, so the text and
            # turns are those a missed-name replacement or a deletion left, never a read made before.
            if not claim_transcript(session, transcript_id, job_id):
                if session.scalar(select(Transcript.id).where(Transcript.id == transcript_id)) is None:
                    log.info("transcript %s was deleted before it was processed; nothing to do", transcript_id)
                    return {"transcript_id": transcript_id, "status": "deleted", "skipped": True}
                log.info("transcript %s is already processed; nothing to do", transcript_id)
                return {"transcript_id": transcript_id, "status": "done", "skipped": True}
            transcript = session.get(Transcript, transcript_id)
            requested_version = transcript.requested_model_version or transcript.project.model_version
            project_id = transcript.project_id
            text = transcript.text
            turns = list(transcript.turns)
            session.expunge_all()
        report("parse", 5)

        model = runtime.model(requested_version, project_id)
        embedder = runtime.embedder_for(model)
        result = analyse(text, turns, segmenter=runtime.segmenter, embedder=embedder, model=model, progress=report)
        with database.transaction() as session:
            run_id = store_analysis(
                session, transcript_id, model, result,
                embedder_id=embedder.model_id, segmenter_label=runtime.segmenter.label, job_id=job_id,
            )
        report("store", 100)
        return {"transcript_id": transcript_id, "status": "done", "run_id": run_id, "quotations": len(result.quotations)}
    except TRANSIENT_ERRORS:
        log.warning("transient failure on transcript %s; RQ will retry", transcript_id, exc_info=True)
        raise
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise
        return _fail(runtime, transcript_id, "E901", f"Database error while storing results: {exc.orig}. Retry.")
    except QcoderError as exc:
        return _fail(runtime, transcript_id, exc.code, exc.message)
    except Exception as exc:  # a bug: retrying will not help, so record it instead of looping
        log.exception("unexpected error on transcript %s", transcript_id)
        return _fail(runtime, transcript_id, "E999", f"Internal error ({type(exc).__name__}); report it with job {job_id}.")


def on_job_failure(job, connection, exc_type, exc_value, traceback) -> None:  # noqa: ANN001
    """RQ failure callback: once no retry is left, the transcript is marked failed with the reason."""
    if job.retries_left:
        return
    transcript_id = job.args[0] if job.args else None
    if transcript_id is None:
        return
    reason = f"{exc_type.__name__ if exc_type else 'Failure'}: {exc_value}" if exc_value else "the worker stopped"
    _fail(get_runtime(), transcript_id, "E902", f"Processing failed after all retries ({reason}). Re-submit the transcript.")


def _fail(runtime: WorkerRuntime, transcript_id: str, code: str, message: str) -> dict:
    log.error("transcript %s failed: %s %s", transcript_id, code, message)
    with runtime.database.transaction() as session:
        mark_failed(session, transcript_id, code, message)
    return {"transcript_id": transcript_id, "status": "failed", "error_code": code, "error": message}
