"""Shared infrastructure of the learning-loop simulations (bench_active_learning, bench_examples_per_code).

The data is labelled_data/base-v1 plus the codebook's description rows, embedded once through the
project's embedding cache (a SQLite file in /tmp, so a rerun embeds nothing). The folds are train.py's:
each real case (E, X, Y) is held out in turn and scored; handwritten rows never are. What a fold may
"review" (its pool) is every other labelled row; the codebook rows always train, as in train.py.

The model is the cheap configuration of the shipped recipe: the same features (sentence embedding +
character n-gram TF-IDF, weight 2) and one balanced logistic regression per knelpunt (C = 10), but
without probability calibration and per-code threshold tuning (threshold 0.5). One fit takes about
0.5 s instead of about 8 s; on base-v1 it scores about as well (docs/learning.md).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from services.shared.codebook import Codebook, load_codebook
from services.shared.config import REPO_ROOT, get_settings
from services.shared.labelled_data import Example, load_snapshot
from services.worker.classify import MultiLabelCalibratedClassifier
from services.worker.evaluation import multilabel_scores
from services.worker.features import FeatureBuilder
from services.worker.train import (
    CODEBOOK_CASE, DEFAULT_HYPERPARAMETERS, TrainingData, build_training_data, codebook_examples, grouped_folds,
)

DEFAULT_CACHE = Path("/tmp/qcoder-bench-embeddings.sqlite")
SNAPSHOT = REPO_ROOT / "labelled_data" / "base-v1"
CODEBOOK = REPO_ROOT / "codebooks" / "lzw-regie" / "codebook.yaml"
CHEAP_MODEL = "embedding + TF-IDF (weight 2), balanced LR per knelpunt, C=10, no calibration, threshold 0.5"
# No row count reaches this, so MultiLabelCalibratedClassifier neither calibrates nor tunes thresholds.
_NEVER = 10**9


@dataclass
class SimData:
    """The embedded rows, their documents, and the grouped folds."""

    data: TrainingData
    examples: list[Example]  # row-aligned with data (the codebook rows come last)
    codebook: Codebook
    documents: list[str]  # the interview a row comes from; a row without one is its own document
    folds: list[tuple[str, np.ndarray, np.ndarray]]  # (held-out case, pool rows, test rows)
    always: np.ndarray  # codebook description rows: every model trains on them
    embedder: object
    embed_seconds: float


def cached_embedder(name: str, cache: Path) -> object:
    """The named embedder behind the project's SQL embedding cache, stored in a SQLite file."""
    from services.shared.db import Database
    from services.worker.embed import CachedEmbedder, SqlEmbeddingCache, build_embedder

    settings = get_settings(database_url=f"sqlite:///{cache}", data_dir=cache.parent)
    database = Database(settings)
    database.upgrade()
    return CachedEmbedder(build_embedder(name), SqlEmbeddingCache(database.sessions))


def load_sim_data(embedder_name: str, cache: Path = DEFAULT_CACHE) -> SimData:
    """Embed base-v1 and the codebook rows (cached) and build the folds."""
    import time

    codebook = load_codebook(CODEBOOK)
    examples = list(load_snapshot(SNAPSHOT).examples)
    started = time.perf_counter()
    embedder = cached_embedder(embedder_name, cache)
    data = build_training_data(examples, codebook, embedder)
    embed_seconds = time.perf_counter() - started
    examples += codebook_examples(codebook)  # build_training_data appended the same rows
    always = np.flatnonzero(data.cases == CODEBOOK_CASE)
    folds = [(case, np.setdiff1d(train, always), test) for case, train, test in grouped_folds(data)]
    documents = [e.respondents[0] if e.respondents and e.case != "handwritten" else f"row:{e.id}" for e in examples]
    return SimData(data, examples, codebook, documents, folds, always, embedder, embed_seconds)


@dataclass
class CheapModel:
    """A fitted cheap model: features and the per-knelpunt classifier."""

    features: FeatureBuilder
    classifier: MultiLabelCalibratedClassifier

    def proba(self, sim: SimData, rows: np.ndarray) -> np.ndarray:
        """(len(rows), n_knelpunten) probabilities."""
        return self.classifier.predict_proba(self.features.transform(sim.data.inputs.subset(rows)))

    def predict(self, sim: SimData, rows: np.ndarray) -> np.ndarray:
        """0/1 knelpunt matrix at the default threshold."""
        return self.classifier.predict(self.features.transform(sim.data.inputs.subset(rows)))


def fit_cheap(sim: SimData, rows: np.ndarray, *, with_codebook_rows: bool = True, seed: int = 13,
              shipped: bool = False) -> CheapModel:
    """Fit the cheap model on `rows` (plus the codebook description rows unless told otherwise).

    shipped=True: the knelpunt classifier exactly as train.py configures it (calibrated, thresholds
    tuned by inner cross-validation), to check what the cheap configuration leaves out.
    """
    rows = np.concatenate([rows, sim.always]) if with_codebook_rows else np.asarray(rows)
    inputs = sim.data.inputs.subset(rows)
    # The feature blocks of the shipped model (models/ACTIVE), fixed here so that the figures stay comparable.
    features = FeatureBuilder(blocks=("embedding", "tfidf"), tfidf_weight=2.0, tfidf_max_features=3000)
    X = features.fit_transform(inputs)
    h = DEFAULT_HYPERPARAMETERS
    classifier = MultiLabelCalibratedClassifier(
        C=h["knelpunt_C"], calibration_method=h["calibration_method"], calibration_cv=h["calibration_cv"],
        min_positives_to_calibrate=h["min_positives_to_calibrate"] if shipped else _NEVER,
        threshold_cv=h["threshold_cv"] if shipped else _NEVER,
        min_positives_for_threshold=h["min_positives_for_threshold"],
        threshold_bounds=tuple(h["threshold_bounds"]), default_threshold=h["default_threshold"], random_state=seed)
    quiet = logging.getLogger("services.worker.classify")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # "thresholds stay at the default" on every fit is intended here
    try:
        classifier.fit(X, sim.data.knelpunt_Y[rows])
    finally:
        quiet.setLevel(level)
    return CheapModel(features, classifier)


def knelpunt_scores(sim: SimData, test: np.ndarray, predicted: np.ndarray) -> dict:
    """train.py's figures (micro and macro F1 ...) of predicted knelpunten on the test rows."""
    ids = [code.id for code in sim.codebook.knelpunten()]
    return multilabel_scores(sim.data.knelpunt_Y[test], predicted, ids)


def mean_sd(values: list[float]) -> str:
    """"0.512 ± 0.013" (sample standard deviation)."""
    values = np.asarray(values, dtype=float)
    sd = values.std(ddof=1) if len(values) > 1 else 0.0
    return f"{values.mean():.3f} ± {sd:.3f}"
