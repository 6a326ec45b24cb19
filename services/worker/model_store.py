"""Immutable model versions on disk: write once, verify on load, predict per sentence.

A version directory holds classifier.joblib (a fitted classify.CodingModel), codebook.yaml
(a byte copy of the codebook it was trained with), meta.json (provenance and evaluation)
and report.md. models/ACTIVE names the default version.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
import sklearn

from services.shared.codebook import Codebook, load_codebook
from services.shared.errors import CodebookError, ConflictError, InputError, ModelUnavailableError
from services.worker.classify import CodingModel
from services.worker.features import SentenceInputs, context_embeddings_for

log = logging.getLogger(__name__)

CLASSIFIER_FILE = "classifier.joblib"
CODEBOOK_FILE = "codebook.yaml"
META_FILE = "meta.json"
REPORT_FILE = "report.md"
ACTIVE_FILE = "ACTIVE"
VERSION_FILES = (CLASSIFIER_FILE, CODEBOOK_FILE, META_FILE, REPORT_FILE)
READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH


@dataclass
class SentencePrediction:
    """One sentence's scores for every code, its stance, and the codes over their thresholds."""

    knelpunt_scores: dict[str, float]  # code id -> calibrated probability
    solution_scores: dict[str, float]
    stance: str
    stance_score: float
    codes: list[str]  # code ids over their tuned thresholds


class LoadedModel:
    """A verified model version, ready to score sentence embeddings."""

    def __init__(self, version: str, path: Path, meta: dict, codebook: Codebook, coding_model: CodingModel) -> None:
        self.version = version
        self.path = path
        self.meta = meta
        self.codebook = codebook
        self.data_snapshot: str = meta["data_snapshot"]
        self.embedder_name: str = meta["embedder"]["name"]
        self.embedder_model_id: str = meta["embedder"]["model_id"]
        self.coding_model = coding_model
        self.thresholds: dict[str, float] = coding_model.thresholds()
        # Only needed when the model uses question context; the worker attaches its embedder.
        self.context_embedder: object | None = None

    @property
    def uses_context(self) -> bool:
        """Whether predictions read the interviewer question (then an embedder must be attached)."""
        return "context" in self.coding_model.features_.blocks

    def attach_embedder(self, embedder: object) -> None:
        """Give the model the embedder it was trained with, for embedding question contexts."""
        self.context_embedder = embedder

    def predict(
        self, embeddings: np.ndarray, texts: list[str], contexts: list[str | None]
    ) -> list[SentencePrediction]:
        """Score n sentences given their embeddings (from this model's embedder), texts and questions."""
        embeddings = np.asarray(embeddings, dtype=np.float32)
        if embeddings.ndim != 2 or not (embeddings.shape[0] == len(texts) == len(contexts)):
            raise InputError(
                f"predict needs one embedding row, text and context per sentence; got {embeddings.shape}, "
                f"{len(texts)} texts, {len(contexts)} contexts"
            )
        expected_dim = self.meta["embedder"]["dim"]
        if embeddings.shape[1] != expected_dim:
            raise InputError(
                f"model {self.version} expects {expected_dim}-dimensional embeddings from "
                f"{self.embedder_name}, got {embeddings.shape[1]}; embed with the model's embedder"
            )
        if len(texts) == 0:
            return []
        context_embeddings = None
        if self.uses_context:
            if self.context_embedder is None:
                raise ModelUnavailableError(
                    f"model {self.version} uses question context; call attach_embedder() with {self.embedder_name}"
                )
            context_embeddings = context_embeddings_for(contexts, self.context_embedder, expected_dim)
        scores = self.coding_model.predict_scores(SentenceInputs(embeddings, list(texts), context_embeddings))
        return [self._prediction(scores, row) for row in range(len(texts))]

    def _prediction(self, scores: object, row: int) -> SentencePrediction:
        model = self.coding_model
        knelpunt = {code: float(p) for code, p in zip(model.knelpunt_ids, scores.knelpunt[row])}
        solution = {code: float(p) for code, p in zip(model.solution_ids, scores.solution[row])}
        best = int(np.argmax(scores.stance[row]))
        codes = [code for code, p in (*knelpunt.items(), *solution.items()) if p >= self.thresholds[code]]
        return SentencePrediction(
            knelpunt_scores=knelpunt,
            solution_scores=solution,
            stance=scores.stance_labels[best],
            stance_score=float(scores.stance[row, best]),
            codes=codes,
        )


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_active_version(models_dir: Path) -> str:
    """Return the version named in models_dir/ACTIVE."""
    active = Path(models_dir) / ACTIVE_FILE
    if not active.is_file():
        raise ModelUnavailableError(
            f"{active} does not exist; train a model (qcoder train) or name a version explicitly",
            models_dir=str(models_dir),
        )
    version = active.read_text(encoding="utf-8").strip()
    if not version:
        raise ModelUnavailableError(f"{active} is empty; write the name of a version directory into it")
    return version


def list_versions(models_dir: Path) -> list[str]:
    """Return the names of the version directories under models_dir (those with a meta.json), sorted."""
    models_dir = Path(models_dir)
    if not models_dir.is_dir():
        return []
    return sorted(p.name for p in models_dir.iterdir() if p.is_dir() and (p / META_FILE).is_file())


def load_model(models_dir: Path, version: str | None = None) -> LoadedModel:
    """Load and verify a model version (None: the one in models/ACTIVE)."""
    models_dir = Path(models_dir)
    version = version or read_active_version(models_dir)
    path = models_dir / version
    if not path.is_dir():
        known = ", ".join(list_versions(models_dir)) or "none"
        raise ModelUnavailableError(f"model version {version!r} not found in {models_dir} (available: {known})")
    missing = [name for name in VERSION_FILES if not (path / name).is_file()]
    if missing:
        raise ModelUnavailableError(f"model version {version} is incomplete: {', '.join(missing)} missing in {path}")
    meta = json.loads((path / META_FILE).read_text(encoding="utf-8"))
    codebook = _verified_codebook(path, meta)
    _warn_on_library_drift(meta)
    try:
        coding_model = joblib.load(path / CLASSIFIER_FILE)
    except (OSError, EOFError, ValueError, AttributeError, ImportError, ModuleNotFoundError) as error:
        raise ModelUnavailableError(
            f"cannot read {path / CLASSIFIER_FILE} ({type(error).__name__}: {error}); "
            "retrain the model with the installed libraries"
        ) from error
    if not isinstance(coding_model, CodingModel):
        raise ModelUnavailableError(
            f"{path / CLASSIFIER_FILE} holds a {type(coding_model).__name__}, not a CodingModel; retrain the version"
        )
    known_codes = {code.id for code in codebook.codes}
    unknown = [c for c in (*coding_model.knelpunt_ids, *coding_model.solution_ids) if c not in known_codes]
    if unknown:
        raise ModelUnavailableError(f"model {version} predicts codes missing from its codebook copy: {unknown}")
    return LoadedModel(version, path, meta, codebook, coding_model)


def _verified_codebook(path: Path, meta: dict) -> Codebook:
    expected = meta.get("codebook", {})
    copy = path / CODEBOOK_FILE
    actual_file_sha = file_sha256(copy)
    if expected.get("file_sha256") != actual_file_sha:
        raise ModelUnavailableError(
            f"{copy} was changed after training (sha256 {actual_file_sha[:12]}…, meta.json records "
            f"{str(expected.get('file_sha256'))[:12]}…); restore it or train a new version",
            version=path.name,
        )
    try:
        codebook = load_codebook(copy)
    except CodebookError as error:
        raise ModelUnavailableError(f"the codebook copy of model {path.name} is invalid: {error.message}") from error
    if codebook.sha256 != expected.get("sha256"):
        raise ModelUnavailableError(
            f"codebook hash of {copy} ({codebook.sha256[:12]}…) differs from meta.json "
            f"({str(expected.get('sha256'))[:12]}…); restore it or train a new version",
            version=path.name,
        )
    return codebook


def _warn_on_library_drift(meta: dict) -> None:
    trained_with = meta.get("library_versions", {}).get("scikit-learn")
    if trained_with and trained_with != sklearn.__version__:
        # Pickles usually load across patch versions; the warning makes a mismatch traceable.
        log.warning("model trained with scikit-learn %s, running %s", trained_with, sklearn.__version__)


def write_model_version(
    models_dir: Path,
    version: str,
    coding_model: CodingModel,
    codebook_path: Path,
    meta: dict,
    report: str,
    extra_files: dict[str, bytes] | None = None,
) -> Path:
    """Write a new, read-only version directory; refuse if the version already exists.

    `extra_files` (file name -> bytes, e.g. the report's plots) are written beside report.md.
    """
    models_dir = Path(models_dir)
    target = models_dir / version
    extra_files = extra_files or {}
    bad_names = [name for name in extra_files
                 if name in VERSION_FILES or Path(name).name != name or name.startswith(".")]
    if bad_names:
        raise InputError(f"extra files of a model version must be plain new file names, not {bad_names}")
    if target.exists():
        raise ConflictError(f"model version {version} already exists in {models_dir}; versions are immutable, "
                            "choose another version name", version=version)
    models_dir.mkdir(parents=True, exist_ok=True)
    # Build in a sibling temporary directory and rename, so a crash never leaves a half version.
    staging = Path(tempfile.mkdtemp(prefix=f".{version}.", dir=models_dir))
    try:
        joblib.dump(coding_model, staging / CLASSIFIER_FILE, compress=3)
        shutil.copyfile(codebook_path, staging / CODEBOOK_FILE)
        meta = {**meta, "version": version}
        meta["codebook"] = {**meta.get("codebook", {}), "file_sha256": file_sha256(staging / CODEBOOK_FILE)}
        (staging / META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        (staging / REPORT_FILE).write_text(report, encoding="utf-8")
        for name, content in extra_files.items():
            (staging / name).write_bytes(content)
        for name in (*VERSION_FILES, *extra_files):
            os.chmod(staging / name, READ_ONLY)
        os.chmod(staging, 0o755)
        if target.exists():
            raise ConflictError(f"model version {version} appeared while writing; not overwritten", version=version)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def set_active_version(models_dir: Path, version: str) -> None:
    """Point models_dir/ACTIVE at an existing, loadable version."""
    models_dir = Path(models_dir)
    load_model(models_dir, version)  # refuse to activate something that would not load
    temporary = models_dir / f".{ACTIVE_FILE}.tmp"
    temporary.write_text(version + "\n", encoding="utf-8")
    os.replace(temporary, models_dir / ACTIVE_FILE)

