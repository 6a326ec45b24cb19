"""Tests of model versions on disk: immutability, verification on load, ACTIVE, predictions."""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from services.shared.codebook import STANCES, load_codebook
from services.shared.errors import ConflictError, InputError, ModelUnavailableError
from services.worker.classify import CodingModel, MultiLabelCalibratedClassifier, StanceClassifier
from services.worker.features import FeatureBuilder, SentenceInputs
from services.worker.model_store import (
    CODEBOOK_FILE,
    META_FILE,
    VERSION_FILES,
    SentencePrediction,
    list_versions,
    load_model,
    set_active_version,
    write_model_version,
)
from tests.worker.training_support import HashingEmbedder, write_tiny_codebook

TEXTS = [
    "Regio en schaal zijn lastig.", "Wantrouwen tussen partijen, een probleem.", "Geld en budget ontbreken.",
    "De wet en regels zitten in de weg.", "Goede afspraken in de regio, beter.", "Een open gesprek helpt, praten.",
    "Ik werk bij de gemeente.", "Het gaat goed, prima samenwerking.",
]


def _fitted_model(codebook_path: Path, blocks: tuple[str, ...] = ("embedding",)) -> CodingModel:
    codebook = load_codebook(codebook_path)
    embedder = HashingEmbedder()
    texts = TEXTS * 6
    inputs = SentenceInputs(embedder.encode(texts), texts)
    knelpunt_Y = np.array([[i % 8 == k for k in range(4)] for i in range(len(texts))], dtype=int)
    solution_Y = np.array([[i % 8 == 4, i % 8 == 5, 0] for i in range(len(texts))], dtype=int)
    stances = np.array(["knelpunt", "knelpunt", "knelpunt", "knelpunt", "oplossing", "oplossing",
                        "neutraal", "succesfactor"] * 6)
    model = CodingModel(
        features=FeatureBuilder(blocks=blocks),
        knelpunt_classifier=MultiLabelCalibratedClassifier(threshold_cv=3, random_state=0),
        solution_classifier=MultiLabelCalibratedClassifier(threshold_cv=3, random_state=0),
        stance_classifier=StanceClassifier(labels=STANCES, random_state=0),
        knelpunt_ids=tuple(c.id for c in codebook.knelpunten()),
        solution_ids=tuple(c.id for c in codebook.solutions()),
    )
    return model.fit(inputs, knelpunt_Y, solution_Y, stances)


def _meta(codebook_path: Path) -> dict:
    codebook = load_codebook(codebook_path)
    return {
        "data_snapshot": "sha256:" + "0" * 64,
        "codebook": {"key": codebook.key, "version": codebook.version, "sha256": codebook.sha256},
        "embedder": {"name": "test-hashing", "model_id": HashingEmbedder.model_id, "dim": HashingEmbedder.dim},
    }


@pytest.fixture
def stored(tmp_path: Path) -> dict:
    """A models directory with one written version "v1"."""
    codebook_path = write_tiny_codebook(tmp_path)
    models = tmp_path / "models"
    path = write_model_version(
        models, "v1", _fitted_model(codebook_path), codebook_path, _meta(codebook_path), "# v1\n"
    )
    return {"models": models, "path": path, "codebook": codebook_path}


def test_model_store_writes_read_only_files(stored: dict) -> None:
    for name in VERSION_FILES:
        mode = (stored["path"] / name).stat().st_mode
        assert not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH), name
    meta = json.loads((stored["path"] / META_FILE).read_text(encoding="utf-8"))
    assert meta["version"] == "v1" and len(meta["codebook"]["file_sha256"]) == 64
    assert [p.name for p in stored["models"].iterdir()] == ["v1"]  # no staging directory left behind


def test_model_store_refuses_to_overwrite_a_version(stored: dict) -> None:
    before = (stored["path"] / "classifier.joblib").read_bytes()
    with pytest.raises(ConflictError):
        write_model_version(stored["models"], "v1", _fitted_model(stored["codebook"]), stored["codebook"],
                            _meta(stored["codebook"]), "# again\n")
    assert (stored["path"] / "classifier.joblib").read_bytes() == before


def test_model_store_writes_extra_files_read_only_and_refuses_unsafe_names(stored: dict) -> None:
    fitted, codebook = _fitted_model(stored["codebook"]), stored["codebook"]
    path = write_model_version(stored["models"], "v-plots", fitted, codebook, _meta(codebook), "# v\n",
                               extra_files={"report-f1.png": b"\x89PNG plot"})
    assert (path / "report-f1.png").read_bytes() == b"\x89PNG plot"
    assert not (path / "report-f1.png").stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    for name in ("meta.json", "../escape.png", "sub/plot.png", ".hidden"):
        with pytest.raises(InputError, match="plain new file names"):
            write_model_version(stored["models"], "v-bad", fitted, codebook, _meta(codebook), "# v\n",
                                extra_files={name: b"x"})
    assert not (stored["models"] / "v-bad").exists() and not (stored["models"].parent / "escape.png").exists()


def test_model_store_refuses_a_tampered_codebook(stored: dict) -> None:
    copy = stored["path"] / CODEBOOK_FILE
    os.chmod(copy, 0o644)
    copy.write_text(copy.read_text(encoding="utf-8").replace("name: Schaal", "name: Schaalniveau"), encoding="utf-8")
    with pytest.raises(ModelUnavailableError, match="changed after training"):
        load_model(stored["models"], "v1")


def test_model_store_refuses_meta_with_other_codebook_hash(stored: dict) -> None:
    meta_path = stored["path"] / META_FILE
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["codebook"]["sha256"] = "f" * 64
    os.chmod(meta_path, 0o644)
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelUnavailableError, match="differs from meta.json"):
        load_model(stored["models"], "v1")


def test_model_store_refuses_incomplete_version(stored: dict) -> None:
    os.chmod(stored["path"], 0o755)
    (stored["path"] / "report.md").unlink()
    with pytest.raises(ModelUnavailableError, match="report.md missing"):
        load_model(stored["models"], "v1")


def test_model_store_loads_the_active_version(stored: dict) -> None:
    second = write_model_version(stored["models"], "v2", _fitted_model(stored["codebook"]), stored["codebook"],
                                 _meta(stored["codebook"]), "# v2\n")
    with pytest.raises(ModelUnavailableError, match="ACTIVE"):
        load_model(stored["models"])
    set_active_version(stored["models"], "v2")
    assert load_model(stored["models"]).version == second.name == "v2"
    set_active_version(stored["models"], "v1")
    assert load_model(stored["models"]).version == "v1"
    assert list_versions(stored["models"]) == ["v1", "v2"]


def test_model_store_unknown_version_names_the_available_ones(stored: dict) -> None:
    with pytest.raises(ModelUnavailableError, match="v1"):
        load_model(stored["models"], "v9")
    with pytest.raises(ModelUnavailableError):
        set_active_version(stored["models"], "v9")
    assert not (stored["models"] / "ACTIVE").exists()


def test_model_store_predict_scores_every_code(stored: dict) -> None:
    model = load_model(stored["models"], "v1")
    embeddings = HashingEmbedder().encode(TEXTS)
    predictions = model.predict(embeddings, TEXTS, [None] * len(TEXTS))
    assert len(predictions) == len(TEXTS) and all(isinstance(p, SentencePrediction) for p in predictions)
    codebook = load_codebook(stored["codebook"])
    for prediction in predictions:
        assert set(prediction.knelpunt_scores) == {c.id for c in codebook.knelpunten()}
        assert set(prediction.solution_scores) == {c.id for c in codebook.solutions()}
        assert prediction.stance in STANCES and 0.0 <= prediction.stance_score <= 1.0
        scores = {**prediction.knelpunt_scores, **prediction.solution_scores}
        assert all(0.0 <= s <= 1.0 for s in scores.values())
        assert prediction.codes == [c for c, s in scores.items() if s >= model.thresholds[c]]
    assert predictions[0].knelpunt_scores["KP01"] > predictions[0].knelpunt_scores["KP03"]
    assert "KP01" in predictions[0].codes
    assert predictions[0].solution_scores["OPL-LEEG"] == 0.0  # untrainable: no examples


def test_model_store_predict_rejects_wrong_embedding_size(stored: dict) -> None:
    model = load_model(stored["models"], "v1")
    with pytest.raises(InputError, match="32-dimensional"):
        model.predict(np.zeros((1, 16), dtype=np.float32), ["x"], [None])
    with pytest.raises(InputError):
        model.predict(np.zeros((2, 32), dtype=np.float32), ["x"], [None])
    assert model.predict(np.zeros((0, 32), dtype=np.float32), [], []) == []


def test_model_store_context_model_needs_an_embedder(tmp_path: Path) -> None:
    codebook_path = write_tiny_codebook(tmp_path)
    fitted = _fitted_model(codebook_path, blocks=("embedding", "context"))
    write_model_version(tmp_path / "models", "ctx", fitted, codebook_path, _meta(codebook_path), "# ctx\n")
    model = load_model(tmp_path / "models", "ctx")
    embeddings = HashingEmbedder().encode(TEXTS[:2])
    with pytest.raises(ModelUnavailableError, match="attach_embedder"):
        model.predict(embeddings, TEXTS[:2], ["Wat gaat lastig?", None])
    model.attach_embedder(HashingEmbedder())
    assert len(model.predict(embeddings, TEXTS[:2], ["Wat gaat lastig?", None])) == 2
