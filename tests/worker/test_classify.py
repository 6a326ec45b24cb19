"""Tests of the classifiers: scikit-learn contract, calibration, out-of-fold thresholds."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GroupKFold, KFold
from sklearn.utils import estimator_checks

from services.shared.errors import InputError
from services.worker.classify import (
    CodingModel,
    MultiLabelCalibratedClassifier,
    StanceClassifier,
    f1_at_thresholds,
    tune_thresholds,
)
from services.worker.features import FeatureBuilder, SentenceInputs

STANCES = ("knelpunt", "oplossing", "succesfactor", "neutraal")

CONTRACT_CHECKS = (
    "check_estimator_cloneable",
    "check_no_attributes_set_in_init",
    "check_parameters_default_constructible",
    "check_get_params_invariance",
    "check_set_params",
    "check_estimator_repr",
    "check_do_not_raise_errors_in_init_or_set_params",
    "check_mixin_order",
)


def _multilabel_data(n: int = 120, n_labels: int = 4, dim: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Each label i is present when feature i is high; the last label never occurs."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, dim))
    Y = (X[:, :n_labels] > 0.6).astype(int)
    Y[:, -1] = 0
    return X, Y


@pytest.mark.parametrize(
    "estimator", [MultiLabelCalibratedClassifier(), StanceClassifier(), FeatureBuilder(), CodingModel()]
)
@pytest.mark.parametrize("check", CONTRACT_CHECKS)
def test_classify_estimators_follow_sklearn_parameter_contract(estimator: object, check: str) -> None:
    getattr(estimator_checks, check)(type(estimator).__name__, estimator)


@pytest.mark.parametrize(
    "check",
    ["check_estimators_fit_returns_self", "check_estimators_unfitted", "check_classifiers_one_label",
     "check_estimators_overwrite_params", "check_dont_overwrite_parameters", "check_fit_idempotent",
     "check_classifiers_classes", "check_methods_subset_invariance"],
)
def test_classify_stance_classifier_passes_sklearn_checks(check: str) -> None:
    getattr(estimator_checks, check)("StanceClassifier", StanceClassifier(random_state=0))


def test_classify_multilabel_fit_returns_self_and_probabilities_in_range() -> None:
    X, Y = _multilabel_data()
    estimator = MultiLabelCalibratedClassifier(random_state=0)
    assert estimator.fit(X, Y) is estimator
    proba = estimator.predict_proba(X)
    assert proba.shape == Y.shape
    assert np.all((proba >= 0) & (proba <= 1))
    assert estimator.predict(X).shape == Y.shape


def test_classify_multilabel_unfitted_raises_not_fitted() -> None:
    with pytest.raises(NotFittedError):
        MultiLabelCalibratedClassifier().predict_proba(np.zeros((2, 3)))


def test_classify_multilabel_clone_has_same_params_and_no_state() -> None:
    X, Y = _multilabel_data()
    estimator = MultiLabelCalibratedClassifier(C=3.0, threshold_cv=4, random_state=5).fit(X, Y)
    copy = clone(estimator)
    assert copy.get_params() == estimator.get_params()
    assert not hasattr(copy, "estimators_")
    assert copy.set_params(**estimator.get_params()) is copy


def test_classify_multilabel_label_without_positives_is_untrainable_with_zero_probability() -> None:
    X, Y = _multilabel_data()
    estimator = MultiLabelCalibratedClassifier(random_state=0).fit(X, Y)
    assert estimator.untrainable_ == [Y.shape[1] - 1]
    assert np.all(estimator.predict_proba(X)[:, -1] == 0)


def test_classify_multilabel_calibrates_only_labels_with_enough_positives() -> None:
    X, Y = _multilabel_data(n=200)
    Y[:, 1] = 0
    Y[:4, 1] = 1  # four positives: below min_positives_to_calibrate
    estimator = MultiLabelCalibratedClassifier(min_positives_to_calibrate=6, random_state=0).fit(X, Y)
    assert estimator.calibrated_[0]
    assert not estimator.calibrated_[1]
    assert estimator.predict_proba(X)[:, 1].max() > 0  # uncalibrated but still a probability


def test_classify_multilabel_learns_the_signal() -> None:
    X, Y = _multilabel_data(n=300, seed=1)
    X_test, Y_test = _multilabel_data(n=300, seed=2)
    predicted = MultiLabelCalibratedClassifier(C=10.0, random_state=0).fit(X, Y).predict(X_test)
    for label in range(Y.shape[1] - 1):
        f1 = f1_at_thresholds(Y_test[:, label], predicted[:, label].astype(float), np.array([0.5]))[0]
        assert f1 > 0.7


def test_classify_multilabel_fit_is_deterministic_for_a_seed() -> None:
    X, Y = _multilabel_data()
    first = MultiLabelCalibratedClassifier(random_state=3).fit(X, Y)
    second = MultiLabelCalibratedClassifier(random_state=3).fit(X, Y)
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    np.testing.assert_array_equal(first.thresholds_, second.thresholds_)


def test_classify_thresholds_come_from_out_of_fold_predictions() -> None:
    # Random labels and one-hot row identities: a model memorises its training rows (in-fold
    # positives score high), but on rows it did not see it has nothing to go on.
    rng = np.random.default_rng(7)
    n = 150
    X = np.hstack([np.eye(n) * 3.0, rng.normal(size=(n, 5))])
    Y = (rng.random((n, 2)) < 0.3).astype(int)
    estimator = MultiLabelCalibratedClassifier(C=100.0, threshold_cv=5, random_state=0).fit(X, Y)

    in_fold = tune_thresholds(Y, estimator.predict_proba(X))
    out_of_fold = tune_thresholds(Y, estimator.oof_proba_)
    np.testing.assert_array_equal(estimator.thresholds_, out_of_fold)
    assert not np.allclose(in_fold, out_of_fold)
    # Uninformative held-out scores: labelling (nearly) everything positive is the F1 optimum.
    assert np.all(estimator.thresholds_ <= 0.35)
    assert np.all(in_fold > 0.35)


def test_classify_oof_scores_match_an_independent_cross_validation() -> None:
    X, Y = _multilabel_data(n=100)
    estimator = MultiLabelCalibratedClassifier(threshold_cv=4, random_state=11).fit(X, Y)
    expected = np.zeros(Y.shape)
    for train, test in KFold(4, shuffle=True, random_state=11).split(X):
        fold_model = MultiLabelCalibratedClassifier(threshold_cv=4, random_state=11).fit(X[train], Y[train])
        expected[test] = fold_model.predict_proba(X[test])
    np.testing.assert_allclose(estimator.oof_proba_, expected)


def test_classify_oof_scores_respect_groups() -> None:
    X, Y = _multilabel_data(n=90)
    groups = np.repeat(np.arange(9), 10)
    estimator = MultiLabelCalibratedClassifier(threshold_cv=3, random_state=2).fit(X, Y, groups=groups)
    expected = np.zeros(Y.shape)
    for train, test in GroupKFold(3, shuffle=True, random_state=2).split(X, Y, groups):
        assert not set(groups[train]) & set(groups[test])
        expected[test] = MultiLabelCalibratedClassifier(threshold_cv=3, random_state=2).fit(
            X[train], Y[train]).predict_proba(X[test])
    np.testing.assert_allclose(estimator.oof_proba_, expected)


def test_classify_tune_thresholds_maximises_f1_within_bounds() -> None:
    Y = np.array([[1], [1], [1], [0], [0], [0], [0], [0]])
    scores = np.array([[0.8], [0.7], [0.65], [0.6], [0.3], [0.2], [0.1], [0.05]])
    threshold = tune_thresholds(Y, scores, bounds=(0.2, 0.9), min_positives=3)[0]
    assert 0.6 < threshold <= 0.65
    # When no threshold inside the bounds finds a positive, the default stays.
    assert tune_thresholds(Y, scores / 10, bounds=(0.2, 0.9), min_positives=3)[0] == 0.5
    # Scaled down, the best in-bounds choice sits at the lower bound's plateau (0.24 and 0.21 found).
    low = tune_thresholds(Y, scores * 0.3, bounds=(0.2, 0.9), min_positives=3)[0]
    assert 0.2 <= low <= 0.21


def test_classify_tune_thresholds_keeps_default_for_little_support() -> None:
    Y = np.array([[1], [1], [0], [0]])
    scores = np.array([[0.9], [0.8], [0.1], [0.2]])
    assert tune_thresholds(Y, scores, default=0.5, min_positives=3)[0] == 0.5
    assert tune_thresholds(Y, scores, default=0.5, min_positives=2)[0] != 0.5


def test_classify_multilabel_rejects_non_binary_labels() -> None:
    with pytest.raises(InputError):
        MultiLabelCalibratedClassifier().fit(np.zeros((4, 2)), np.array([[0, 2], [1, 0], [0, 1], [1, 1]]))


def test_classify_stance_probabilities_cover_all_labels_and_sum_to_one() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 6))
    y = np.array(["knelpunt", "oplossing", "neutraal"])[np.argmax(X[:, :3], axis=1)]  # no succesfactor
    estimator = StanceClassifier(labels=STANCES, random_state=0).fit(X, y)
    proba = estimator.predict_proba(X)
    assert proba.shape == (90, 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.all(proba[:, STANCES.index("succesfactor")] == 0)
    assert estimator.calibrated_
    assert (estimator.predict(X) == y).mean() > 0.8


def test_classify_stance_rejects_unknown_label() -> None:
    with pytest.raises(InputError):
        StanceClassifier(labels=STANCES).fit(np.zeros((4, 2)), np.array(["knelpunt", "boos", "neutraal", "knelpunt"]))


def _inputs(n: int, dim: int = 8, seed: int = 0) -> SentenceInputs:
    rng = np.random.default_rng(seed)
    embeddings = rng.normal(size=(n, dim)).astype(np.float32)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    words = ["regio", "wethouder", "zorgkantoor", "vertrouwen", "geld", "wonen"]
    texts = [" ".join(words[(i + j) % len(words)] for j in range(3)) for i in range(n)]
    return SentenceInputs(embeddings, texts, np.zeros_like(embeddings))


@pytest.mark.parametrize(
    "blocks", [("embedding",), ("embedding", "tfidf"), ("embedding", "context", "code_similarity")]
)
def test_classify_coding_model_fits_every_feature_set(blocks: tuple[str, ...]) -> None:
    inputs = _inputs(80)
    knelpunt_Y = (inputs.embeddings[:, :3] > 0.2).astype(int)
    solution_Y = (inputs.embeddings[:, 3:5] > 0.3).astype(int)
    stances = np.array(STANCES)[np.argmax(inputs.embeddings[:, :4], axis=1)]
    codes = np.random.default_rng(1).normal(size=(5, 8))
    model = CodingModel(
        features=FeatureBuilder(blocks=blocks, code_embeddings=codes),
        knelpunt_classifier=MultiLabelCalibratedClassifier(random_state=0),
        solution_classifier=MultiLabelCalibratedClassifier(random_state=0),
        stance_classifier=StanceClassifier(labels=STANCES, random_state=0),
        knelpunt_ids=("KP01", "KP02", "KP03"),
        solution_ids=("OPL-A", "OPL-B"),
    )
    assert model.fit(inputs, knelpunt_Y, solution_Y, stances) is model
    scores = model.predict_scores(inputs)
    assert scores.knelpunt.shape == (80, 3) and scores.solution.shape == (80, 2) and scores.stance.shape == (80, 4)
    assert set(model.thresholds()) == {"KP01", "KP02", "KP03", "OPL-A", "OPL-B"}


def test_classify_feature_builder_blocks_shape_and_sparsity() -> None:
    inputs = _inputs(30)
    dense = FeatureBuilder(blocks=("embedding", "context")).fit_transform(inputs)
    assert dense.shape == (30, 16)
    with_tfidf = FeatureBuilder(blocks=("embedding", "tfidf")).fit_transform(inputs)
    assert sparse.issparse(with_tfidf) and with_tfidf.shape[1] > 8
    with pytest.raises(InputError):
        FeatureBuilder(blocks=("code_similarity",)).fit(inputs)
    with pytest.raises(InputError):
        FeatureBuilder(blocks=("bag_of_words",)).fit(inputs)


def test_classify_feature_builder_refuses_other_embedding_size() -> None:
    builder = FeatureBuilder().fit(_inputs(10, dim=8))
    with pytest.raises(InputError):
        builder.transform(_inputs(10, dim=6))
