"""Which agreement comparisons a project can show (the code manager's selector).

The statistics themselves (kappa, alpha, F1 per code and overall, counted per sentence) have one
implementation, services/shared/agreement.py; this module only finds the raters: the model, and
every member who decided on a quotation of the project, paired with each other where they
reviewed at least one transcript in common (independent review of the same text).
"""
from __future__ import annotations

from collections import defaultdict
from itertools import combinations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.shared.agreement import MODEL
from services.shared.tables import ReviewEvent, Transcript, User


def agreement_comparisons(session: Session, project_id: str) -> dict:
    """The raters of a project and the comparisons worth showing.

    Model vs each reviewer who decided anything; reviewer vs reviewer for every pair that decided
    on quotations of at least one common transcript. Counts are transcripts with decisions.
    """
    rows = session.execute(
        select(ReviewEvent.reviewer_id, User.username, ReviewEvent.transcript_id, func.count(ReviewEvent.id))
        .join(Transcript, Transcript.id == ReviewEvent.transcript_id)
        .join(User, User.id == ReviewEvent.reviewer_id)
        .where(Transcript.project_id == project_id)
        .group_by(ReviewEvent.reviewer_id, User.username, ReviewEvent.transcript_id)
    ).all()
    names: dict[int, str] = {}
    transcripts: dict[int, set[str]] = defaultdict(set)
    decisions: dict[int, int] = defaultdict(int)
    for reviewer_id, username, transcript_id, count in rows:
        names[reviewer_id] = username
        transcripts[reviewer_id].add(transcript_id)
        decisions[reviewer_id] += count
    reviewers = [
        {"id": reviewer_id, "username": names[reviewer_id], "transcripts": len(transcripts[reviewer_id]),
         "decisions": decisions[reviewer_id]}
        for reviewer_id in sorted(names, key=lambda r: (names[r], r))
    ]
    comparisons = [
        {"first": MODEL, "second": r["id"], "label": f"model vs {r['username']}", "transcripts": r["transcripts"]}
        for r in reviewers
    ]
    for a, b in combinations(reviewers, 2):
        shared = len(transcripts[a["id"]] & transcripts[b["id"]])
        if shared:
            comparisons.append({"first": a["id"], "second": b["id"], "label": f"{a['username']} vs {b['username']}",
                                "transcripts": shared})
    return {"reviewers": reviewers, "comparisons": comparisons}
