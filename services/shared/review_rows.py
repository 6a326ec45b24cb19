"""Reading many quotations with their suggestions as plain rows, for the review screen.

Loading ~300 quotations and their suggestions as ORM objects cost more CPU than everything
else of a document view; two column queries build the same shape (the attributes review.py's
fold reads: id, start, end, stance, suggestions[].code_id) at a fraction of the cost.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from services.shared.tables import Quotation, Suggestion, Transcript


@dataclass(frozen=True)
class SuggestionRow:
    """A machine-suggested code with its score and provenance."""

    code_id: str
    score: float
    model_version: str
    data_snapshot: str


@dataclass
class QuotationRow:
    """The columns of a Quotation plus its suggestions, highest score first."""

    id: str
    transcript_id: str
    run_id: str | None
    origin: str
    start: int
    end: int
    turn_index: int
    speaker: str
    stance: str | None
    stance_score: float | None
    created_by: int | None
    suggestions: list[SuggestionRow] = field(default_factory=list)


_QUOTATION_COLUMNS = (
    Quotation.id, Quotation.transcript_id, Quotation.run_id, Quotation.origin, Quotation.start, Quotation.end,
    Quotation.turn_index, Quotation.speaker, Quotation.stance, Quotation.stance_score, Quotation.created_by,
)


def current_condition() -> ColumnElement[bool]:
    """Quotations of their transcript's current run, and those reviewers made (join Transcript)."""
    return or_(Quotation.origin == "reviewer", Quotation.run_id == Transcript.current_run_id)


def quotation_rows(session: Session, *where: ColumnElement[bool]) -> list[QuotationRow]:
    """Current quotations matching `where` (on Quotation and Transcript), in text order, with suggestions."""
    conditions = (current_condition(), *where)
    rows = [
        QuotationRow(*values)
        for values in session.execute(
            select(*_QUOTATION_COLUMNS)
            .join(Transcript, Transcript.id == Quotation.transcript_id)
            .where(*conditions)
            .order_by(Quotation.start, Quotation.end, Quotation.id)
        )
    ]
    if not rows:
        return rows
    by_id = {row.id: row for row in rows}
    suggestions = session.execute(
        select(Suggestion.quotation_id, Suggestion.code_id, Suggestion.score, Suggestion.model_version,
               Suggestion.data_snapshot)
        .join(Quotation, Quotation.id == Suggestion.quotation_id)
        .join(Transcript, Transcript.id == Quotation.transcript_id)
        .where(*conditions)
        .order_by(Suggestion.score.desc(), Suggestion.id)
    )
    for quotation_id, *values in suggestions:
        row = by_id.get(quotation_id)
        if row is not None:  # a run stored between the two queries belongs to the next read, not this one
            row.suggestions.append(SuggestionRow(*values))
    return rows


def transcript_rows(session: Session, transcript_id: str) -> list[QuotationRow]:
    """The current quotations of one transcript."""
    return quotation_rows(session, Quotation.transcript_id == transcript_id)


def project_rows(session: Session, project_id: str) -> dict[str, list[QuotationRow]]:
    """The current quotations of every transcript of a project, grouped by transcript id."""
    grouped: dict[str, list[QuotationRow]] = defaultdict(list)
    for row in quotation_rows(session, Transcript.project_id == project_id):
        grouped[row.transcript_id].append(row)
    return grouped


def as_rows(quotations: Sequence[Quotation]) -> list[QuotationRow]:
    """ORM quotations (e.g. one just decided on) in the same shape."""
    return [
        QuotationRow(
            q.id, q.transcript_id, q.run_id, q.origin, q.start, q.end, q.turn_index, q.speaker, q.stance,
            q.stance_score, q.created_by,
            [SuggestionRow(s.code_id, s.score, s.model_version, s.data_snapshot)
             for s in sorted(q.suggestions, key=lambda s: -s.score)],
        )
        for q in quotations
    ]
