"""Uploading transcripts, following their processing, and reading their quotations."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job
from sqlalchemy import select

from services.api.deps import CurrentUser, RedisDep, SessionDep, SettingsDep
from services.api.schemas import JobStatusOut, QuotationOut, TranscriptOut, TranscriptTextOut
from services.shared.errors import ConflictError, FileTooLargeError, InputError, NotFoundError, TransientError
from services.shared.privacy import project_pseudonymiser
from services.shared.projects import READ_ROLES, UPLOAD_ROLES, authorise, project_codebook
from services.shared.queue import enqueue_transcript
from services.shared.quotations import QuotationFilter, list_quotations
from services.shared.registry import version_meta
from services.shared.run_changes import DEFAULT_MIN_CONFIDENCE_CHANGE, compare_runs, transcript_runs
from services.shared.tables import Transcript, User
from services.shared.uploads import TranscriptMetadata, build_transcript, store_transcript

router = APIRouter(tags=["transcripts"])
READ_CHUNK_BYTES = 1024 * 1024


def transcript_out(transcript: Transcript) -> TranscriptOut:
    """The API view of a transcript (without its text)."""
    return TranscriptOut(
        id=transcript.id, project_id=transcript.project_id, filename=transcript.filename,
        source_format=transcript.source_format, detected_encoding=transcript.detected_encoding,
        respondent_id=transcript.respondent_id, case_name=transcript.case_name,
        respondent_role=transcript.respondent_role, status=transcript.status, error_code=transcript.error_code,
        error_message=transcript.error_message, warnings=list(transcript.warnings or []),
        characters=len(transcript.text), turns=len(transcript.turns), job_id=transcript.job_id,
        created_at=transcript.created_at,
    )


def load_transcript(session, transcript_id: str, user: User, roles) -> Transcript:  # noqa: ANN001
    """Fetch a transcript the user may see; others get 404 whether it exists or not."""
    transcript = session.get(Transcript, transcript_id)
    if transcript is None:
        raise NotFoundError("Transcript not found.", transcript_id=transcript_id)
    try:
        authorise(session, transcript.project_id, user, roles)
    except NotFoundError as exc:
        raise NotFoundError("Transcript not found.", transcript_id=transcript_id) from exc
    return transcript


async def _read_bounded(upload: UploadFile, limit: int) -> bytes:
    """Read an upload, refusing it as soon as it exceeds `limit` bytes."""
    chunks, size = [], 0
    while chunk := await upload.read(READ_CHUNK_BYTES):
        size += len(chunk)
        if size > limit:
            raise FileTooLargeError(
                f"'{upload.filename}' is larger than {limit // (1024 * 1024)} MB; split the transcript or "
                "ask an administrator to raise QCODER_MAX_UPLOAD_BYTES.",
                filename=upload.filename,
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _enqueue(settings, redis, session, transcripts: list[Transcript]) -> None:  # noqa: ANN001
    try:
        for transcript in transcripts:
            transcript.job_id = enqueue_transcript(settings, redis, transcript.id)
    except RedisError as exc:
        session.commit()  # the transcripts are safely stored; only queueing failed
        ids = ", ".join(t.id for t in transcripts if t.job_id is None)
        raise TransientError(
            f"Stored, but the job queue is unreachable ({exc}); POST /api/v1/transcripts/<id>/process "
            f"later to queue: {ids}."
        ) from exc


@router.post("/projects/{project_id}/transcripts", response_model=list[TranscriptOut], status_code=202)
async def upload_transcripts(
    project_id: str,
    files: Annotated[list[UploadFile], File(description="Transcripts: .txt, .docx, .odt, .rtf, text-based .pdf, .vtt or .srt")],
    session: SessionDep,
    settings: SettingsDep,
    redis: RedisDep,
    user: CurrentUser,
    respondent_id: Annotated[str | None, Form(max_length=120)] = None,
    case_name: Annotated[str | None, Form(max_length=255)] = None,
    respondent_role: Annotated[str | None, Form(max_length=255)] = None,
) -> list[TranscriptOut]:
    """Upload one or more transcripts and queue them; all are checked before any is stored."""
    project = authorise(session, project_id, user, UPLOAD_ROLES)
    if not files:
        raise InputError("Attach at least one file in the form field 'files'.")
    metadata = TranscriptMetadata(respondent_id=respondent_id, case_name=case_name, respondent_role=respondent_role)
    # Every file is read before the database work starts: pseudonymising locks the project's key
    # until the commit, and waiting for an upload while holding it would stall other requests.
    received = [(upload.filename, await _read_bounded(upload, settings.max_upload_bytes)) for upload in files]

    def build_and_store() -> list[Transcript]:
        pseudonymiser = project_pseudonymiser(session, project, settings)  # None when the project does not ask
        built = []
        for filename, data in received:
            try:
                built.append(build_transcript(data, filename or "upload.txt", settings, metadata,
                                              pseudonymiser=pseudonymiser))
            except InputError as exc:
                exc.details.setdefault("filename", filename)
                raise
        stored = [store_transcript(session, project, transcript, user) for transcript in built]
        session.commit()
        return stored

    # Decoding and pseudonymising take CPU time (deduce: ~0.2 s a transcript, ~20 s to load once);
    # in a thread they do not stop the event loop from serving other requests.
    stored = await run_in_threadpool(build_and_store)
    _enqueue(settings, redis, session, stored)
    return [transcript_out(t) for t in stored]


@router.get("/projects/{project_id}/transcripts", response_model=list[TranscriptOut])
def project_transcripts(project_id: str, session: SessionDep, user: CurrentUser) -> list[TranscriptOut]:
    """The transcripts of a project, oldest first."""
    project = authorise(session, project_id, user, READ_ROLES)
    rows = session.scalars(
        select(Transcript).where(Transcript.project_id == project.id).order_by(Transcript.created_at)
    )
    return [transcript_out(t) for t in rows]


@router.get("/transcripts/{transcript_id}", response_model=TranscriptTextOut)
def get_transcript(transcript_id: str, session: SessionDep, user: CurrentUser) -> TranscriptTextOut:
    """A transcript with its stored text and speaker turns."""
    transcript = load_transcript(session, transcript_id, user, READ_ROLES)
    turns = [
        {"index": t.index, "speaker": t.speaker, "role": t.role, "start": t.start, "end": t.end,
         "timestamp": t.timestamp}
        for t in transcript.turns
    ]
    return TranscriptTextOut(**transcript_out(transcript).model_dump(), text=transcript.text, turn_spans=turns)


@router.get("/transcripts/{transcript_id}/status", response_model=JobStatusOut)
def transcript_status(transcript_id: str, session: SessionDep, redis: RedisDep, user: CurrentUser) -> JobStatusOut:
    """Processing status with the job's current stage and progress."""
    transcript = load_transcript(session, transcript_id, user, READ_ROLES)
    stage, progress, job_status = None, 0, None
    if transcript.status == "done":
        stage, progress = "store", 100
    elif transcript.job_id:
        try:
            job = Job.fetch(transcript.job_id, connection=redis)
            stage = job.meta.get("stage")
            progress = int(job.meta.get("progress", 0))
            job_status = str(job.get_status())
        except (NoSuchJobError, RedisError):
            job_status = None
    return JobStatusOut(
        transcript_id=transcript.id, status=transcript.status, stage=stage, progress=progress,
        attempts=transcript.attempts, job_id=transcript.job_id, job_status=job_status,
        error_code=transcript.error_code, error_message=transcript.error_message,
    )


@router.post("/transcripts/{transcript_id}/process", response_model=TranscriptOut, status_code=202)
def reprocess(
    transcript_id: str, session: SessionDep, settings: SettingsDep, redis: RedisDep, user: CurrentUser
) -> TranscriptOut:
    """Queue a transcript (again): after a failure, or to re-run it with the current model."""
    transcript = load_transcript(session, transcript_id, user, UPLOAD_ROLES)
    transcript.status = "queued"
    transcript.error_code = transcript.error_message = None
    session.flush()
    _enqueue(settings, redis, session, [transcript])
    return transcript_out(transcript)


class RerunIn(BaseModel):
    model_version: str | None = Field(
        None, max_length=120, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="A stored model version (GET /models); null: the version the project's next job uses")


@router.post("/transcripts/{transcript_id}/rerun", response_model=TranscriptOut, status_code=202)
def rerun(
    transcript_id: str, body: RerunIn, session: SessionDep, settings: SettingsDep, redis: RedisDep, user: CurrentUser
) -> TranscriptOut:
    """Process a transcript again, optionally with a chosen model version. The new run becomes current;
    earlier runs and every review decision on them are kept (compare with GET .../runs/compare)."""
    transcript = load_transcript(session, transcript_id, user, UPLOAD_ROLES)
    if body.model_version is not None:
        version_meta(settings.models_dir, body.model_version)  # 404 before anything is queued
    if transcript.status in ("queued", "processing"):
        raise ConflictError(f"The transcript is {transcript.status} already; re-run it once that job has finished.",
                            transcript_id=transcript.id, status=transcript.status)
    transcript.status = "queued"
    transcript.error_code = transcript.error_message = None
    transcript.requested_model_version = body.model_version
    session.flush()
    _enqueue(settings, redis, session, [transcript])
    return transcript_out(transcript)


@router.get("/transcripts/{transcript_id}/runs")
def list_runs(transcript_id: str, session: SessionDep, user: CurrentUser) -> list[dict]:
    """The transcript's processing runs, oldest first: model version, data snapshot, quotations, current."""
    transcript = load_transcript(session, transcript_id, user, READ_ROLES)
    return transcript_runs(session, transcript)


@router.get("/transcripts/{transcript_id}/runs/compare")
def compare(
    transcript_id: str,
    session: SessionDep,
    user: CurrentUser,
    base: Annotated[str | None, Query(description="Run id; default: the run before `other`")] = None,
    other: Annotated[str | None, Query(description="Run id; default: the current run")] = None,
    min_confidence_change: Annotated[float, Query(ge=0.0, le=1.0)] = DEFAULT_MIN_CONFIDENCE_CHANGE,
) -> dict:
    """What changed between two runs: quotations added, removed and changed (code, stance, confidence, span)."""
    transcript = load_transcript(session, transcript_id, user, READ_ROLES)
    return compare_runs(session, transcript, base, other, min_confidence_change=min_confidence_change)


@router.get("/transcripts/{transcript_id}/quotations", response_model=list[QuotationOut])
def transcript_quotations(
    transcript_id: str,
    session: SessionDep,
    user: CurrentUser,
    code: Annotated[str | None, Query(description="A code id (KP03, OPL-...) or knelpunt number (3)")] = None,
    stance: Annotated[str | None, Query(pattern="^(knelpunt|oplossing|succesfactor|neutraal)$")] = None,
    min_confidence: Annotated[float, Query(ge=0.0, le=1.0)] = 0.0,
) -> list[dict]:
    """Quote-level evidence: exact spans with their suggested codes and confidences."""
    transcript = load_transcript(session, transcript_id, user, READ_ROLES)
    filters = QuotationFilter(code=code, stance=stance, min_confidence=min_confidence)
    return list_quotations(session, transcript, project_codebook(transcript.project), filters)
