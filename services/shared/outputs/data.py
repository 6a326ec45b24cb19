"""The coded material every research output and the REFI-QDA export start from.

Confirmed codings are quotations whose folded review state (all reviewers' events, see
services.shared.review) is "confirmed" or "edited" with at least one code; they are attributed
to the reviewer of the last decision. Unreviewed model quotations are machine suggestions and
are only included when asked for.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.shared.codebook import Codebook
from services.shared.projects import project_codebook
from services.shared.quotations import current_quotations
from services.shared.review import events_for, fold, initial_state
from services.shared.tables import ProcessingRun, Project, Quotation, ReviewEvent, Transcript, User

NO_CASE = "(geen casus)"
CONFIRMED_STATUSES = ("confirmed", "edited")
# Events that are not a decision about the coding itself.
_NOT_DECISIONS = ("comment", "undo")


@dataclass(frozen=True)
class Memo:
    """A reviewer's comment on a quotation (a REFI Note)."""

    event_id: int
    reviewer_id: int | None
    text: str
    at: datetime


@dataclass
class CodedQuotation:
    """A quotation with the codes that count for outputs: confirmed by people, or suggested by a model."""

    quotation_id: str
    transcript_id: str
    start: int
    end: int
    text: str
    codes: list[str]
    stance: str | None
    confirmed: bool
    origin: str
    speaker: str
    created_at: datetime
    decided_by: int | None = None
    decided_at: datetime | None = None
    model_version: str | None = None
    scores: dict[str, float] = field(default_factory=dict)
    memos: list[Memo] = field(default_factory=list)


@dataclass
class ProjectCodings:
    """A project's transcripts, codebook, users and coded quotations, in a stable order."""

    project: Project
    codebook: Codebook
    transcripts: list[Transcript]
    quotations: list[CodedQuotation]
    users: dict[int, User]

    def confirmed(self) -> list[CodedQuotation]:
        """Only the quotations people confirmed."""
        return [q for q in self.quotations if q.confirmed]

    def __post_init__(self) -> None:
        self._transcripts = {t.id: t for t in self.transcripts}

    def transcript(self, transcript_id: str) -> Transcript:
        """The transcript with this id."""
        return self._transcripts[transcript_id]

    def respondent(self, transcript_id: str) -> str:
        """The respondent id of a transcript, or its file name when it has none."""
        transcript = self._transcripts[transcript_id]
        return transcript.respondent_id or transcript.filename

    def case(self, transcript_id: str) -> str:
        """The case (casus) of a transcript, or NO_CASE."""
        return self._transcripts[transcript_id].case_name or NO_CASE

    def cases(self) -> list[str]:
        """All cases in order of first appearance (transcripts are in upload order)."""
        seen: list[str] = []
        for transcript in self.transcripts:
            case = transcript.case_name or NO_CASE
            if case not in seen:
                seen.append(case)
        return seen


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes, which were stored as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def project_codings(
    session: Session, project: Project, *, include_machine: bool = False, min_confidence: float = 0.0
) -> ProjectCodings:
    """Collect confirmed codings (and, if asked, unreviewed machine suggestions) of a whole project."""
    codebook = project_codebook(project)
    transcripts = list(session.scalars(
        select(Transcript).where(Transcript.project_id == project.id)
        .order_by(Transcript.created_at, Transcript.filename, Transcript.id)
    ))
    coded: list[CodedQuotation] = []
    user_ids: set[int] = set()
    for transcript in transcripts:
        quotations = current_quotations(session, transcript)
        events = events_for(session, [q.id for q in quotations])
        runs = _runs(session, quotations)
        for quotation in quotations:
            item = _coded(quotation, events[quotation.id], transcript, runs, include_machine, min_confidence)
            if item is None:
                continue
            coded.append(item)
            user_ids.update(uid for uid in [item.decided_by, *(m.reviewer_id for m in item.memos)] if uid)
    order = {t.id: index for index, t in enumerate(transcripts)}
    coded.sort(key=lambda q: (order[q.transcript_id], q.start, q.end, q.quotation_id))
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    return ProjectCodings(project=project, codebook=codebook, transcripts=transcripts, quotations=coded, users=users)


def _runs(session: Session, quotations: list[Quotation]) -> dict[str, ProcessingRun]:
    run_ids = {q.run_id for q in quotations if q.run_id}
    if not run_ids:
        return {}
    return {r.id: r for r in session.scalars(select(ProcessingRun).where(ProcessingRun.id.in_(run_ids)))}


def _coded(
    quotation: Quotation, events: list[ReviewEvent], transcript: Transcript, runs: dict[str, ProcessingRun],
    include_machine: bool, min_confidence: float,
) -> CodedQuotation | None:
    state = fold(initial_state(quotation), events)
    undone = {e.payload.get("event_id") for e in events if e.action == "undo"}
    live = [e for e in events if e.action != "undo" and e.id not in undone]
    memos = [Memo(e.id, e.reviewer_id, str(e.payload.get("text", "")), as_utc(e.created_at))
             for e in live if e.action == "comment"]
    decisions = [e for e in live if e.action not in _NOT_DECISIONS]
    scores = {s.code_id: float(s.score) for s in quotation.suggestions}
    run = runs.get(quotation.run_id) if quotation.run_id else None
    model_version = run.model_version if run else next((s.model_version for s in quotation.suggestions), None)
    base = dict(
        quotation_id=quotation.id, transcript_id=transcript.id, speaker=quotation.speaker, origin=quotation.origin,
        created_at=as_utc(quotation.created_at), model_version=model_version, scores=scores, memos=memos,
    )
    if state.status in CONFIRMED_STATUSES and state.codes:
        last = decisions[-1] if decisions else None
        return CodedQuotation(
            start=state.start, end=state.end, text=transcript.text[state.start:state.end], codes=list(state.codes),
            stance=state.stance, confirmed=True, decided_by=last.reviewer_id if last else quotation.created_by,
            decided_at=as_utc(last.created_at) if last else as_utc(quotation.created_at), **base,
        )
    if include_machine and state.status == "unreviewed" and quotation.origin == "model":
        codes = [code for code, score in scores.items() if score >= min_confidence]
        if not codes:
            return None
        return CodedQuotation(
            start=quotation.start, end=quotation.end, text=transcript.text[quotation.start:quotation.end],
            codes=codes, stance=quotation.stance, confirmed=False, **base,
        )
    return None
