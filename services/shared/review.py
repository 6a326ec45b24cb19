"""Human review as an append-only event log, and the review state derived from it.

A reviewer never edits a machine suggestion: each decision is a ReviewEvent (who, when, what).
The state of a quotation for one reviewer is the fold of that reviewer's events over the
machine suggestion; the shared state folds everyone's events in order. A decision names the
event it was based on, so a stale edit is refused (409) instead of silently overwriting.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.shared.codebook import STANCES, Codebook
from services.shared.errors import ConflictError, InputError
from services.shared.tables import Quotation, ReviewEvent, Transcript, User

ACTIONS = (
    "create",       # payload: start, end, codes, stance - a quotation the model missed
    "confirm",      # accept the quotation with its current codes and stance
    "reject",       # payload: code_id (optional) - reject one code, or the whole quotation
    "relabel",      # payload: from, to - replace one code by another
    "add_code",     # payload: code_id
    "remove_code",  # payload: code_id
    "set_stance",   # payload: stance
    "respan",       # payload: start, end
    "comment",      # payload: text - a memo on the quotation
    "undo",         # payload: event_id - revert one earlier event of the same reviewer
)
# A memo is a note on one quotation, not a document; this keeps the event log small.
MAX_COMMENT_CHARS = 10_000


@dataclass
class ReviewState:
    """A quotation as a reviewer (or everyone together) decided it."""

    quotation_id: str
    start: int
    end: int
    codes: list[str]
    stance: str | None
    status: str = "unreviewed"  # unreviewed | confirmed | rejected | edited
    comments: list[dict] = field(default_factory=list)
    rejected_codes: list[str] = field(default_factory=list)
    reviewers: list[int] = field(default_factory=list)
    last_event_id: int | None = None
    decided_at: str | None = None
    created: bool = False  # a (not undone) "create" event is among the folded events


def initial_state(quotation: Quotation) -> ReviewState:
    """The state before any decision: the machine's (or creator's) span, codes and stance."""
    return ReviewState(
        quotation_id=quotation.id, start=quotation.start, end=quotation.end,
        codes=[s.code_id for s in quotation.suggestions], stance=quotation.stance,
    )


def fold(state: ReviewState, events: Iterable[ReviewEvent]) -> ReviewState:
    """Apply events in order; `undo` events remove the event they name before folding."""
    events = list(events)
    undone = {e.payload.get("event_id") for e in events if e.action == "undo"}
    for event in events:
        if event.action == "undo" or event.id in undone:
            continue
        _apply(state, event)
    if events:
        state.last_event_id = events[-1].id
    return state


def _apply(state: ReviewState, event: ReviewEvent) -> None:
    payload = event.payload or {}
    action = event.action
    if action == "create":
        state.codes = list(payload.get("codes", []))
        state.stance = payload.get("stance")
        state.status = "edited"
        state.created = True
    elif action == "confirm":
        state.status = "confirmed"
    elif action == "reject":
        code_id = payload.get("code_id")
        if code_id:
            if code_id in state.codes:
                state.codes.remove(code_id)
            state.rejected_codes.append(code_id)
            state.status = "edited" if state.codes else "rejected"
        else:
            state.rejected_codes.extend(state.codes)
            state.codes = []
            state.status = "rejected"
    elif action == "relabel":
        state.codes = [payload["to"] if c == payload["from"] else c for c in state.codes]
        if payload["to"] not in state.codes:
            state.codes.append(payload["to"])
        state.rejected_codes.append(payload["from"])
        state.status = "edited"
    elif action == "add_code":
        if payload["code_id"] not in state.codes:
            state.codes.append(payload["code_id"])
        state.status = "edited"
    elif action == "remove_code":
        if payload["code_id"] in state.codes:
            state.codes.remove(payload["code_id"])
        state.status = "edited" if state.codes else "rejected"
    elif action == "set_stance":
        state.stance = payload["stance"]
        state.status = "edited"
    elif action == "respan":
        state.start, state.end = int(payload["start"]), int(payload["end"])
        state.status = "edited"
    elif action == "comment":
        state.comments.append({"text": payload["text"], "reviewer_id": event.reviewer_id, "at": iso_time(event.created_at)})
        return  # a memo is not a decision about the coding
    if event.reviewer_id is not None and event.reviewer_id not in state.reviewers:
        state.reviewers.append(event.reviewer_id)
    state.decided_at = iso_time(event.created_at)


def iso_time(moment: datetime) -> str:
    """ISO 8601 with offset; SQLite hands back naive datetimes, which we always stored as UTC."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).isoformat()


def events_for(session: Session, quotation_ids: Sequence[str]) -> dict[str, list[ReviewEvent]]:
    """All events of these quotations, oldest first, grouped per quotation."""
    grouped: dict[str, list[ReviewEvent]] = {qid: [] for qid in quotation_ids}
    if not quotation_ids:
        return grouped
    rows = session.scalars(
        select(ReviewEvent).where(ReviewEvent.quotation_id.in_(list(quotation_ids))).order_by(ReviewEvent.id)
    )
    for event in rows:
        grouped[event.quotation_id].append(event)
    return grouped


def review_states(
    session: Session, quotations: Sequence[Quotation], reviewer_id: int | None = None
) -> dict[str, ReviewState]:
    """Derived state per quotation: one reviewer's view, or everyone's events when reviewer_id is None."""
    grouped = events_for(session, [q.id for q in quotations])
    states = {}
    for quotation in quotations:
        events = grouped[quotation.id]
        latest = events[-1].id if events else None
        if reviewer_id is not None:
            events = [e for e in events if e.reviewer_id == reviewer_id]
        state = fold(initial_state(quotation), events)
        # record_decision compares based_on_event_id with the quotation's latest event of anyone,
        # so that is what a client must send back, whichever reviewer's view it shows.
        state.last_event_id = latest
        states[quotation.id] = state
    return states


def validate_decision(action: str, payload: dict, codebook: Codebook, transcript: Transcript) -> None:
    """Refuse decisions that name unknown codes or stances, or spans outside the text."""
    if action not in ACTIONS:
        raise InputError(f"Unknown review action '{action}'; use one of: {', '.join(ACTIONS)}.")
    for key in ("code_id", "from", "to"):
        if payload.get(key) is not None:
            codebook.code(payload[key])
    for code_id in payload.get("codes", []) or []:
        codebook.code(code_id)
    if action == "set_stance" or (action == "create" and payload.get("stance") is not None):
        if payload.get("stance") not in STANCES:
            raise InputError(f"Stance must be one of: {', '.join(STANCES)}.")
    if action in ("create", "respan"):
        start, end = payload.get("start"), payload.get("end")
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(transcript.text)):
            raise InputError(f"A span needs whole numbers 0 <= start < end <= {len(transcript.text)}.")
        if not transcript.text[start:end].strip():
            raise InputError("A quotation cannot consist of white space only; select some text.")
    required = {"relabel": ("from", "to"), "add_code": ("code_id",), "remove_code": ("code_id",),
                "set_stance": ("stance",), "comment": ("text",), "undo": ("event_id",)}
    missing = [k for k in required.get(action, ()) if payload.get(k) in (None, "")]
    if missing:
        raise InputError(f"The action '{action}' needs: {', '.join(missing)}.")
    if action == "create" and not payload.get("codes"):
        raise InputError("A new quotation needs at least one code.")
    if action == "comment" and len(str(payload["text"])) > MAX_COMMENT_CHARS:
        raise InputError(f"A memo can have at most {MAX_COMMENT_CHARS} characters; shorten it.")


def record_decision(
    session: Session,
    *,
    quotation: Quotation,
    transcript: Transcript,
    reviewer: User,
    action: str,
    payload: dict,
    based_on_event_id: int | None,
    codebook: Codebook,
) -> ReviewEvent:
    """Append one decision after checking it and that it was made on the latest state."""
    validate_decision(action, payload, codebook, transcript)
    # Read the sequence number BEFORE the latest event: a decision committed in between then
    # either shows up as a newer latest event or makes the conditional update below miss.
    # (Reading it after the check let two decisions based on the same state both pass.)
    seen_seq = session.scalar(select(Quotation.review_seq).where(Quotation.id == quotation.id))
    latest = session.scalar(
        select(ReviewEvent.id).where(ReviewEvent.quotation_id == quotation.id).order_by(ReviewEvent.id.desc()).limit(1)
    )
    if latest is not None and based_on_event_id != latest:
        raise ConflictError(
            "Someone changed this quotation after you loaded it; reload it and apply your decision again.",
            quotation_id=quotation.id, latest_event_id=latest, based_on_event_id=based_on_event_id,
        )
    if action == "undo":
        target = session.get(ReviewEvent, payload["event_id"])
        if target is None or target.quotation_id != quotation.id or target.reviewer_id != reviewer.id:
            raise InputError("You can only undo your own decisions on this quotation.")
    _advance_review_seq(session, quotation, expected=seen_seq)
    event = ReviewEvent(
        transcript_id=transcript.id, quotation_id=quotation.id, reviewer_id=reviewer.id, action=action,
        payload=payload, based_on_event_id=based_on_event_id,
    )
    session.add(event)
    session.flush()
    return event


def _advance_review_seq(session: Session, quotation: Quotation, *, expected: int) -> None:
    """Claim the next review sequence number; a concurrent decision that got there first wins.

    Checking the latest event id alone is not enough when two requests read it at the same
    moment: the conditional UPDATE makes the database decide (row lock on PostgreSQL, the
    single writer on SQLite), and the loser gets a 409 instead of a silent overwrite.
    """
    result = session.execute(
        update(Quotation)
        .where(Quotation.id == quotation.id, Quotation.review_seq == expected)
        .values(review_seq=expected + 1)
    )
    if result.rowcount != 1:
        raise ConflictError(
            "Someone changed this quotation at the same moment; reload it and apply your decision again.",
            quotation_id=quotation.id,
        )


def create_quotation(
    session: Session, *, transcript: Transcript, reviewer: User, start: int, end: int, codes: list[str],
    stance: str | None, codebook: Codebook, speaker: str = "",
) -> tuple[Quotation, ReviewEvent]:
    """A quotation the model missed: stored with origin="reviewer" plus its "create" event."""
    payload = {"start": start, "end": end, "codes": codes, "stance": stance}
    validate_decision("create", payload, codebook, transcript)
    turn = next((t for t in transcript.turns if t.start <= start < t.end), None)
    quotation = Quotation(
        transcript_id=transcript.id, run_id=None, origin="reviewer", start=start, end=end,
        turn_index=turn.index if turn else -1, speaker=turn.speaker if turn else speaker,
        stance=stance, created_by=reviewer.id,
    )
    quotation.review_seq = 1
    session.add(quotation)
    session.flush()
    event = ReviewEvent(
        transcript_id=transcript.id, quotation_id=quotation.id, reviewer_id=reviewer.id, action="create",
        payload=payload, based_on_event_id=None,
    )
    session.add(event)
    session.flush()
    return quotation, event
