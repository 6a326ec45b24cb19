"""Grouped evaluation when the examples are reviewed quotations: by respondent or transcript, never split."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from services.shared.codebook import load_codebook
from services.shared.errors import LabelledDataError
from services.shared.labelled_data import Example, Source, load_snapshot
from services.worker.train import CODEBOOK_CASE, REVIEW_FOLDS, build_training_data, grouped_folds
from tests.worker.training_support import HashingEmbedder, write_synthetic_snapshot, write_tiny_codebook


def _reviewed(transcript: str, respondent: str | None, index: int) -> Example:
    number = 1 + index % 4
    return Example(
        id=f"review-{transcript}-{index}", text=f"Zin {index} over code {number} in {transcript}.",
        knelpunten=(number,), stance="knelpunt", solutions=(), respondents=(respondent,) if respondent else (), case="review", context=None,
        source=Source("review", extra={"transcript_id": transcript, "project_id": "p1"}),
    )


def test_train_grouped_folds_hold_out_whole_respondents_or_transcripts(tmp_path: Path) -> None:
    codebook = load_codebook(write_tiny_codebook(tmp_path))
    # t1 and t2 are two interviews with the same respondent; t3-t8 stand alone, t7 and t8 without a respondent.
    owners = {"t1": "Int V1", "t2": "Int V1", "t3": "Int V2", "t4": "Int V3", "t5": "Int V4", "t6": "Int V5",
              "t7": None, "t8": None}
    examples = [_reviewed(t, r, i) for t, r in owners.items() for i in range(4)]
    data = build_training_data(examples, codebook, HashingEmbedder())
    folds = grouped_folds(data)
    assert len(folds) == REVIEW_FOLDS  # seven groups, at most five folds
    tested = np.concatenate([test for _, _, test in folds])
    assert sorted(tested) == list(range(len(examples)))  # every reviewed quotation is scored exactly once
    codebook_rows = len(data.ids) - len(examples)
    transcript = np.array([e.source.extra["transcript_id"] for e in examples] + [None] * codebook_rows)
    for _, train, test in folds:
        assert not set(transcript[test]) & set(transcript[train])
        assert not set(data.groups[test]) & set(data.groups[train])
        assert set(np.flatnonzero(data.cases == CODEBOOK_CASE)) <= set(train)
    fold_of = {t: next(i for i, (_, _, test) in enumerate(folds) if set(transcript[test]) & {t}) for t in owners}
    assert fold_of["t1"] == fold_of["t2"]  # one respondent's interviews stay together
    assert grouped_folds(data)[0][0] == folds[0][0]  # the same folds on every run


def test_train_grouped_folds_need_two_transcripts_without_real_cases(tmp_path: Path) -> None:
    codebook = load_codebook(write_tiny_codebook(tmp_path))
    data = build_training_data([_reviewed("t1", None, i) for i in range(4)], codebook, HashingEmbedder())
    with pytest.raises(LabelledDataError, match="at least two real cases or reviewed quotations from at least two"):
        grouped_folds(data)


def test_train_grouped_folds_keep_cases_when_reviews_join_the_base_data(tmp_path: Path) -> None:
    codebook = load_codebook(write_tiny_codebook(tmp_path))
    base = list(load_snapshot(write_synthetic_snapshot(tmp_path / "synthetic-v1")).examples)
    reviews = [_reviewed(t, None, i) for t in ("t1", "t2") for i in range(3)]
    data = build_training_data(base + reviews, codebook, HashingEmbedder())
    folds = grouped_folds(data)
    assert [case for case, _, _ in folds] == ["E", "X", "Y"]
    review_rows = set(np.flatnonzero(data.cases == "review"))
    assert len(review_rows) == 6
    for _, train, test in folds:
        assert review_rows <= set(train) and not review_rows & set(test)
