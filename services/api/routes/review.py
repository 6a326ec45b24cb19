"""Review: the document view's data, decisions as events, the queue, progress and the code manager.

Reading needs any role in the project; deciding needs reviewer (or admin). Every GET takes
?reviewer=me|all|<user id>: one reviewer's independent decisions, or everyone's folded together.
A decision names `based_on_event_id` (the `last_event_id` it was shown); a stale one gets 409.
"""
from __future__ import annotations

import logging
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from redis import Redis
from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job
from sqlalchemy.orm import Session

from services.api.deps import CurrentUser, RedisDep, SessionDep
from services.api.routes.transcripts import load_transcript
from services.shared.agreement import project_agreement
from services.shared.codebook import STANCES
from services.shared.errors import NotFoundError
from services.shared.projects import READ_ROLES, REVIEW_ROLES, Role, authorise, member_role
from services.shared.review import ACTIONS
from services.shared.review_queue import code_counts, code_quotations, project_overview, review_queue
from services.shared.review_views import (
    add_quotation, decide, event_log, event_view, resolve_reviewer, review_codebook, single_quotation,
    transcript_document,
)
from services.shared.tables import Quotation, Transcript, User

log = logging.getLogger(__name__)
router = APIRouter(tags=["review"])

ReviewerQuery = Annotated[
    str, Query(pattern=r"^(me|all|\d+)$", description="me: your decisions; all: everyone's; a user id: theirs")
]
DECISION_ACTIONS = tuple(a for a in ACTIONS if a != "create")


class MachineOut(BaseModel):
    start: int
    end: int
    stance: str | None
    stance_score: float | None
    codes: list[dict] = Field(description="[{id, score}], highest score first")
    model_version: str | None
    data_snapshot: str | None


class QuotationReviewOut(BaseModel):
    id: str
    transcript_id: str
    origin: str = Field(description="model | reviewer")
    start: int = Field(description="Decided span: offsets into the stored transcript text")
    end: int
    text: str
    speaker: str
    turn_index: int
    confidence: float | None = Field(description="The model's highest score; null for a reviewer's quotation")
    machine: MachineOut | None = Field(description="The machine suggestion, never changed by reviews")
    codes: list[str]
    stance: str | None
    status: str = Field(description="unreviewed | confirmed | rejected | edited")
    rejected_codes: list[str]
    comments: list[dict]
    reviewers: list[int]
    last_event_id: int | None = Field(description="Send as based_on_event_id with the next decision")
    decided_at: str | None
    created_by: int | None
    visible: bool | None = None


class DocumentOut(BaseModel):
    transcript: dict
    text: str
    turns: list[dict]
    sentences: list[list[int]] = Field(description="[start, end] of each sentence the segmenter found")
    quotations: list[QuotationReviewOut]
    progress: dict
    reviewer_id: int | None
    role: Role
    can_decide: bool


class EventOut(BaseModel):
    id: int
    transcript_id: str
    quotation_id: str
    reviewer_id: int | None
    reviewer: str | None
    action: str
    payload: dict
    based_on_event_id: int | None
    created_at: str


class DecisionIn(BaseModel):
    action: Literal[DECISION_ACTIONS]  # type: ignore[valid-type]
    payload: dict = Field(default_factory=dict, description="See docs/review.md for each action's payload")
    based_on_event_id: int | None = Field(description="last_event_id of the quotation as you saw it")


class NewQuotationIn(BaseModel):
    start: int = Field(ge=0)
    end: int = Field(gt=0)
    codes: list[str] = Field(min_length=1, max_length=10)
    stance: Literal[STANCES] | None = None  # type: ignore[valid-type]


class DecisionOut(BaseModel):
    event: EventOut
    quotation: QuotationReviewOut


class QueueItemOut(BaseModel):
    transcript_id: str
    quotation_id: str
    filename: str
    respondent_id: str | None
    start: int
    end: int
    confidence: float | None
    codes: list[str]
    status: str


class OverviewRowOut(BaseModel):
    transcript_id: str
    filename: str
    respondent_id: str | None
    case_name: str | None
    status: str = Field(description="queued | processing | done | failed")
    review_status: str = Field(description="queued | processing | failed | ready | in_review | reviewed")
    processing: dict | None = Field(description="{stage, percent} while queued or processing")
    progress: dict
    error_code: str | None
    error_message: str | None


class CodeCountOut(BaseModel):
    id: str
    kind: str
    name: str
    number: int | None
    category: str | None
    color: str
    suggested: int
    open: int
    confirmed: int
    rejected: int
    respondents: int


class CodeQuotationOut(BaseModel):
    quotation_id: str
    transcript_id: str
    filename: str
    respondent_id: str | None
    case_name: str | None
    start: int
    end: int
    text: str
    outcome: str = Field(description="open | confirmed | rejected")
    status: str
    stance: str | None
    origin: str
    score: float | None


def _load_quotation(session: Session, quotation_id: str, user: User, roles: frozenset[Role]) -> tuple[Quotation, Transcript]:
    """A quotation the user may see with its transcript; non-members get 404 whether it exists or not."""
    quotation = session.get(Quotation, quotation_id)
    if quotation is None:
        raise NotFoundError("Quotation not found.", quotation_id=quotation_id)
    try:
        transcript = load_transcript(session, quotation.transcript_id, user, roles)
    except NotFoundError as exc:
        raise NotFoundError("Quotation not found.", quotation_id=quotation_id) from exc
    return quotation, transcript


def _job_progress(redis: Redis):  # noqa: ANN202
    def progress(transcript: Transcript) -> dict | None:
        if not transcript.job_id:
            return {"stage": None, "percent": 0}
        try:
            meta = Job.fetch(transcript.job_id, connection=redis).meta
        except NoSuchJobError:
            return {"stage": None, "percent": 0}
        except RedisError as exc:
            log.warning("job progress of transcript %s unavailable: %s", transcript.id, exc)
            return None
        return {"stage": meta.get("stage"), "percent": int(meta.get("progress", 0))}

    return progress


@router.get("/transcripts/{transcript_id}/review", response_model=DocumentOut)
def get_document(transcript_id: str, session: SessionDep, user: CurrentUser, reviewer: ReviewerQuery = "me") -> dict:
    """The document view: text, turns, sentences and each quotation's suggestion and decided state."""
    transcript = load_transcript(session, transcript_id, user, READ_ROLES)
    role = member_role(session, transcript.project_id, user)
    document = transcript_document(session, transcript, resolve_reviewer(session, transcript.project_id, user, reviewer))
    return {**document, "role": role, "can_decide": role in REVIEW_ROLES}


@router.post("/transcripts/{transcript_id}/review/quotations", response_model=DecisionOut, status_code=201)
def create_review_quotation(
    transcript_id: str, body: NewQuotationIn, session: SessionDep, user: CurrentUser, reviewer: ReviewerQuery = "me"
) -> dict:
    """Add a quotation the model missed (reviewer role)."""
    transcript = load_transcript(session, transcript_id, user, REVIEW_ROLES)
    quotation, event = add_quotation(
        session, transcript=transcript, reviewer=user, start=body.start, end=body.end, codes=body.codes,
        stance=body.stance, codebook=review_codebook(transcript.project),
    )
    session.commit()  # commit before answering: the client's next decision is based on this event
    reviewer_id = resolve_reviewer(session, transcript.project_id, user, reviewer)
    return {"event": event_view(event, {user.id: user.username}),
            "quotation": single_quotation(session, quotation, transcript, reviewer_id)}


@router.get("/transcripts/{transcript_id}/review/events", response_model=list[EventOut])
def transcript_events(transcript_id: str, session: SessionDep, user: CurrentUser) -> list[dict]:
    """Every decision on the transcript, oldest first: who, when, what."""
    transcript = load_transcript(session, transcript_id, user, READ_ROLES)
    return event_log(session, transcript_id=transcript.id)


@router.get("/quotations/{quotation_id}/review", response_model=QuotationReviewOut)
def get_quotation(quotation_id: str, session: SessionDep, user: CurrentUser, reviewer: ReviewerQuery = "me") -> dict:
    """One quotation's suggestion and decided state (reload it after a 409)."""
    quotation, transcript = _load_quotation(session, quotation_id, user, READ_ROLES)
    return single_quotation(
        session, quotation, transcript, resolve_reviewer(session, transcript.project_id, user, reviewer)
    )


@router.post("/quotations/{quotation_id}/decisions", response_model=DecisionOut, status_code=201)
def post_decision(
    quotation_id: str, body: DecisionIn, session: SessionDep, user: CurrentUser, reviewer: ReviewerQuery = "me"
) -> dict:
    """Record a decision (reviewer role): confirm, reject, relabel, add_code, remove_code, set_stance,
    respan, comment or undo. Answers the new state; 409 when based_on_event_id is stale."""
    quotation, transcript = _load_quotation(session, quotation_id, user, REVIEW_ROLES)
    event = decide(
        session, quotation=quotation, transcript=transcript, reviewer=user, action=body.action, payload=body.payload,
        based_on_event_id=body.based_on_event_id, codebook=review_codebook(transcript.project),
    )
    session.commit()  # commit before answering: the client's next decision is based on this event
    reviewer_id = resolve_reviewer(session, transcript.project_id, user, reviewer)
    return {"event": event_view(event, {user.id: user.username}),
            "quotation": single_quotation(session, quotation, transcript, reviewer_id)}


@router.get("/quotations/{quotation_id}/events", response_model=list[EventOut])
def quotation_events(quotation_id: str, session: SessionDep, user: CurrentUser) -> list[dict]:
    """The history of one quotation, oldest first."""
    quotation, _transcript = _load_quotation(session, quotation_id, user, READ_ROLES)
    return event_log(session, quotation_id=quotation.id)


@router.get("/projects/{project_id}/review/queue", response_model=list[QueueItemOut])
def get_queue(
    project_id: str,
    session: SessionDep,
    user: CurrentUser,
    mode: Annotated[Literal["document", "uncertainty"], Query()] = "document",
    reviewer: ReviewerQuery = "me",
    include_reviewed: bool = False,
    limit: Annotated[int | None, Query(ge=1, le=100_000)] = None,
) -> list[dict]:
    """What to review next across the project: document order, or lowest confidence first."""
    project = authorise(session, project_id, user, READ_ROLES)
    reviewer_id = resolve_reviewer(session, project.id, user, reviewer)
    return review_queue(session, project.id, reviewer_id, mode, include_reviewed=include_reviewed, limit=limit)


@router.get("/projects/{project_id}/review/progress", response_model=list[OverviewRowOut])
def get_progress(
    project_id: str, session: SessionDep, redis: RedisDep, user: CurrentUser, reviewer: ReviewerQuery = "me"
) -> list[dict]:
    """Per transcript: processing (with progress), ready, in review or reviewed, and the counts."""
    project = authorise(session, project_id, user, READ_ROLES)
    reviewer_id = resolve_reviewer(session, project.id, user, reviewer)
    return project_overview(session, project.id, reviewer_id, _job_progress(redis))


@router.get("/projects/{project_id}/review/codes", response_model=list[CodeCountOut])
def get_code_counts(
    project_id: str,
    session: SessionDep,
    user: CurrentUser,
    reviewer: ReviewerQuery = "me",
    transcript_id: str | None = None,
) -> list[dict]:
    """The code manager: suggested, open, confirmed and rejected quotations per code."""
    project = authorise(session, project_id, user, READ_ROLES)
    reviewer_id = resolve_reviewer(session, project.id, user, reviewer)
    return code_counts(session, project.id, review_codebook(project), reviewer_id, transcript_id)


@router.get("/projects/{project_id}/review/codes/{code}/quotations", response_model=list[CodeQuotationOut])
def get_code_quotations(
    project_id: str,
    code: str,
    session: SessionDep,
    user: CurrentUser,
    reviewer: ReviewerQuery = "me",
    include_rejected: bool = False,
) -> list[dict]:
    """The quotations of one code (id or knelpunt number) across the project, by case and respondent."""
    project = authorise(session, project_id, user, READ_ROLES)
    reviewer_id = resolve_reviewer(session, project.id, user, reviewer)
    return code_quotations(
        session, project.id, review_codebook(project), code, reviewer_id, include_rejected=include_rejected
    )


@router.get("/projects/{project_id}/review/agreement")
def get_agreement(
    project_id: str,
    session: SessionDep,
    user: CurrentUser,
    a: Annotated[int, Query(description="user id of one reviewer")],
    b: Annotated[int, Query(description="user id of the other reviewer")],
) -> dict:
    """How far two reviewers who reviewed independently agree, counted per sentence: Cohen's kappa,
    Krippendorff's alpha and F1 per code and overall (the same figures as /projects/{id}/agreement)."""
    project = authorise(session, project_id, user, READ_ROLES)
    first = resolve_reviewer(session, project.id, user, str(a))
    second = resolve_reviewer(session, project.id, user, str(b))
    return project_agreement(session, project.id, review_codebook(project), first, second)
