"""Grouped cross-validation of a CodingModel and its baselines (the report is in report.py).

Every figure is computed on pooled held-out predictions: each test row is predicted by a
model (and thresholds) that never saw its case.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from services.shared.codebook import STANCES, Codebook

CALIBRATION_BINS = 10
NO_CODE = "none"  # the row / column of code_confusion for "no code"


def _bin_statistics(correct: np.ndarray, confidence: np.ndarray, n_bins: int) -> list[tuple]:
    """(lower, upper, count, mean confidence, observed frequency) per equal-width bin, unrounded."""
    correct = np.asarray(correct, dtype=float).ravel()
    confidence = np.asarray(confidence, dtype=float).ravel()
    bins = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    statistics = []
    for b in range(n_bins):
        members = bins == b
        count = int(members.sum())
        mean_confidence = float(confidence[members].mean()) if count else 0.0
        frequency = float(correct[members].mean()) if count else 0.0
        statistics.append((b / n_bins, (b + 1) / n_bins, count, mean_confidence, frequency))
    return statistics


def expected_calibration_error(correct: np.ndarray, confidence: np.ndarray, n_bins: int = CALIBRATION_BINS) -> float:
    """Mean |accuracy - confidence| over equal-width confidence bins, weighted by bin size."""
    statistics = _bin_statistics(correct, confidence, n_bins)
    total = sum(count for _, _, count, _, _ in statistics)
    if total == 0:
        return 0.0
    return float(sum(count / total * abs(frequency - mean) for _, _, count, mean, frequency in statistics))


def reliability_bins(correct: np.ndarray, confidence: np.ndarray, n_bins: int = CALIBRATION_BINS) -> list[dict]:
    """The reliability curve: per confidence bin, how many scores fell in it and how often they were right."""
    return [
        {"lower": round(lower, 4), "upper": round(upper, 4), "count": count,
         "mean_confidence": round(mean, 4), "observed_frequency": round(frequency, 4)}
        for lower, upper, count, mean, frequency in _bin_statistics(correct, confidence, n_bins)
    ]


def code_confusion(Y: np.ndarray, predicted: np.ndarray, ids: Sequence[str]) -> dict:
    """Gold code (rows) x predicted code (columns) over examples; the last row and column are "none".

    Cell (g, g) counts the examples with gold code g on which g was predicted; (g, p) those on
    which p was predicted although it is not one of their gold codes; (g, none) those on which g
    was missed and no wrong code took its place. The "none" row holds the examples without a
    gold code: (none, p) when p was predicted anyway, (none, none) when nothing was.
    """
    Y, predicted = np.asarray(Y, dtype=bool), np.asarray(predicted, dtype=bool)
    n = Y.shape[1]
    wrong = predicted & ~Y
    uncoded = ~Y.any(axis=1)
    matrix = np.zeros((n + 1, n + 1), dtype=int)
    matrix[:n, :n] = Y.T.astype(int) @ wrong.astype(int) + np.diag((Y & predicted).sum(axis=0))
    matrix[:n, n] = (Y & ~predicted & ~wrong.any(axis=1)[:, None]).sum(axis=0)
    matrix[n, :n] = predicted[uncoded].sum(axis=0)
    matrix[n, n] = int((uncoded & ~predicted.any(axis=1)).sum())
    return {"labels": [*ids, NO_CODE], "matrix": matrix.tolist()}


def top1_predictions(proba: np.ndarray) -> np.ndarray:
    """One-hot of the most probable code per row: measures the ranking without thresholds."""
    if proba.shape[1] == 0:
        return np.zeros(proba.shape, dtype=int)
    return np.eye(proba.shape[1], dtype=int)[np.argmax(proba, axis=1)]


def multilabel_scores(Y: np.ndarray, predicted: np.ndarray, ids: Sequence[str]) -> dict:
    """Per-code precision/recall/F1/support, micro F1 and macro F1 (over codes with support)."""
    Y, predicted = np.asarray(Y, dtype=bool), np.asarray(predicted, dtype=bool)
    tp = (Y & predicted).sum(axis=0)
    fp = (~Y & predicted).sum(axis=0)
    fn = (Y & ~predicted).sum(axis=0)
    per_code = {}
    for i, code in enumerate(ids):
        precision = tp[i] / (tp[i] + fp[i]) if tp[i] + fp[i] else 0.0
        recall = tp[i] / (tp[i] + fn[i]) if tp[i] + fn[i] else 0.0
        f1 = 2 * tp[i] / (2 * tp[i] + fp[i] + fn[i]) if tp[i] + fp[i] + fn[i] else 0.0
        per_code[code] = {"precision": round(float(precision), 4), "recall": round(float(recall), 4),
                          "f1": round(float(f1), 4), "support": int(Y[:, i].sum()),
                          "predicted": int(predicted[:, i].sum())}
    supported = [s["f1"] for s in per_code.values() if s["support"] > 0]
    total_tp, total_fp, total_fn = int(tp.sum()), int(fp.sum()), int(fn.sum())
    return {
        "micro_precision": _ratio(total_tp, total_tp + total_fp),
        "micro_recall": _ratio(total_tp, total_tp + total_fn),
        "micro_f1": _ratio(2 * total_tp, 2 * total_tp + total_fp + total_fn),
        "macro_f1": round(float(np.mean(supported)), 4) if supported else 0.0,
        "codes_with_support": len(supported),
        "per_code": per_code,
    }


def stance_scores(gold: np.ndarray, proba: np.ndarray, labels: Sequence[str]) -> dict:
    """Accuracy, macro F1 over present stances, top-label ECE and the confusion counts."""
    labels = list(labels)
    predicted = np.array([labels[i] for i in np.argmax(proba, axis=1)])
    confusion = {g: {p: int(((gold == g) & (predicted == p)).sum()) for p in labels} for g in labels}
    f1s = []
    for label in labels:
        tp = int(((gold == label) & (predicted == label)).sum())
        wrong = int(((gold == label) != (predicted == label)).sum())
        if (gold == label).any():
            f1s.append(2 * tp / (2 * tp + wrong))
    return {
        "accuracy": _ratio(int((predicted == gold).sum()), len(gold)),
        "macro_f1": round(float(np.mean(f1s)), 4) if f1s else 0.0,
        "ece": round(expected_calibration_error(predicted == gold, proba.max(axis=1)), 4),
        "reliability": reliability_bins(predicted == gold, proba.max(axis=1)),
        "confusion": confusion,
    }


def zero_shot_predictions(embeddings: np.ndarray, code_vectors: np.ndarray) -> np.ndarray:
    """One-hot of the code whose description embedding is nearest (cosine) to each sentence."""
    if code_vectors.shape[0] == 0:
        return np.zeros((embeddings.shape[0], 0), dtype=int)
    nearest = np.argmax(embeddings @ code_vectors.T, axis=1)
    return np.eye(code_vectors.shape[0], dtype=int)[nearest]


def majority_predictions(train_Y: np.ndarray, n_rows: int) -> np.ndarray:
    """One-hot of the training fold's most frequent code, for every row."""
    if train_Y.shape[1] == 0:
        return np.zeros((n_rows, 0), dtype=int)
    return np.tile(np.eye(train_Y.shape[1], dtype=int)[np.argmax(train_Y.sum(axis=0))], (n_rows, 1))


@dataclass
class HeldOutPredictions:
    """One model's pooled held-out outputs: every test row is filled by the fold that held it out."""

    knelpunt_proba: np.ndarray
    knelpunt: np.ndarray
    solution: np.ndarray
    stance_proba: np.ndarray  # columns in STANCES order

    @classmethod
    def empty(cls, n_rows: int, n_knelpunten: int, n_solutions: int) -> HeldOutPredictions:
        """All-zero arrays for n_rows rows."""
        return cls(np.zeros((n_rows, n_knelpunten)), np.zeros((n_rows, n_knelpunten), dtype=int),
                   np.zeros((n_rows, n_solutions), dtype=int), np.zeros((n_rows, len(STANCES))))

    def fill(self, fitted: object, inputs: object, test: np.ndarray) -> None:
        """Score the test rows with a model fitted without them, at that fold's own thresholds."""
        scores = fitted.predict_scores(inputs.subset(test))
        self.knelpunt_proba[test] = scores.knelpunt
        self.knelpunt[test] = scores.knelpunt >= fitted.knelpunt_classifier_.thresholds_[None, :]
        self.solution[test] = scores.solution >= fitted.solution_classifier_.thresholds_[None, :]
        self.stance_proba[test] = scores.stance[:, [scores.stance_labels.index(s) for s in STANCES]]

    def stance_labels(self, rows: np.ndarray) -> np.ndarray:
        """The most probable stance of each row."""
        return np.array(STANCES)[np.argmax(self.stance_proba[rows], axis=1)]


def evaluate_folds(
    model: object,
    data: object,
    folds: Sequence[tuple[str, np.ndarray, np.ndarray]],
    codebook: Codebook,
    knelpunt_vectors: np.ndarray,
    solution_vectors: np.ndarray,
    fit_on: Callable,
    tfidf_model: object | None = None,
) -> dict:
    """Fit on each fold's training rows, predict its held-out case, and score the pooled predictions.

    `tfidf_model` (the TF-IDF + logistic regression baseline) is fitted on the same folds.
    """
    tests = np.concatenate([test for _, _, test in folds])
    n_rows, n_kp, n_sol = len(data.ids), data.knelpunt_Y.shape[1], data.solution_Y.shape[1]
    held_out = HeldOutPredictions.empty(n_rows, n_kp, n_sol)
    tfidf = HeldOutPredictions.empty(n_rows, n_kp, n_sol) if tfidf_model is not None else None
    baselines = {name: {"kp": np.zeros((n_rows, n_kp), dtype=int), "sol": np.zeros((n_rows, n_sol), dtype=int)}
                 for name in ("zero_shot", "majority")}
    majority_stance = np.empty(n_rows, dtype=object)
    per_fold = []
    for case, train, test in folds:
        fitted = fit_on(model, data, train)
        held_out.fill(fitted, data.inputs, test)
        if tfidf is not None:
            tfidf.fill(fit_on(tfidf_model, data, train), data.inputs, test)
        embeddings = data.inputs.embeddings[test]
        baselines["zero_shot"]["kp"][test] = zero_shot_predictions(embeddings, knelpunt_vectors)
        baselines["zero_shot"]["sol"][test] = zero_shot_predictions(embeddings, solution_vectors)
        baselines["majority"]["kp"][test] = majority_predictions(data.knelpunt_Y[train], len(test))
        baselines["majority"]["sol"][test] = majority_predictions(data.solution_Y[train], len(test))
        values, counts = np.unique(data.stances[train], return_counts=True)
        majority_stance[test] = values[np.argmax(counts)]
        fold_kp = multilabel_scores(data.knelpunt_Y[test], held_out.knelpunt[test], fitted.knelpunt_ids)
        fold_stance = stance_scores(data.stances[test], held_out.stance_proba[test], STANCES)
        per_fold.append({
            "held_out": case, "n_train": int(len(train)), "n_test": int(len(test)),
            "knelpunt_micro_f1": fold_kp["micro_f1"], "knelpunt_macro_f1": fold_kp["macro_f1"],
            "stance_accuracy": fold_stance["accuracy"],
        })
    kp_ids = [c.id for c in codebook.knelpunten()]
    sol_ids = [c.id for c in codebook.solutions()]
    gold_kp, gold_sol, gold_stance = data.knelpunt_Y[tests], data.solution_Y[tests], data.stances[tests]
    knelpunten = multilabel_scores(gold_kp, held_out.knelpunt[tests], kp_ids)
    knelpunten["ece"] = round(expected_calibration_error(gold_kp, held_out.knelpunt_proba[tests]), 4)
    knelpunten["reliability"] = reliability_bins(gold_kp, held_out.knelpunt_proba[tests])
    knelpunten["top1_micro_f1"] = multilabel_scores(
        gold_kp, top1_predictions(held_out.knelpunt_proba[tests]), kp_ids)["micro_f1"]
    knelpunten["confusion"] = code_confusion(gold_kp, held_out.knelpunt[tests], kp_ids)
    if tfidf is not None:
        baselines["tfidf"] = {"kp": tfidf.knelpunt, "sol": tfidf.solution}
    summary = {}
    for name, predicted in baselines.items():
        kp = multilabel_scores(gold_kp, predicted["kp"][tests], kp_ids)
        sol = multilabel_scores(gold_sol, predicted["sol"][tests], sol_ids)
        summary[name] = {"knelpunt_micro_f1": kp["micro_f1"], "knelpunt_macro_f1": kp["macro_f1"],
                         "solution_micro_f1": sol["micro_f1"], "solution_macro_f1": sol["macro_f1"],
                         "knelpunt_per_code_f1": {code: s["f1"] for code, s in kp["per_code"].items()}}
    summary["majority"]["stance_accuracy"] = _ratio(int((majority_stance[tests] == gold_stance).sum()), len(tests))
    if tfidf is not None:
        summary["tfidf"]["stance_accuracy"] = _ratio(int((tfidf.stance_labels(tests) == gold_stance).sum()), len(tests))
    knelpunten["not_above_zero_shot"] = [
        code for code, s in knelpunten["per_code"].items()
        if s["support"] > 0 and s["f1"] <= summary["zero_shot"]["knelpunt_per_code_f1"][code]
    ]
    return {
        "scheme": "grouped cross-validation by case: each real case held out in turn; "
                  "handwritten examples and codebook descriptions only train",
        "n_evaluated": int(len(tests)),
        "folds": per_fold,
        "knelpunten": knelpunten,
        "solutions": multilabel_scores(gold_sol, held_out.solution[tests], sol_ids),
        "stance": stance_scores(gold_stance, held_out.stance_proba[tests], STANCES),
        "baselines": summary,
    }


def _ratio(numerator: int, denominator: int) -> float:
    return round(numerator / denominator, 4) if denominator else 0.0
