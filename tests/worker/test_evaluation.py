"""Tests of the evaluation measures: reliability bins, calibration error, confusion between codes."""
from __future__ import annotations

import numpy as np
import pytest

from services.worker.evaluation import (
    NO_CODE, code_confusion, expected_calibration_error, reliability_bins, top1_predictions,
)


def test_reliability_bins_cover_every_score_once_and_agree_with_the_ece() -> None:
    rng = np.random.default_rng(3)
    confidence = np.concatenate([rng.random(997), [0.0, 1.0, 0.5]])  # the edges belong to the first/last bin
    correct = rng.random(1000) < confidence
    bins = reliability_bins(correct, confidence)
    assert len(bins) == 10 and sum(b["count"] for b in bins) == 1000
    assert bins[0]["lower"] == 0.0 and bins[-1]["upper"] == 1.0
    for b in bins:
        assert b["lower"] <= b["mean_confidence"] <= b["upper"]
        assert 0.0 <= b["observed_frequency"] <= 1.0
    assert bins[5]["count"] == int(((confidence >= 0.5) & (confidence < 0.6)).sum())
    ece = sum(b["count"] / 1000 * abs(b["observed_frequency"] - b["mean_confidence"]) for b in bins)
    assert expected_calibration_error(correct, confidence) == pytest.approx(ece, abs=1e-3)


def test_reliability_bins_of_a_label_matrix_count_every_pair() -> None:
    Y = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 0], [1, 1, 0]])
    proba = np.array([[0.9, 0.1, 0.05], [0.2, 0.85, 0.1], [0.3, 0.3, 0.3], [0.95, 0.4, 0.0]])
    bins = reliability_bins(Y, proba)
    assert sum(b["count"] for b in bins) == Y.size
    top = bins[9]  # 0.9 and 0.95, both positives
    assert top["count"] == 2 and top["observed_frequency"] == 1.0 and top["mean_confidence"] == 0.925
    assert bins[4]["count"] == 1 and bins[4]["observed_frequency"] == 1.0  # the missed positive at 0.4
    assert reliability_bins(np.zeros(0), np.zeros(0))[0]["count"] == 0


def test_code_confusion_counts_hits_wrong_codes_misses_and_uncoded_examples() -> None:
    ids = ["KP01", "KP02", "KP03"]
    Y = np.array([
        [1, 0, 0],  # hit
        [1, 0, 0],  # KP02 instead of KP01
        [0, 1, 1],  # KP02 hit, KP03 missed, KP01 predicted wrongly
        [0, 0, 1],  # missed, nothing predicted
        [0, 0, 0],  # uncoded, KP03 predicted
        [0, 0, 0],  # uncoded, nothing predicted
    ])
    predicted = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 0], [0, 0, 1], [0, 0, 0]])
    result = code_confusion(Y, predicted, ids)
    assert result["labels"] == [*ids, NO_CODE]
    assert result["matrix"] == [
        # KP01 KP02 KP03 none
        [1, 1, 0, 0],   # gold KP01
        [1, 1, 0, 0],   # gold KP02: hit; KP01 also predicted wrongly
        [1, 0, 0, 1],   # gold KP03: KP01 in its place once, plain miss once
        [0, 0, 1, 1],   # no gold code
    ]
    # The diagonal equals the true positives per code.
    assert [result["matrix"][i][i] for i in range(3)] == list((Y & predicted).sum(axis=0))


def test_top1_predictions_pick_the_most_probable_code() -> None:
    proba = np.array([[0.1, 0.7, 0.2], [0.5, 0.1, 0.4]])
    assert top1_predictions(proba).tolist() == [[0, 1, 0], [1, 0, 0]]
    assert top1_predictions(np.zeros((2, 0))).shape == (2, 0)
