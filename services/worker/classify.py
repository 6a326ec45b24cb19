"""Classifiers on sentence features: multi-label codes with tuned thresholds, and stance.

All estimators follow the scikit-learn contract: parameters are stored untouched in
__init__, `fit` returns self and learned state ends in `_`. Probabilities are calibrated
where a code has enough examples; thresholds are tuned on out-of-fold predictions only.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from services.shared.errors import InputError
from services.worker.features import FeatureBuilder, SentenceInputs

log = logging.getLogger(__name__)

# Fitting is hundreds of small logistic regressions: BLAS threads only contend with each other
# there (several times slower on 2 cores), and one thread keeps sums in a fixed order.
# scikit-learn's KMeans limits its BLAS threads the same way.
FIT_BLAS_THREADS = 1

# A grid rather than every distinct score: the same scores give the same thresholds on any machine.
THRESHOLD_GRID_STEP = 0.01


def f1_at_thresholds(y: np.ndarray, scores: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """F1 of `scores >= t` against binary `y` for every t in `thresholds`."""
    predicted = scores[None, :] >= thresholds[:, None]
    positives = y.astype(bool)[None, :]
    tp = (predicted & positives).sum(axis=1)
    fp = (predicted & ~positives).sum(axis=1)
    fn = (~predicted & positives).sum(axis=1)
    denominator = 2 * tp + fp + fn
    return np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 0.0)


def tune_thresholds(
    Y: np.ndarray,
    scores: np.ndarray,
    bounds: tuple[float, float] = (0.2, 0.9),
    default: float = 0.5,
    min_positives: int = 3,
) -> np.ndarray:
    """Per label, the threshold in `bounds` that maximises F1 of `scores` (which must be held out).

    Labels with fewer than `min_positives` positives keep `default`: a handful of examples
    would make the optimum an accident of the split. Among equally good thresholds the middle
    of the best plateau is taken, away from the edges that a new example would shift.
    """
    Y = np.asarray(Y)
    low, high = bounds
    grid = np.round(np.arange(low, high + THRESHOLD_GRID_STEP / 2, THRESHOLD_GRID_STEP), 4)
    thresholds = np.full(Y.shape[1], float(default))
    for label in range(Y.shape[1]):
        if Y[:, label].sum() < min_positives:
            continue
        f1 = f1_at_thresholds(Y[:, label], scores[:, label], grid)
        if f1.max() == 0:
            continue  # no threshold in bounds finds a positive: the data gives no better choice
        best = np.flatnonzero(np.isclose(f1, f1.max()))
        thresholds[label] = float(grid[best[len(best) // 2]])
    return thresholds


class MultiLabelCalibratedClassifier(ClassifierMixin, BaseEstimator):
    """One balanced logistic regression per label, calibrated where it has enough positives.

    `fit(X, Y)` takes an (n, n_labels) 0/1 matrix. Labels without positives get probability 0
    and are listed in `untrainable_`. `thresholds_` are tuned on out-of-fold probabilities of
    an inner cross-validation (grouped when `groups` are given), never on the training fold.
    """

    def __init__(
        self,
        C: float = 1.0,
        calibration_method: str = "sigmoid",
        calibration_cv: int = 3,
        min_positives_to_calibrate: int = 6,
        threshold_cv: int = 5,
        min_positives_for_threshold: int = 3,
        threshold_bounds: tuple[float, float] = (0.2, 0.9),
        default_threshold: float = 0.5,
        max_iter: int = 2000,
        random_state: int | None = None,
    ) -> None:
        self.C = C
        self.calibration_method = calibration_method
        self.calibration_cv = calibration_cv
        self.min_positives_to_calibrate = min_positives_to_calibrate
        self.threshold_cv = threshold_cv
        self.min_positives_for_threshold = min_positives_for_threshold
        self.threshold_bounds = threshold_bounds
        self.default_threshold = default_threshold
        self.max_iter = max_iter
        self.random_state = random_state

    def __sklearn_tags__(self):  # noqa: ANN204
        """Declare multi-label output so scikit-learn's checks treat Y as an indicator matrix."""
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    def fit(self, X: object, Y: np.ndarray, groups: np.ndarray | None = None) -> MultiLabelCalibratedClassifier:
        """Fit one model per label on all rows, then tune thresholds on inner out-of-fold scores."""
        Y = _check_indicator(Y, X)
        self.n_labels_ = Y.shape[1]
        with threadpool_limits(limits=FIT_BLAS_THREADS, user_api="blas"):
            self.estimators_, self.calibrated_, self.constant_proba_ = self._fit_labels(X, Y)
            self.oof_proba_ = self._out_of_fold_proba(X, Y, groups)
        self.untrainable_ = [i for i in range(self.n_labels_) if Y[:, i].sum() == 0]
        if self.oof_proba_ is None:
            self.thresholds_ = np.full(self.n_labels_, float(self.default_threshold))
        else:
            self.thresholds_ = tune_thresholds(
                Y, self.oof_proba_, self.threshold_bounds, self.default_threshold, self.min_positives_for_threshold
            )
        return self

    def predict_proba(self, X: object) -> np.ndarray:
        """Return (n, n_labels) probabilities, one independent probability per label."""
        check_is_fitted(self, "estimators_")
        return _label_proba(self.estimators_, self.constant_proba_, X)

    def predict(self, X: object) -> np.ndarray:
        """Return the (n, n_labels) 0/1 matrix of labels at or over their tuned thresholds."""
        return (self.predict_proba(X) >= self.thresholds_[None, :]).astype(int)

    def _fit_labels(self, X: object, Y: np.ndarray) -> tuple[list, np.ndarray, np.ndarray]:
        estimators: list = []
        calibrated = np.zeros(Y.shape[1], dtype=bool)
        constant = np.full(Y.shape[1], np.nan)
        for label in range(Y.shape[1]):
            y = Y[:, label]
            positives, negatives = int(y.sum()), int(len(y) - y.sum())
            if positives == 0 or negatives == 0:
                # Nothing to separate: the training data is the only evidence we have.
                constant[label] = 1.0 if negatives == 0 else 0.0
                estimators.append(None)
                continue
            base = LogisticRegression(C=self.C, class_weight="balanced", max_iter=self.max_iter)
            if min(positives, negatives) >= max(self.min_positives_to_calibrate, self.calibration_cv):
                folds = StratifiedKFold(self.calibration_cv, shuffle=True, random_state=self.random_state)
                model = CalibratedClassifierCV(base, method=self.calibration_method, cv=folds, ensemble=False)
                calibrated[label] = True
            else:
                model = base
            estimators.append(model.fit(X, y))
        return estimators, calibrated, constant

    def _out_of_fold_proba(self, X: object, Y: np.ndarray, groups: np.ndarray | None) -> np.ndarray | None:
        n = Y.shape[0]
        oof = np.zeros(Y.shape, dtype=float)
        if groups is not None and len(np.unique(groups)) < self.threshold_cv:
            log.warning("%d groups for %d threshold folds: the folds ignore the groups",
                        len(np.unique(groups)), self.threshold_cv)
            groups = None
        if groups is not None:
            splits = GroupKFold(self.threshold_cv, shuffle=True, random_state=self.random_state).split(X, Y, groups)
        elif n >= self.threshold_cv:
            splits = KFold(self.threshold_cv, shuffle=True, random_state=self.random_state).split(X)
        else:
            log.warning("only %d rows: thresholds stay at the default %.2f", n, self.default_threshold)
            return None
        for train, test in splits:
            estimators, _, constant = self._fit_labels(_rows(X, train), Y[train])
            oof[test] = _label_proba(estimators, constant, _rows(X, test))
        return oof


class StanceClassifier(ClassifierMixin, BaseEstimator):
    """A balanced multinomial logistic regression with calibrated class probabilities.

    `labels` fixes the columns of `predict_proba` (a stance absent from training gets 0).
    """

    def __init__(
        self,
        labels: tuple[str, ...] | None = None,
        C: float = 1.0,
        calibration_method: str = "sigmoid",
        calibration_cv: int = 3,
        max_iter: int = 2000,
        random_state: int | None = None,
    ) -> None:
        self.labels = labels
        self.C = C
        self.calibration_method = calibration_method
        self.calibration_cv = calibration_cv
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X: object, y: np.ndarray) -> StanceClassifier:
        """Fit on all rows; calibrate when every present class has calibration_cv examples."""
        y = np.asarray(y)
        present, counts = np.unique(y, return_counts=True)
        self.classes_ = np.array(self.labels if self.labels is not None else present)
        missing = sorted(set(present) - set(self.classes_))
        if missing:
            raise InputError(f"stance labels {missing} are not among the allowed labels {list(self.classes_)}")
        base = LogisticRegression(C=self.C, class_weight="balanced", max_iter=self.max_iter)
        with threadpool_limits(limits=FIT_BLAS_THREADS, user_api="blas"):
            self._fit_estimator(base, X, y, present, counts)
        self.only_class_ = present[0] if len(present) == 1 else None
        return self

    def _fit_estimator(self, base: LogisticRegression, X: object, y: np.ndarray,
                       present: np.ndarray, counts: np.ndarray) -> None:
        if len(present) < 2:
            self.estimator_ = None
            self.calibrated_ = False
        elif counts.min() >= self.calibration_cv:
            folds = StratifiedKFold(self.calibration_cv, shuffle=True, random_state=self.random_state)
            self.estimator_ = CalibratedClassifierCV(base, method=self.calibration_method, cv=folds, ensemble=False)
            self.estimator_.fit(X, y)
            self.calibrated_ = True
        else:
            log.warning("a stance has fewer than %d examples: stance probabilities are not calibrated",
                        self.calibration_cv)
            self.estimator_ = base.fit(X, y)
            self.calibrated_ = False

    def predict_proba(self, X: object) -> np.ndarray:
        """Return (n, len(classes_)) probabilities that sum to 1 per row."""
        check_is_fitted(self, "classes_")
        n = _n_rows(X)
        result = np.zeros((n, len(self.classes_)))
        if self.estimator_ is None:
            result[:, list(self.classes_).index(self.only_class_)] = 1.0
            return result
        proba = self.estimator_.predict_proba(X)
        for column, label in enumerate(self.estimator_.classes_):
            result[:, list(self.classes_).index(label)] = proba[:, column]
        return result

    def predict(self, X: object) -> np.ndarray:
        """Return the most probable stance per row."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


@dataclass
class CodingScores:
    """The three classifiers' outputs for n sentences."""

    knelpunt: np.ndarray  # (n, n_knelpunten) probabilities
    solution: np.ndarray  # (n, n_solutions) probabilities
    stance: np.ndarray    # (n, n_stances) probabilities, columns in `stance_labels`
    stance_labels: tuple[str, ...]


class CodingModel(BaseEstimator):
    """Features plus the knelpunt, solution and stance classifiers, fitted together."""

    def __init__(
        self,
        features: FeatureBuilder | None = None,
        knelpunt_classifier: MultiLabelCalibratedClassifier | None = None,
        solution_classifier: MultiLabelCalibratedClassifier | None = None,
        stance_classifier: StanceClassifier | None = None,
        knelpunt_ids: tuple[str, ...] = (),
        solution_ids: tuple[str, ...] = (),
    ) -> None:
        self.features = features
        self.knelpunt_classifier = knelpunt_classifier
        self.solution_classifier = solution_classifier
        self.stance_classifier = stance_classifier
        self.knelpunt_ids = knelpunt_ids
        self.solution_ids = solution_ids

    def fit(
        self,
        inputs: SentenceInputs,
        knelpunt_Y: np.ndarray,
        solution_Y: np.ndarray,
        stances: np.ndarray,
        groups: np.ndarray | None = None,
    ) -> CodingModel:
        """Fit the features on `inputs`, then each classifier on the same feature matrix."""
        if knelpunt_Y.shape[1] != len(self.knelpunt_ids) or solution_Y.shape[1] != len(self.solution_ids):
            raise InputError("label matrices must have one column per knelpunt id and per solution id")
        self.features_ = clone(self.features or FeatureBuilder())
        X = self.features_.fit_transform(inputs)
        self.knelpunt_classifier_ = clone(self.knelpunt_classifier or MultiLabelCalibratedClassifier())
        self.knelpunt_classifier_.fit(X, knelpunt_Y, groups=groups)
        self.solution_classifier_ = clone(self.solution_classifier or MultiLabelCalibratedClassifier())
        self.solution_classifier_.fit(X, solution_Y, groups=groups)
        self.stance_classifier_ = clone(self.stance_classifier or StanceClassifier())
        self.stance_classifier_.fit(X, stances)
        return self

    def predict_scores(self, inputs: SentenceInputs) -> CodingScores:
        """Return calibrated probabilities of every code and stance for each sentence."""
        check_is_fitted(self, "features_")
        X = self.features_.transform(inputs)
        return CodingScores(
            knelpunt=self.knelpunt_classifier_.predict_proba(X),
            solution=self.solution_classifier_.predict_proba(X),
            stance=self.stance_classifier_.predict_proba(X),
            stance_labels=tuple(str(s) for s in self.stance_classifier_.classes_),
        )

    def thresholds(self) -> dict[str, float]:
        """Return the tuned threshold of every knelpunt and solution code id."""
        check_is_fitted(self, "features_")
        pairs = zip(self.knelpunt_ids, self.knelpunt_classifier_.thresholds_)
        result = {code: float(t) for code, t in pairs}
        result.update({code: float(t) for code, t in zip(self.solution_ids, self.solution_classifier_.thresholds_)})
        return result


def _label_proba(estimators: list, constant: np.ndarray, X: object) -> np.ndarray:
    proba = np.zeros((_n_rows(X), len(estimators)))
    for label, model in enumerate(estimators):
        proba[:, label] = constant[label] if model is None else model.predict_proba(X)[:, 1]
    return proba


def _check_indicator(Y: np.ndarray, X: object) -> np.ndarray:
    Y = np.asarray(Y)
    if Y.ndim != 2 or Y.shape[0] != _n_rows(X):
        raise InputError(f"Y must be an (n_rows, n_labels) 0/1 matrix with one row per X row, got {Y.shape}")
    if not np.isin(Y, (0, 1)).all():
        raise InputError("Y must contain only 0 and 1")
    return Y.astype(int)


def _n_rows(X: object) -> int:
    return int(X.shape[0])


def _rows(X: object, index: np.ndarray) -> object:
    return X[index]
