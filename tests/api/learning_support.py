"""Setup shared by the learning-loop tests: a tiny codebook, a synthetic base snapshot, a model
trained on it with a bag-of-words embedder, and two transcripts whose codes follow from key words."""
from __future__ import annotations

from pathlib import Path

from services.worker.runtime import WorkerRuntime
from services.worker.train import train_model_version
from tests.worker.training_support import FAST, HashingEmbedder, write_synthetic_snapshot, write_tiny_codebook

TRANSCRIPTS = {
    "int_a.txt": "I: Hoe gaat de samenwerking?\nR: Het geld en het budget zijn een groot probleem, lastig. "
                 "De regio en de schaal van lokaal overleg is lastig.\nI: En verder?\n"
                 "R: Er is wantrouwen tussen partijen, geen vertrouwen, een probleem.\n",
    "int_b.txt": "I: Wat werkt er?\nR: De wet en de regels zijn lastig, een probleem. "
                 "Een open gesprek helpt, beter praten lost het op.\nI: Nog iets?\n"
                 "R: Afspraken in de regio maken we beter, dat lost op.\n",
}


def learning_setup(tmp_path: Path, make_settings, redis_url: str):  # noqa: ANN001, ANN202
    """Settings with a tiny codebook, a synthetic base snapshot and an active model trained on it; and its name."""
    data = tmp_path / "labelled"
    write_synthetic_snapshot(data / "synthetic-v1")
    codebook = write_tiny_codebook(tmp_path)
    models = tmp_path / "models"
    base = train_model_version(data / "synthetic-v1", codebook, models, "test-hashing", version="base-v0",
                               embedder=HashingEmbedder(), hyperparameters=FAST, activate=True)
    settings = make_settings(redis_url=redis_url, models_dir=models, labelled_data_dir=data, codebook_path=codebook,
                             segmenter="rules", pseudonymise_recogniser="rules")
    return settings, base.name


def fake_embedder_runtime(settings) -> WorkerRuntime:  # noqa: ANN001
    """A worker runtime that embeds with the bag-of-words HashingEmbedder the test models were trained with."""
    runtime = WorkerRuntime(settings)
    runtime._embedders["test-hashing"] = HashingEmbedder()  # noqa: SLF001 - the fake embedder has no builder
    return runtime
