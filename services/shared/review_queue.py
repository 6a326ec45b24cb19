"""Project-wide review: the queue (document order or uncertainty first), progress per transcript,
and the code manager's counts and quotation lists.

Everything here is derived on read from the machine's quotations and the review events of one
view (one reviewer, or everyone folded together); nothing is stored.
"""
from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from services.shared.codebook import Codebook
from services.shared.errors import InputError
from services.shared.quotations import resolve_code_filter
from services.shared.review_rows import current_condition, project_rows, quotation_rows
from services.shared.review_views import ReviewedQuotation, progress_of, review_status, reviewed_quotations
from services.shared.tables import Quotation, Suggestion, Transcript

log = logging.getLogger(__name__)

QUEUE_MODES = ("document", "uncertainty")
OUTCOMES = ("open", "confirmed", "rejected")
NO_CASE = "(geen casus)"
# Quotations read per round while filling a queue page; reads grow up to the maximum (ids per IN).
QUEUE_FIRST_CHUNK = 100
QUEUE_MAX_CHUNK = 500


@dataclass
class TranscriptItems:
    """A transcript of the project with the visible quotations of one view, in text order."""

    transcript: Transcript
    items: list[ReviewedQuotation]


def project_items(session: Session, project_id: str, reviewer_id: int | None) -> list[TranscriptItems]:
    """All transcripts of a project (oldest first) with their current quotations and states.

    Three queries for transcripts and quotations and one for events, whatever the number of transcripts.
    """
    transcripts = list(
        session.scalars(
            select(Transcript).where(Transcript.project_id == project_id).order_by(Transcript.created_at, Transcript.id)
        )
    )
    rows = project_rows(session, project_id)
    quotations = [row for transcript in transcripts for row in rows.get(transcript.id, [])]
    grouped: dict[str, list[ReviewedQuotation]] = defaultdict(list)
    for item in reviewed_quotations(session, quotations, reviewer_id):
        grouped[item.quotation.transcript_id].append(item)
    return [TranscriptItems(t, grouped.get(t.id, [])) for t in transcripts]


def code_outcome(item: ReviewedQuotation, code_id: str) -> str | None:
    """open | confirmed | rejected for one code of a quotation in a view; None when it never had it."""
    state = item.state
    if code_id in state.codes:
        return "confirmed" if item.reviewed else "open"
    if code_id in state.rejected_codes:
        return "rejected"
    return None


def review_queue(
    session: Session, project_id: str, reviewer_id: int | None, mode: str, *,
    include_reviewed: bool = False, limit: int | None = None,
) -> list[dict]:
    """The quotations to review across all processed transcripts of a project.

    document: transcript by transcript in upload order, each in text order.
    uncertainty: lowest model confidence first across all transcripts (ties in document order);
    reviewer-made quotations, which have no confidence, come last.
    """
    if mode not in QUEUE_MODES:
        raise InputError(f"Queue mode must be one of: {', '.join(QUEUE_MODES)}.", mode=mode)
    # The order comes from one query of ids; review states are folded only for as many quotations as
    # the page needs (a project of 200 interviews has ~10,000, and folding them all took seconds).
    ordered = list(session.scalars(_queue_order(project_id, mode)))
    entries: list[ReviewedQuotation] = []
    position, chunk = 0, QUEUE_FIRST_CHUNK if limit is None else max(2 * limit, QUEUE_FIRST_CHUNK)
    while position < len(ordered) and (limit is None or len(entries) < limit):
        ids = ordered[position:position + chunk]
        position += len(ids)
        chunk = min(2 * chunk, QUEUE_MAX_CHUNK)  # many reviewed ones in a row: read further ahead
        rank = {quotation_id: index for index, quotation_id in enumerate(ids)}
        rows = sorted(quotation_rows(session, Quotation.id.in_(ids)), key=lambda row: rank[row.id])
        entries += [item for item in reviewed_quotations(session, rows, reviewer_id)
                    if include_reviewed or not item.reviewed]
    if limit is not None:
        entries = entries[:limit]
    transcripts = {t.id: t for t in session.scalars(
        select(Transcript).where(Transcript.id.in_({item.quotation.transcript_id for item in entries})))}
    return [_queue_row(transcripts[item.quotation.transcript_id], item) for item in entries]


def _queue_order(project_id: str, mode: str) -> Select:
    """Ids of the current quotations of the project's processed transcripts, in queue order."""
    document_order = (Transcript.created_at, Transcript.id, Quotation.start, Quotation.end, Quotation.id)
    query = (
        select(Quotation.id)
        .join(Transcript, Transcript.id == Quotation.transcript_id)
        .where(Transcript.project_id == project_id, Transcript.status == "done", current_condition())
    )
    if mode == "document":
        return query.order_by(*document_order)
    confidence = (select(func.max(Suggestion.score)).where(Suggestion.quotation_id == Quotation.id)
                  .correlate(Quotation).scalar_subquery())
    # NULLS LAST spelled portably: reviewer-made quotations (no score) after every scored one.
    return query.order_by(confidence.is_(None), confidence, *document_order)


def _queue_row(transcript: Transcript, item: ReviewedQuotation) -> dict:
    return {
        "transcript_id": transcript.id, "quotation_id": item.quotation.id, "filename": transcript.filename,
        "respondent_id": transcript.respondent_id, "start": item.state.start, "end": item.state.end,
        "confidence": None if item.confidence is None else round(float(item.confidence), 4),
        "codes": list(item.state.codes), "status": item.state.status,
    }


JobProgress = Callable[[Transcript], dict | None]


def project_overview(
    session: Session, project_id: str, reviewer_id: int | None, job_progress: JobProgress | None = None
) -> list[dict]:
    """Per transcript: processing status (with the job's stage and percentage while it runs),
    and how many of its quotations this view has reviewed."""
    rows = []
    for group in project_items(session, project_id, reviewer_id):
        transcript = group.transcript
        progress = progress_of(group.items)
        processing = None
        if transcript.status in ("queued", "processing") and job_progress is not None:
            processing = job_progress(transcript)
        rows.append({
            "transcript_id": transcript.id, "filename": transcript.filename,
            "respondent_id": transcript.respondent_id, "case_name": transcript.case_name,
            "status": transcript.status, "review_status": review_status(transcript, progress),
            "processing": processing, "progress": progress,
            "error_code": transcript.error_code, "error_message": transcript.error_message,
        })
    return rows


def _code_row(codebook: Codebook, code_id: str) -> dict:
    code = codebook.code(code_id)
    return {"id": code.id, "kind": code.kind, "name": code.name, "number": code.number,
            "category": code.category, "color": code.color}


def code_counts(
    session: Session, project_id: str, codebook: Codebook, reviewer_id: int | None, transcript_id: str | None = None
) -> list[dict]:
    """The code manager: per knelpunt and oplossing code, how many quotations the model suggested,
    and how many are open, confirmed and rejected in this view (optionally for one transcript)."""
    tallies: dict[str, Counter] = defaultdict(Counter)
    respondents: dict[str, set[str]] = defaultdict(set)
    for group in project_items(session, project_id, reviewer_id):
        if transcript_id is not None and group.transcript.id != transcript_id:
            continue
        for item in group.items:
            for suggestion in item.quotation.suggestions:
                tallies[suggestion.code_id]["suggested"] += 1
            for code_id in {*item.state.codes, *item.state.rejected_codes}:
                outcome = code_outcome(item, code_id)
                tallies[code_id][outcome] += 1
                if outcome != "rejected":
                    respondents[code_id].add(group.transcript.respondent_id or group.transcript.id)
    known = [c.id for c in (*codebook.knelpunten(), *codebook.solutions())]
    unknown = sorted(set(tallies) - set(known))
    if unknown:
        # A model trained on another codebook version suggested these; show them rather than hide them.
        log.warning("project %s has quotations with codes outside its codebook: %s", project_id, ", ".join(unknown))
    rows = []
    for code_id in [*known, *unknown]:
        row = _code_row(codebook, code_id) if code_id in known else {
            "id": code_id, "kind": "unknown", "name": "(not in the codebook)", "number": None, "category": None,
            "color": "#777777",
        }
        counts = tallies.get(code_id, Counter())
        row.update({"suggested": counts["suggested"], **{o: counts[o] for o in OUTCOMES},
                    "respondents": len(respondents.get(code_id, ()))})
        rows.append(row)
    return rows


def code_quotations(
    session: Session, project_id: str, codebook: Codebook, code: str, reviewer_id: int | None, *,
    include_rejected: bool = False,
) -> list[dict]:
    """The quotations of one code across the project, per case and respondent (as chapter 4 of the
    thesis quotes its respondents), each with the exact text and its outcome in this view."""
    code_id = resolve_code_filter(codebook, code)
    rows = []
    for group in project_items(session, project_id, reviewer_id):
        transcript = group.transcript
        for item in group.items:
            outcome = code_outcome(item, code_id)
            if outcome is None or (outcome == "rejected" and not include_rejected):
                continue
            score = next((s.score for s in item.quotation.suggestions if s.code_id == code_id), None)
            state = item.state
            rows.append({
                "quotation_id": item.quotation.id, "transcript_id": transcript.id, "filename": transcript.filename,
                "respondent_id": transcript.respondent_id, "case_name": transcript.case_name,
                "start": state.start, "end": state.end, "text": transcript.text[state.start:state.end],
                "outcome": outcome, "status": state.status, "stance": state.stance, "origin": item.quotation.origin,
                "score": None if score is None else round(float(score), 4),
            })
    rows.sort(key=lambda r: (r["case_name"] or NO_CASE, r["respondent_id"] or "", r["transcript_id"], r["start"]))
    return rows
