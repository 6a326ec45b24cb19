"""What the review screen shows of a transcript: its text, turns, sentences and, per quotation,
the machine suggestion next to one reviewer's (or everyone's) derived decision.

The machine suggestion (span, codes with confidence, stance, model version) is read from the
model's rows and never changed; the decision part is folded from ReviewEvents by review.py.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.shared.codebook import Codebook
from services.shared.errors import ConflictError, InputError, NotFoundError
from services.shared.projects import project_codebook
from services.shared.review import ReviewState, create_quotation, iso_time, record_decision, review_states
from services.shared.review_rows import QuotationRow, transcript_rows
from services.shared.tables import Project, ProjectMember, Quotation, ReviewEvent, Sentence, Transcript, User

REVIEWER_VIEWS = ("me", "all")

# Parsed codebooks by content hash: a stored codebook never changes, and parsing one per
# decision was a quarter of a decision's CPU time.
_CODEBOOKS: dict[str, Codebook] = {}


def review_codebook(project: Project) -> Codebook:
    """The project's codebook, parsed once per process and content hash."""
    key = project.codebook.sha256
    if key not in _CODEBOOKS:
        _CODEBOOKS[key] = project_codebook(project)
    return _CODEBOOKS[key]


@dataclass
class ReviewedQuotation:
    """A quotation together with its derived state in one view."""

    quotation: Quotation | QuotationRow
    state: ReviewState

    @property
    def confidence(self) -> float | None:
        """The model's highest score on this quotation; None for a reviewer-made quotation."""
        scores = [s.score for s in self.quotation.suggestions]
        return max(scores) if scores else None

    @property
    def reviewed(self) -> bool:
        """Whether the view holds a decision on it (confirm, reject or any edit)."""
        return self.state.status != "unreviewed"


def resolve_reviewer(session: Session, project_id: str, user: User, reviewer: str) -> int | None:
    """'me' -> the user's own decisions, 'all' -> everyone's folded together (None), '<id>' -> one member's."""
    if reviewer == "me":
        return user.id
    if reviewer == "all":
        return None
    if reviewer.isdigit():
        member = session.get(ProjectMember, (project_id, int(reviewer)))
        if member is None:
            raise NotFoundError("No member with this id in the project.", reviewer=reviewer)
        return member.user_id
    raise InputError("reviewer must be 'me', 'all' or the numeric id of a project member.", reviewer=reviewer)


def is_visible(reviewed: ReviewedQuotation) -> bool:
    """Model quotations always show; a reviewer-made one only in a view holding its (not undone) creation.

    So in independent review nobody sees the quotations another reviewer added, and undoing
    a creation withdraws the quotation.
    """
    return reviewed.quotation.origin != "reviewer" or reviewed.state.created


def reviewed_quotations(
    session: Session, quotations: Sequence[Quotation | QuotationRow], reviewer_id: int | None
) -> list[ReviewedQuotation]:
    """The visible quotations of a view with their states, in the order given."""
    states = review_states(session, quotations, reviewer_id)
    pairs = (ReviewedQuotation(q, states[q.id]) for q in quotations)
    return [pair for pair in pairs if is_visible(pair)]


def quotation_review_view(reviewed: ReviewedQuotation, text: str) -> dict:
    """One quotation as the screen needs it: machine suggestion and decision side by side."""
    quotation, state = reviewed.quotation, reviewed.state
    machine = None
    if quotation.origin == "model":
        suggestions = quotation.suggestions
        machine = {
            "start": quotation.start, "end": quotation.end, "stance": quotation.stance,
            "stance_score": None if quotation.stance_score is None else round(quotation.stance_score, 4),
            "codes": [{"id": s.code_id, "score": round(float(s.score), 4)} for s in suggestions],
            "model_version": suggestions[0].model_version if suggestions else None,
            "data_snapshot": suggestions[0].data_snapshot if suggestions else None,
        }
    confidence = reviewed.confidence
    return {
        "id": quotation.id, "transcript_id": quotation.transcript_id, "origin": quotation.origin,
        "start": state.start, "end": state.end, "text": text[state.start:state.end],
        "speaker": quotation.speaker, "turn_index": quotation.turn_index,
        "confidence": None if confidence is None else round(float(confidence), 4),
        "machine": machine, "codes": list(state.codes), "stance": state.stance, "status": state.status,
        "rejected_codes": list(state.rejected_codes), "comments": list(state.comments),
        "reviewers": list(state.reviewers), "last_event_id": state.last_event_id, "decided_at": state.decided_at,
        "created_by": quotation.created_by,
    }


def progress_of(items: Sequence[ReviewedQuotation]) -> dict:
    """How many quotations a view holds, how many are decided, and how."""
    counts = {"total": len(items), "reviewed": 0, "confirmed": 0, "rejected": 0, "edited": 0}
    for item in items:
        if item.reviewed:
            counts["reviewed"] += 1
            counts[item.state.status] += 1
    return counts


def review_status(transcript: Transcript, progress: dict) -> str:
    """The overview status from processing status and review progress.

    A transcript without any quotation stays 'ready': nobody has yet looked for what the model missed.
    """
    if transcript.status != "done":
        return transcript.status
    if progress["reviewed"] == 0:
        return "ready"
    return "reviewed" if progress["reviewed"] == progress["total"] else "in_review"


def transcript_document(session: Session, transcript: Transcript, reviewer_id: int | None) -> dict:
    """Everything the document view needs for one transcript in one view."""
    items = reviewed_quotations(session, transcript_rows(session, transcript.id), reviewer_id)
    progress = progress_of(items)
    sentences = []
    if transcript.current_run_id:
        sentences = [
            [start, end] for start, end in session.execute(
                select(Sentence.start, Sentence.end)
                .where(Sentence.run_id == transcript.current_run_id).order_by(Sentence.start)
            )
        ]
    return {
        "transcript": {
            "id": transcript.id, "project_id": transcript.project_id, "filename": transcript.filename,
            "respondent_id": transcript.respondent_id, "case_name": transcript.case_name,
            "respondent_role": transcript.respondent_role, "status": transcript.status,
            "review_status": review_status(transcript, progress), "error_message": transcript.error_message,
        },
        "text": transcript.text,
        "turns": [
            {"index": t.index, "speaker": t.speaker, "role": t.role, "start": t.start, "end": t.end}
            for t in transcript.turns
        ],
        "sentences": sentences,
        "quotations": [quotation_review_view(item, transcript.text) for item in items],
        "progress": progress,
        "reviewer_id": reviewer_id,
    }


def single_quotation(session: Session, quotation: Quotation, transcript: Transcript, reviewer_id: int | None) -> dict:
    """One quotation's view (after a decision, or to reload it after a conflict)."""
    item = ReviewedQuotation(quotation, review_states(session, [quotation], reviewer_id)[quotation.id])
    view = quotation_review_view(item, transcript.text)
    view["visible"] = is_visible(item)
    return view


def check_reviewable(transcript: Transcript, quotation: Quotation | None = None) -> None:
    """Refuse decisions on a transcript that is not processed, or on a quotation of an earlier run."""
    if transcript.status != "done":
        raise ConflictError(
            f"The transcript is {transcript.status}, not processed; review it once it is ready.",
            transcript_id=transcript.id, status=transcript.status,
        )
    if quotation is not None and quotation.origin == "model" and quotation.run_id != transcript.current_run_id:
        raise ConflictError(
            "This quotation belongs to an earlier processing run of the transcript; reload the transcript.",
            quotation_id=quotation.id,
        )


def decide(
    session: Session, *, quotation: Quotation, transcript: Transcript, reviewer: User, action: str, payload: dict,
    based_on_event_id: int | None, codebook: Codebook,
) -> ReviewEvent:
    """Record one decision on a current quotation of a processed transcript (see review.record_decision)."""
    check_reviewable(transcript, quotation)
    if action == "create":
        raise InputError("Create a quotation with POST /api/v1/transcripts/<id>/review/quotations.")
    return record_decision(
        session, quotation=quotation, transcript=transcript, reviewer=reviewer, action=action, payload=payload,
        based_on_event_id=based_on_event_id, codebook=codebook,
    )


def add_quotation(
    session: Session, *, transcript: Transcript, reviewer: User, start: int, end: int, codes: list[str],
    stance: str | None, codebook: Codebook,
) -> tuple[Quotation, ReviewEvent]:
    """A quotation the model missed, on a processed transcript (see review.create_quotation)."""
    check_reviewable(transcript)
    return create_quotation(
        session, transcript=transcript, reviewer=reviewer, start=start, end=end, codes=codes, stance=stance,
        codebook=codebook,
    )


def event_view(event: ReviewEvent, usernames: dict[int, str]) -> dict:
    """A review event as the API returns it: who, when, what."""
    return {
        "id": event.id, "transcript_id": event.transcript_id, "quotation_id": event.quotation_id,
        "reviewer_id": event.reviewer_id, "reviewer": usernames.get(event.reviewer_id) if event.reviewer_id else None,
        "action": event.action, "payload": dict(event.payload or {}), "based_on_event_id": event.based_on_event_id,
        "created_at": iso_time(event.created_at),
    }


def event_log(session: Session, *, transcript_id: str | None = None, quotation_id: str | None = None) -> list[dict]:
    """The decisions on a transcript or on one quotation, oldest first, with reviewer names."""
    query = select(ReviewEvent, User.username).outerjoin(User, User.id == ReviewEvent.reviewer_id)
    if transcript_id is not None:
        query = query.where(ReviewEvent.transcript_id == transcript_id)
    if quotation_id is not None:
        query = query.where(ReviewEvent.quotation_id == quotation_id)
    rows = session.execute(query.order_by(ReviewEvent.id)).all()
    return [event_view(event, {event.reviewer_id: name} if name else {}) for event, name in rows]
