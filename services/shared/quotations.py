"""Reading quotations and per-code summaries in the shape the API and the CLI return them."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from services.shared.codebook import Codebook
from services.shared.errors import InputError
from services.shared.tables import ProcessingRun, Quotation, Transcript


@dataclass(frozen=True)
class QuotationFilter:
    """Which quotations to list: a code id or knelpunt number, a stance, a minimum confidence."""

    code: str | None = None
    stance: str | None = None
    min_confidence: float = 0.0


def code_view(codebook: Codebook, code_id: str, score: float) -> dict:
    """A code as it appears on a quotation: id, kind, number (knelpunten), name, score."""
    code = codebook.code(code_id)
    view = {"id": code.id, "kind": code.kind, "name": code.name, "score": round(float(score), 4)}
    if code.number is not None:
        view["number"] = code.number
    return view


def resolve_code_filter(codebook: Codebook, code: str | None) -> str | None:
    """Accept a code id ("KP03") or a knelpunt number ("3"); raise UnknownCodeError otherwise."""
    if code is None or code == "":
        return None
    if code.isdigit():
        return codebook.knelpunt_by_number(int(code)).id
    return codebook.code(code).id


def quotation_view(quotation: Quotation, text: str, codebook: Codebook, run: ProcessingRun | None) -> dict:
    """A quotation with its exact text and suggested codes (highest score first)."""
    codes = [code_view(codebook, s.code_id, s.score) for s in quotation.suggestions]
    codes.sort(key=lambda c: -c["score"])
    return {
        "id": quotation.id,
        "start": quotation.start,
        "end": quotation.end,
        "text": text[quotation.start:quotation.end],
        "speaker": quotation.speaker,
        "turn_index": quotation.turn_index,
        "origin": quotation.origin,
        "stance": quotation.stance,
        "stance_score": None if quotation.stance_score is None else round(quotation.stance_score, 4),
        "codes": codes,
        "model_version": run.model_version if run else None,
        "data_snapshot": run.data_snapshot if run else None,
    }


def current_quotations(session: Session, transcript: Transcript) -> list[Quotation]:
    """Quotations of the transcript's current run plus those reviewers made, in text order."""
    conditions = [Quotation.origin == "reviewer"]
    if transcript.current_run_id:
        conditions.append(Quotation.run_id == transcript.current_run_id)
    return list(
        session.scalars(
            select(Quotation)
            .where(Quotation.transcript_id == transcript.id, or_(*conditions))
            .options(selectinload(Quotation.suggestions))
            .order_by(Quotation.start, Quotation.end)
        )
    )


def list_quotations(
    session: Session, transcript: Transcript, codebook: Codebook, filters: QuotationFilter | None = None
) -> list[dict]:
    """The transcript's quotations as views, filtered by code, stance and minimum confidence."""
    filters = filters or QuotationFilter()
    if not 0.0 <= filters.min_confidence <= 1.0:
        raise InputError("min_confidence must be between 0 and 1.")
    code_id = resolve_code_filter(codebook, filters.code)
    run = session.get(ProcessingRun, transcript.current_run_id) if transcript.current_run_id else None
    views = []
    for quotation in current_quotations(session, transcript):
        view = quotation_view(quotation, transcript.text, codebook, run if quotation.origin == "model" else None)
        if filters.stance and view["stance"] != filters.stance:
            continue
        if code_id is not None:
            view["codes"] = [c for c in view["codes"] if c["id"] == code_id]
        view["codes"] = [c for c in view["codes"] if c["score"] >= filters.min_confidence]
        if not view["codes"]:
            continue
        views.append(view)
    return views


def code_summary(session: Session, project_id: str, codebook: Codebook) -> list[dict]:
    """Per code: number of quotations, of distinct respondents, and quotations per case."""
    transcripts = list(session.scalars(select(Transcript).where(Transcript.project_id == project_id)))
    counts: dict[str, int] = defaultdict(int)
    respondents: dict[str, set[str]] = defaultdict(set)
    per_case: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for transcript in transcripts:
        for quotation in current_quotations(session, transcript):
            for code_id in {s.code_id for s in quotation.suggestions}:
                counts[code_id] += 1
                respondents[code_id].add(transcript.respondent_id or transcript.id)
                per_case[code_id][transcript.case_name or "(geen casus)"] += 1
    summary = []
    for code in [*codebook.knelpunten(), *codebook.solutions()]:
        row = {
            "id": code.id, "kind": code.kind, "name": code.name, "quotations": counts.get(code.id, 0),
            "respondents": len(respondents.get(code.id, ())), "per_case": dict(per_case.get(code.id, {})),
        }
        if code.number is not None:
            row["number"] = code.number
        summary.append(row)
    return summary
