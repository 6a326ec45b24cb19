"""What changed between two processing runs of one transcript (e.g. after re-running it with a newer model).

Runs are never edited or deleted: a re-run adds a run and makes it current, so any two runs can be
compared. Quotations are matched by passage: the same span first, then the largest overlap (one to
one). A matched pair is "changed" when its span, codes, stance or a code's confidence (by at least
`min_confidence_change`) differ; what is left over was added by the other run or removed by it.
Reviewers' decisions stay on the quotations they were made on; each base quotation says how many.
"""
from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.shared.errors import ConflictError, NotFoundError
from services.shared.review_rows import QuotationRow, SuggestionRow
from services.shared.tables import ProcessingRun, Quotation, ReviewEvent, Suggestion, Transcript

DEFAULT_MIN_CONFIDENCE_CHANGE = 0.05


def transcript_runs(session: Session, transcript: Transcript) -> list[dict]:
    """Every processing run of a transcript, oldest first, with its model version and quotation count."""
    runs = session.scalars(
        select(ProcessingRun).where(ProcessingRun.transcript_id == transcript.id)
        .order_by(ProcessingRun.created_at, ProcessingRun.id)
    ).all()
    counts = dict(session.execute(
        select(Quotation.run_id, func.count(Quotation.id))
        .where(Quotation.transcript_id == transcript.id, Quotation.origin == "model").group_by(Quotation.run_id)
    ).all())
    return [_run_view(run, counts.get(run.id, 0), run.id == transcript.current_run_id) for run in runs]


def _run_view(run: ProcessingRun, quotations: int, current: bool) -> dict:
    return {
        "id": run.id, "model_version": run.model_version, "data_snapshot": run.data_snapshot,
        "embedder": run.embedder, "segmenter": run.segmenter, "created_at": run.created_at.isoformat(),
        "quotations": quotations, "current": current,
    }


def _run_quotations(session: Session, run_id: str) -> list[QuotationRow]:
    rows = [
        QuotationRow(q.id, q.transcript_id, q.run_id, q.origin, q.start, q.end, q.turn_index, q.speaker, q.stance,
                     q.stance_score, q.created_by)
        for q in session.scalars(select(Quotation).where(Quotation.run_id == run_id, Quotation.origin == "model")
                                 .order_by(Quotation.start, Quotation.end, Quotation.id))
    ]
    by_id = {row.id: row for row in rows}
    for suggestion in session.scalars(
        select(Suggestion).join(Quotation, Quotation.id == Suggestion.quotation_id)
        .where(Quotation.run_id == run_id).order_by(Suggestion.score.desc(), Suggestion.id)
    ):
        by_id[suggestion.quotation_id].suggestions.append(SuggestionRow(
            suggestion.code_id, suggestion.score, suggestion.model_version, suggestion.data_snapshot))
    return rows


def _pick_runs(runs: list[dict], base: str | None, other: str | None) -> tuple[dict, dict]:
    """The runs to compare; by default the current run against the latest run before it."""
    by_id = {run["id"]: run for run in runs}
    for run_id in (base, other):
        if run_id is not None and run_id not in by_id:
            raise NotFoundError("No processing run with this id for the transcript.", run_id=run_id)
    if other is None:
        current = [run for run in runs if run["current"]]
        other = (current[0] if current else runs[-1])["id"] if runs else None
    if base is None and other is not None:
        position = [run["id"] for run in runs].index(other)
        base = runs[position - 1]["id"] if position > 0 else None
    if base is None or other is None:
        raise ConflictError(
            "This transcript has one processing run only; re-run it with another model version "
            "(POST /api/v1/transcripts/<id>/rerun) to see what changes.", runs=len(runs))
    if base == other:
        raise ConflictError("Compare two different runs.", run_id=base)
    return by_id[base], by_id[other]


def _codes(row: QuotationRow) -> dict[str, float]:
    return {s.code_id: float(s.score) for s in row.suggestions}


def _overlap(a: QuotationRow, b: QuotationRow) -> int:
    return max(0, min(a.end, b.end) - max(a.start, b.start))


Pair = tuple[QuotationRow | None, QuotationRow | None]


def match_quotations(base: list[QuotationRow], other: list[QuotationRow]) -> list[Pair]:
    """Pairs (base, other) of the same passage; unmatched quotations pair with None."""
    pairs: list[Pair] = []
    left = {q.id: q for q in base}
    right = {q.id: q for q in other}
    by_span = {(q.start, q.end): q for q in other}
    for q in base:
        twin = by_span.get((q.start, q.end))
        if twin is not None and twin.id in right:
            pairs.append((q, twin))
            del left[q.id], right[twin.id]
    # The rest: largest overlap first, one to one; sharing a code breaks ties.
    candidates = sorted(
        ((_overlap(a, b), bool(_codes(a).keys() & _codes(b).keys()), a.id, b.id)
         for a in left.values() for b in right.values() if _overlap(a, b) > 0),
        key=lambda c: (-c[0], not c[1], c[2], c[3]),
    )
    for _size, _shared, a_id, b_id in candidates:
        if a_id in left and b_id in right:
            pairs.append((left.pop(a_id), right.pop(b_id)))
    pairs.extend((q, None) for q in left.values())
    pairs.extend((None, q) for q in right.values())
    pairs.sort(key=lambda p: ((p[1] or p[0]).start, (p[1] or p[0]).end))
    return pairs


def _quotation_view(q: QuotationRow, text: str, decisions: int | None = None) -> dict:
    view = {
        "id": q.id, "start": q.start, "end": q.end, "text": text[q.start:q.end], "stance": q.stance,
        "stance_score": None if q.stance_score is None else round(float(q.stance_score), 4),
        "codes": [{"id": s.code_id, "score": round(float(s.score), 4)} for s in q.suggestions],
        "confidence": round(float(max(s.score for s in q.suggestions)), 4) if q.suggestions else None,
    }
    if decisions is not None:
        view["decisions"] = decisions
    return view


def describe_change(base: QuotationRow, other: QuotationRow, min_confidence_change: float) -> dict:
    """What differs between two quotations of the same passage (empty lists: nothing)."""
    before, after = _codes(base), _codes(other)
    confidence = {
        code: [round(before[code], 4), round(after[code], 4)]
        for code in sorted(before.keys() & after.keys())
        if abs(after[code] - before[code]) >= min_confidence_change
    }
    changes = [name for name, differs in (
        ("span", (base.start, base.end) != (other.start, other.end)),
        ("codes", before.keys() != after.keys()),
        ("stance", base.stance != other.stance),
        ("confidence", bool(confidence)),
    ) if differs]
    return {"changes": changes, "codes_added": sorted(after.keys() - before.keys()),
            "codes_removed": sorted(before.keys() - after.keys()), "confidence": confidence}


def compare_runs(
    session: Session, transcript: Transcript, base: str | None = None, other: str | None = None, *,
    min_confidence_change: float = DEFAULT_MIN_CONFIDENCE_CHANGE,
) -> dict:
    """The quotations added, removed and changed from run `base` to run `other`, in text order."""
    base_run, other_run = _pick_runs(transcript_runs(session, transcript), base, other)
    base_rows = _run_quotations(session, base_run["id"])
    other_rows = _run_quotations(session, other_run["id"])
    decided = Counter(dict(session.execute(
        select(ReviewEvent.quotation_id, func.count(ReviewEvent.id))
        .where(ReviewEvent.quotation_id.in_([q.id for q in base_rows])).group_by(ReviewEvent.quotation_id)
    ).all())) if base_rows else Counter()
    items, tally = [], Counter()
    for a, b in match_quotations(base_rows, other_rows):
        if a is not None and b is not None:
            change = describe_change(a, b, min_confidence_change)
            if not change["changes"]:
                tally["unchanged"] += 1
                continue
            kind = "changed"
        else:
            change = {"changes": [], "codes_added": [], "codes_removed": [], "confidence": {}}
            kind = "added" if a is None else "removed"
        tally[kind] += 1
        items.append({
            "kind": kind, **change,
            "base": None if a is None else _quotation_view(a, transcript.text, decided.get(a.id, 0)),
            "other": None if b is None else _quotation_view(b, transcript.text),
        })
    return {
        "transcript_id": transcript.id, "base": base_run, "other": other_run,
        "min_confidence_change": min_confidence_change,
        "summary": {kind: tally[kind] for kind in ("added", "removed", "changed", "unchanged")},
        "changes": items,
    }
