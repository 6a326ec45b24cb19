"""Agreement between two reviewers who reviewed the same transcripts independently.

Each reviewer's state is the fold of only their own events, so their decisions on the same
machine quotation can be compared. The unit is (quotation, code): for every model quotation
both reviewers decided on, and every code either the model or one of them put on it, did the
reviewer keep that code? Over those binary decisions: observed agreement and Cohen's kappa.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from services.shared.agreement import cohen_kappa
from services.shared.errors import InputError
from services.shared.review_queue import project_items


def reviewer_agreement(session: Session, project_id: str, reviewer_a: int, reviewer_b: int) -> dict:
    """Agreement of two reviewers over the model quotations both of them decided on."""
    if reviewer_a == reviewer_b:
        raise InputError("Agreement needs two different reviewers.")
    first = {item.quotation.id: item for group in project_items(session, project_id, reviewer_a) for item in group.items}
    second = {item.quotation.id: item for group in project_items(session, project_id, reviewer_b) for item in group.items}
    pairs: list[tuple[bool, bool]] = []
    per_code: dict[str, list[tuple[bool, bool]]] = {}
    status_pairs: list[tuple[bool, bool]] = []
    for quotation_id, a in first.items():
        b = second.get(quotation_id)
        if b is None or a.quotation.origin != "model" or not (a.reviewed and b.reviewed):
            continue
        status_pairs.append((a.state.status != "rejected", b.state.status != "rejected"))
        candidates = {s.code_id for s in a.quotation.suggestions} | set(a.state.codes) | set(b.state.codes)
        for code_id in sorted(candidates):
            pair = (code_id in a.state.codes, code_id in b.state.codes)
            pairs.append(pair)
            per_code.setdefault(code_id, []).append(pair)

    def summary(decisions: list[tuple[bool, bool]]) -> dict:
        agreement = sum(x == y for x, y in decisions) / len(decisions) if decisions else None
        kappa = cohen_kappa(decisions)
        return {"decisions": len(decisions), "agreement": None if agreement is None else round(agreement, 4),
                "kappa": None if kappa is None else round(kappa, 4)}

    return {
        "reviewers": [reviewer_a, reviewer_b],
        "quotations": len(status_pairs),
        "kept_or_rejected": summary(status_pairs),
        "codes": summary(pairs),
        "per_code": {code_id: summary(decisions) for code_id, decisions in per_code.items()},
    }
