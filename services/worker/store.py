"""Writing one analysis into the database, all or nothing."""
from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from services.shared.tables import ProcessingRun, Quotation, Sentence, Suggestion, Transcript, new_id, utcnow
from services.worker.model_store import LoadedModel
from services.worker.pipeline import AnalysisResult


def claim_transcript(session: Session, transcript_id: str, job_id: str | None) -> bool:
    """Mark a transcript as processing; False when it is already done (nothing to do)."""
    result = session.execute(
        update(Transcript)
        .where(Transcript.id == transcript_id, Transcript.status != "done")
        .values(status="processing", attempts=Transcript.attempts + 1, job_id=job_id, updated_at=utcnow())
    )
    return result.rowcount == 1


def store_analysis(
    session: Session,
    transcript_id: str,
    model: LoadedModel,
    result: AnalysisResult,
    *,
    embedder_id: str,
    segmenter_label: str,
    job_id: str | None,
) -> str | None:
    """Write run, sentences, quotations and suggestions and mark the transcript done.

    The conditional status update comes first: a second worker finishing the same
    transcript finds it done, writes nothing and gets None. Call inside one transaction.
    """
    run = ProcessingRun(
        id=new_id(),  # needed before the INSERT: the status update below points at it
        transcript_id=transcript_id, model_version=model.version, data_snapshot=model.data_snapshot,
        codebook_sha256=model.codebook.sha256, embedder=embedder_id, segmenter=segmenter_label,
        job_id=job_id, stage_seconds=result.stage_seconds,
    )
    claimed = session.execute(
        update(Transcript)
        .where(Transcript.id == transcript_id, Transcript.status != "done")
        .values(status="done", current_run_id=run.id, error_code=None, error_message=None, updated_at=utcnow())
    )
    if claimed.rowcount != 1:
        return None
    session.add(run)
    session.flush()
    session.add_all(
        Sentence(run_id=run.id, turn_index=s.turn_index, index=s.index, start=s.start, end=s.end)
        for s in result.sentences
    )
    for coded in result.quotations:
        quotation = Quotation(
            transcript_id=transcript_id, run_id=run.id, origin="model", start=coded.start, end=coded.end,
            turn_index=coded.turn_index, speaker=coded.speaker, stance=coded.stance, stance_score=coded.stance_score,
        )
        quotation.suggestions = [
            Suggestion(
                code_id=code_id, code_kind=model.codebook.code(code_id).kind, score=score,
                model_version=model.version, data_snapshot=model.data_snapshot,
            )
            for code_id, score in coded.codes.items()
        ]
        session.add(quotation)
    session.flush()
    return run.id


def mark_failed(session: Session, transcript_id: str, code: str, message: str) -> None:
    """Record why a transcript could not be processed."""
    session.execute(
        update(Transcript)
        .where(Transcript.id == transcript_id, Transcript.status != "done")
        .values(status="failed", error_code=code, error_message=message, updated_at=utcnow())
    )
