"""Tests of span-level scoring: overlap counting, gold loading, and the real example transcripts."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.shared.codebook import load_codebook
from services.shared.config import REPO_ROOT
from services.shared.errors import LabelledDataError
from services.worker.span_eval import Span, add_counts, load_gold_transcripts, span_counts, span_scores
from tests.worker.training_support import TINY_GOLD, TINY_TRANSCRIPT, write_tiny_codebook, write_tiny_transcripts

def test_span_counts_match_on_overlap_of_the_same_code_only() -> None:
    predicted = [Span(0, 10, frozenset({"A"})), Span(20, 30, frozenset({"A", "B"})), Span(40, 50, frozenset({"B"})),
                 Span(100, 110, frozenset({"C"}))]
    gold = [Span(5, 15, frozenset({"A"})), Span(25, 35, frozenset({"A"})), Span(105, 120, frozenset({"A"})),
            Span(30, 40, frozenset({"B"})), Span(60, 70, frozenset({"B"}))]
    counts = span_counts(predicted, gold)
    # A: both predictions overlap an A gold quotation; the third A gold (105-120) only meets a C prediction.
    assert counts["A"] == {"predicted": 2, "matched_predicted": 2, "gold": 3, "matched_gold": 2}
    # B: 20-30 and 40-50 only touch 30-40 (offsets are half-open), so nothing overlaps.
    assert counts["B"] == {"predicted": 2, "matched_predicted": 0, "gold": 2, "matched_gold": 0}
    assert counts["C"] == {"predicted": 1, "matched_predicted": 0, "gold": 0, "matched_gold": 0}
    scores = span_scores(counts, ["A", "B", "C"])
    assert (scores["predicted"], scores["matched_predicted"], scores["gold"], scores["matched_gold"]) == (5, 2, 5, 2)
    assert scores["micro_precision"] == 0.4 and scores["micro_recall"] == 0.4 and scores["micro_f1"] == 0.4
    assert scores["per_code"]["A"]["precision"] == 1.0 and scores["per_code"]["A"]["recall"] == pytest.approx(0.6667)
    assert scores["per_code"]["A"]["f1"] == pytest.approx(0.8)
    # Macro F1 averages the codes with gold quotations (A 0.8, B 0.0); C has none.
    assert scores["macro_f1"] == 0.4
    assert span_scores(counts, ["A"])["micro_f1"] == pytest.approx(0.8)


def test_span_counts_count_each_quotation_once_however_many_it_overlaps() -> None:
    wide = [Span(0, 100, frozenset({"A"}))]
    narrow = [Span(10, 20, frozenset({"A"})), Span(50, 60, frozenset({"A"}))]
    assert span_counts(wide, narrow)["A"] == {"predicted": 1, "matched_predicted": 1, "gold": 2, "matched_gold": 2}
    assert span_counts(narrow, wide)["A"] == {"predicted": 2, "matched_predicted": 2, "gold": 1, "matched_gold": 1}
    total: dict = {}
    add_counts(total, span_counts(wide, narrow))
    add_counts(total, span_counts(narrow, wide))
    assert total["A"] == {"predicted": 3, "matched_predicted": 3, "gold": 3, "matched_gold": 3}


def test_load_gold_transcripts_maps_numbers_to_codebook_ids(tmp_path: Path) -> None:
    codebook = load_codebook(write_tiny_codebook(tmp_path))
    [transcript] = load_gold_transcripts(write_tiny_transcripts(tmp_path / "transcripts"), codebook)
    assert transcript.name == "int_t1.txt" and transcript.text == TINY_TRANSCRIPT
    assert [sorted(q.codes) for q in transcript.quotations] == [["KP03"], ["KP01"], ["KP02"]]
    assert [TINY_TRANSCRIPT[q.start:q.end] for q in transcript.quotations] == [s for s, _, _ in TINY_GOLD]


def test_load_gold_transcripts_refuses_wrong_offsets_and_unknown_codes(tmp_path: Path) -> None:
    codebook = load_codebook(write_tiny_codebook(tmp_path))
    directory = write_tiny_transcripts(tmp_path / "transcripts")
    gold_path = directory / "int_t1.gold.json"
    gold = json.loads(gold_path.read_text(encoding="utf-8"))
    gold["quotations"][0]["start"] += 1
    gold_path.write_text(json.dumps(gold), encoding="utf-8")
    with pytest.raises(LabelledDataError, match="quotation 0 does not match"):
        load_gold_transcripts(directory, codebook)
    gold["quotations"][0]["start"] -= 1
    gold["quotations"][1]["knelpunten"] = [17]  # the tiny codebook has knelpunten 1-4
    gold_path.write_text(json.dumps(gold), encoding="utf-8")
    with pytest.raises(LabelledDataError, match="quotation 1 uses a code"):
        load_gold_transcripts(directory, codebook)


def test_load_gold_transcripts_reads_the_shipped_example_transcripts() -> None:
    codebook = load_codebook(REPO_ROOT / "codebooks" / "lzw-regie" / "codebook.yaml")
    transcripts = load_gold_transcripts(REPO_ROOT / "labelled_data" / "transcripts", codebook)
    assert [t.name for t in transcripts] == ["int_p1.txt", "int_p2.txt", "int_q1.txt", "int_q2.txt"]
    # labelled_data/transcripts/README.md: 121 quotations, every knelpunt quoted at least twice.
    assert sum(len(t.quotations) for t in transcripts) == 121
    knelpunten = {c for t in transcripts for q in t.quotations for c in q.codes if c.startswith("KP")}
    assert knelpunten == {code.id for code in codebook.knelpunten()}
