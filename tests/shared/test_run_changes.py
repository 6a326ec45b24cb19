"""Matching the quotations of two runs by passage and describing what changed between them."""
from __future__ import annotations

from services.shared.review_rows import QuotationRow, SuggestionRow
from services.shared.run_changes import describe_change, match_quotations


def _q(qid: str, start: int, end: int, codes: dict[str, float], stance: str = "knelpunt") -> QuotationRow:
    suggestions = [SuggestionRow(c, s, "v", "sha256:x") for c, s in sorted(codes.items(), key=lambda kv: -kv[1])]
    return QuotationRow(qid, "t", "run", "model", start, end, 1, "R", stance, 0.8, None, suggestions)


def test_run_changes_match_same_span_first_then_largest_overlap() -> None:
    base = [_q("a1", 0, 10, {"KP01": 0.9}), _q("a2", 20, 40, {"KP02": 0.6}), _q("a3", 50, 60, {"KP03": 0.7})]
    other = [_q("b1", 0, 10, {"KP01": 0.91}), _q("b2", 22, 30, {"KP05": 0.5}), _q("b3", 25, 45, {"KP02": 0.7}),
             _q("b4", 70, 80, {"KP04": 0.8})]

    pairs = [(a and a.id, b and b.id) for a, b in match_quotations(base, other)]

    # b3 overlaps a2 by 15 characters, b2 by 8: a2 pairs with b3, b2 is new; a3 has no counterpart.
    assert pairs == [("a1", "b1"), (None, "b2"), ("a2", "b3"), ("a3", None), (None, "b4")]


def test_run_changes_overlap_ties_prefer_a_shared_code() -> None:
    base = [_q("a1", 10, 20, {"KP02": 0.6})]
    other = [_q("b1", 5, 15, {"KP09": 0.6}), _q("b2", 15, 25, {"KP02": 0.6})]
    assert [(a and a.id, b and b.id) for a, b in match_quotations(base, other)] == [(None, "b1"), ("a1", "b2")]


def test_run_changes_describe_span_codes_stance_and_confidence() -> None:
    before = _q("a", 0, 10, {"KP01": 0.90, "KP02": 0.40, "KP03": 0.5})
    after = _q("b", 0, 12, {"KP01": 0.93, "KP02": 0.60, "KP04": 0.7}, stance="oplossing")

    change = describe_change(before, after, 0.05)

    assert change["changes"] == ["span", "codes", "stance", "confidence"]
    assert change["codes_added"] == ["KP04"] and change["codes_removed"] == ["KP03"]
    assert change["confidence"] == {"KP02": [0.4, 0.6]}  # KP01 moved by 0.03 only
    assert describe_change(before, _q("c", 0, 10, {"KP01": 0.91, "KP02": 0.41, "KP03": 0.5}), 0.05)["changes"] == []
    assert describe_change(before, _q("c", 0, 10, {"KP01": 0.91, "KP02": 0.41, "KP03": 0.5}), 0.0)["changes"] == [
        "confidence"]
