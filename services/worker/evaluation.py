"""Grouped cross-validation of a CodingModel, its baselines, and the Markdown report.

Every figure is computed on pooled held-out predictions: each test row is predicted by a
model (and thresholds) that never saw its case.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from services.shared.codebook import STANCES, Codebook

CALIBRATION_BINS = 10


def expected_calibration_error(correct: np.ndarray, confidence: np.ndarray, n_bins: int = CALIBRATION_BINS) -> float:
    """Mean |accuracy - confidence| over equal-width confidence bins, weighted by bin size."""
    correct = np.asarray(correct, dtype=float).ravel()
    confidence = np.asarray(confidence, dtype=float).ravel()
    if correct.size == 0:
        return 0.0
    bins = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    error = 0.0
    for b in range(n_bins):
        members = bins == b
        if members.any():
            error += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(error)


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


def evaluate_folds(
    model: object,
    data: object,
    folds: Sequence[tuple[str, np.ndarray, np.ndarray]],
    codebook: Codebook,
    knelpunt_vectors: np.ndarray,
    solution_vectors: np.ndarray,
    fit_on: Callable,
) -> dict:
    """Fit on each fold's training rows, predict its held-out case, and score the pooled predictions."""
    tests = np.concatenate([test for _, _, test in folds])
    n_kp, n_sol = data.knelpunt_Y.shape[1], data.solution_Y.shape[1]
    kp_proba, kp_pred = np.zeros((len(data.ids), n_kp)), np.zeros((len(data.ids), n_kp), dtype=int)
    sol_pred = np.zeros((len(data.ids), n_sol), dtype=int)
    stance_proba = np.zeros((len(data.ids), len(STANCES)))
    baselines = {name: {"kp": np.zeros_like(kp_pred), "sol": np.zeros_like(sol_pred)}
                 for name in ("zero_shot", "majority")}
    majority_stance = np.empty(len(data.ids), dtype=object)
    per_fold = []
    for case, train, test in folds:
        fitted = fit_on(model, data, train)
        scores = fitted.predict_scores(data.inputs.subset(test))
        kp_proba[test] = scores.knelpunt
        kp_pred[test] = scores.knelpunt >= fitted.knelpunt_classifier_.thresholds_[None, :]
        sol_pred[test] = scores.solution >= fitted.solution_classifier_.thresholds_[None, :]
        stance_proba[test] = scores.stance[:, [scores.stance_labels.index(s) for s in STANCES]]
        embeddings = data.inputs.embeddings[test]
        baselines["zero_shot"]["kp"][test] = zero_shot_predictions(embeddings, knelpunt_vectors)
        baselines["zero_shot"]["sol"][test] = zero_shot_predictions(embeddings, solution_vectors)
        baselines["majority"]["kp"][test] = majority_predictions(data.knelpunt_Y[train], len(test))
        baselines["majority"]["sol"][test] = majority_predictions(data.solution_Y[train], len(test))
        values, counts = np.unique(data.stances[train], return_counts=True)
        majority_stance[test] = values[np.argmax(counts)]
        fold_kp = multilabel_scores(data.knelpunt_Y[test], kp_pred[test], fitted.knelpunt_ids)
        fold_stance = stance_scores(data.stances[test], stance_proba[test], STANCES)
        per_fold.append({
            "held_out": case, "n_train": int(len(train)), "n_test": int(len(test)),
            "knelpunt_micro_f1": fold_kp["micro_f1"], "knelpunt_macro_f1": fold_kp["macro_f1"],
            "stance_accuracy": fold_stance["accuracy"],
        })
    kp_ids = [c.id for c in codebook.knelpunten()]
    sol_ids = [c.id for c in codebook.solutions()]
    knelpunten = multilabel_scores(data.knelpunt_Y[tests], kp_pred[tests], kp_ids)
    knelpunten["ece"] = round(expected_calibration_error(data.knelpunt_Y[tests], kp_proba[tests]), 4)
    summary = {}
    for name, predicted in baselines.items():
        kp = multilabel_scores(data.knelpunt_Y[tests], predicted["kp"][tests], kp_ids)
        sol = multilabel_scores(data.solution_Y[tests], predicted["sol"][tests], sol_ids)
        summary[name] = {"knelpunt_micro_f1": kp["micro_f1"], "knelpunt_macro_f1": kp["macro_f1"],
                         "solution_micro_f1": sol["micro_f1"], "solution_macro_f1": sol["macro_f1"]}
    majority_right = int((majority_stance[tests] == data.stances[tests]).sum())
    summary["majority"]["stance_accuracy"] = _ratio(majority_right, len(tests))
    return {
        "scheme": "grouped cross-validation by case: each real case held out in turn; "
                  "handwritten examples and codebook descriptions only train",
        "n_evaluated": int(len(tests)),
        "folds": per_fold,
        "knelpunten": knelpunten,
        "solutions": multilabel_scores(data.solution_Y[tests], sol_pred[tests], sol_ids),
        "stance": stance_scores(data.stances[tests], stance_proba[tests], STANCES),
        "baselines": summary,
    }


def render_report(meta: dict, codebook: Codebook) -> str:
    """A readable Markdown evaluation report of one model version."""
    ev = meta["evaluation"]
    kp, sol, stance, base = ev["knelpunten"], ev["solutions"], ev["stance"], ev["baselines"]
    zs, mj = base["zero_shot"], base["majority"]
    lines = [
        f"# Model {meta['version']}", "",
        f"- Trained: {meta['created_at']}",
        f"- Data snapshot: `{meta['snapshot_name']}` `{meta['data_snapshot']}` ({meta['examples']['total']} examples: "
        + ", ".join(f"{k} {v}" for k, v in meta["examples"]["by_case"].items()) + ")",
        f"- Codebook: `{meta['codebook']['key']}` {meta['codebook']['version']} "
        f"(sha256 {meta['codebook']['sha256'][:12]}…)",
        f"- Embedder: {meta['embedder']['name']} (`{meta['embedder']['model_id']}`, {meta['embedder']['dim']} dims)",
        f"- Features: {', '.join(meta['feature_set'])}; seed {meta['seed']}",
        f"- Code version: {_code_version(meta['code_version'])}",
        "", "## Evaluation", "", ev["scheme"] + f"; {ev['n_evaluated']} held-out examples.", "",
        "| | knelpunt micro F1 | knelpunt macro F1 | solution micro F1 | solution macro F1 | stance accuracy |",
        "|---|---|---|---|---|---|",
        f"| this model | {kp['micro_f1']:.3f} | {kp['macro_f1']:.3f} | {sol['micro_f1']:.3f} | {sol['macro_f1']:.3f} "
        f"| {stance['accuracy']:.3f} |",
        f"| zero-shot (nearest code description) | {zs['knelpunt_micro_f1']:.3f} | {zs['knelpunt_macro_f1']:.3f} "
        f"| {zs['solution_micro_f1']:.3f} | {zs['solution_macro_f1']:.3f} | n/a |",
        f"| majority | {mj['knelpunt_micro_f1']:.3f} | {mj['knelpunt_macro_f1']:.3f} | {mj['solution_micro_f1']:.3f} "
        f"| {mj['solution_macro_f1']:.3f} | {mj['stance_accuracy']:.3f} |",
        "", f"Knelpunt micro precision {kp['micro_precision']:.3f}, recall {kp['micro_recall']:.3f}. "
        f"Expected calibration error: knelpunt probabilities {kp['ece']:.3f}, stance {stance['ece']:.3f}. "
        "Macro F1 averages the codes that occur in the held-out data.",
        "", "### Per held-out case", "",
        "| held out | train | test | knelpunt micro F1 | knelpunt macro F1 | stance accuracy |",
        "|---|---|---|---|---|---|",
    ]
    lines += [f"| {f['held_out']} | {f['n_train']} | {f['n_test']} | {f['knelpunt_micro_f1']:.3f} "
              f"| {f['knelpunt_macro_f1']:.3f} | {f['stance_accuracy']:.3f} |" for f in ev["folds"]]
    lines += ["", "### Knelpunten", "", "Thresholds are those of the shipped model (tuned on out-of-fold scores of all "
              "training rows); each held-out fold used its own.", "",
              "| code | name | precision | recall | F1 | support | threshold |",
              "|---|---|---|---|---|---|---|"]
    for code in codebook.knelpunten():
        s = kp["per_code"][code.id]
        lines.append(f"| {code.id} | {code.name} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} "
                     f"| {s['support']} | {meta['thresholds'][code.id]:.2f} |")
    lines += ["", "### Stance", "", "| gold \\ predicted | " + " | ".join(STANCES) + " |",
              "|---" * (len(STANCES) + 1) + "|"]
    lines += [f"| {g} | " + " | ".join(str(stance["confusion"][g][p]) for p in STANCES) + " |" for g in STANCES]
    lines += ["", "### Solutions", "", "| code | precision | recall | F1 | support | threshold |",
              "|---|---|---|---|---|---|"]
    for code in codebook.solutions():
        s = sol["per_code"][code.id]
        if s["support"] or s["predicted"]:
            lines.append(f"| {code.id} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | {s['support']} "
                         f"| {meta['thresholds'][code.id]:.2f} |")
    untrainable = meta.get("untrainable_codes") or []
    lines += ["", f"Codes without training examples (probability always 0): {', '.join(untrainable) or 'none'}.", ""]
    return "\n".join(lines)


def _code_version(version: dict) -> str:
    if version.get("git_commit"):
        return f"git {version['git_commit'][:12]}" + (" with uncommitted changes" if version.get("dirty") else "")
    return f"package {version.get('package_version')} (no git commit)"


def _ratio(numerator: int, denominator: int) -> float:
    return round(numerator / denominator, 4) if denominator else 0.0
