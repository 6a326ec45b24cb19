"""Co-occurrence per episode (same, overlapping or adjacent quotations) and ATLAS.ti's c-coefficient."""
from __future__ import annotations

from datetime import datetime, timezone

from services.shared.outputs.cooccurrence import Pair, cooccurrence, episodes, solution_matrix
from services.shared.outputs.data import CodedQuotation


def quotation(qid: str, transcript: str, start: int, end: int, codes: list[str]) -> CodedQuotation:
    return CodedQuotation(quotation_id=qid, transcript_id=transcript, start=start, end=end, text="x", codes=codes,
                          stance=None, confirmed=True, origin="reviewer", speaker="R",
                          created_at=datetime(2024, 1, 1, tzinfo=timezone.utc))


def test_cooccurrence_c_coefficient():
    assert Pair("A", "B", 4, 3, 2).c == 2 / 5
    assert Pair("A", "B", 0, 0, 0).c == 0.0


def test_cooccurrence_episodes_overlap_and_gap():
    items = [quotation("1", "t", 0, 10, ["A"]), quotation("2", "t", 5, 20, ["B"]), quotation("3", "t", 60, 70, ["C"]),
             quotation("4", "u", 0, 5, ["D"])]
    assert [[q.quotation_id for q in e] for e in episodes(items, None)] == [["1", "2"], ["3"], ["4"]]
    assert [[q.quotation_id for q in e] for e in episodes(items, 40)] == [["1", "2", "3"], ["4"]]


def test_cooccurrence_seeded_project(codings):
    result = cooccurrence(codings, max_gap=None)
    assert result.pair("KP12", "OPL-EEN-AANSPREEKPUNT").n_ab == 1
    assert result.pair("KP14", "KP19").n_ab == 0  # 27 characters apart: adjacent, not overlapping
    near = cooccurrence(codings, max_gap=200)
    assert near.pair("KP14", "KP19").n_ab == 1 and near.pair("KP14", "KP19").c == 1.0
    matrix = solution_matrix(codings, near)
    assert [s["id"] for s in matrix["solutions"]] == ["OPL-EEN-AANSPREEKPUNT"]
    column = [k["id"] for k in matrix["knelpunten"]].index("KP12")
    assert matrix["cells"][0][column] == {"n": 1, "c": 1.0, "addressed_in_codebook": True}  # one episode in X1
