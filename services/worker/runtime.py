"""What a worker process loads once and reuses for every job: segmenter, embedders, models."""
from __future__ import annotations

import logging
import os

from services.shared.config import Settings, get_settings
from services.shared.db import Database
from services.shared.registry import activated_version
from services.worker.embed import CachedEmbedder, SqlEmbeddingCache, build_embedder
from services.worker.model_store import LoadedModel, load_model, read_active_version
from services.worker.segment import Segmenter, build_segmenter

log = logging.getLogger(__name__)


class WorkerRuntime:
    """Models and connections of one process; built once, shared by all jobs it runs."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.segmenter: Segmenter = build_segmenter(settings.segmenter)
        self._models: dict[str, LoadedModel] = {}
        self._embedders: dict[str, object] = {}
        self._database: Database | None = None
        self._database_pid: int | None = None

    @property
    def database(self) -> Database:
        """A database handle owned by the current process (a forked job gets its own pool)."""
        if self._database is None or self._database_pid != os.getpid():
            self._database = Database(self.settings)
            self._database_pid = os.getpid()
        return self._database

    def resolve_version(self, requested: str | None = None, project_id: str | None = None) -> str:
        """The model version to use: the request, the registry's promotion for the project or the
        installation, the settings, or models/ACTIVE (read on every call so that promoting or rolling
        back a version needs no restart)."""
        if requested:
            return requested
        with self.database.sessions() as session:
            promoted = activated_version(session, project_id)
        return promoted or self.settings.model_version or read_active_version(self.settings.models_dir)

    def model(self, version: str | None = None, project_id: str | None = None) -> LoadedModel:
        """Load a model version once per process."""
        resolved = self.resolve_version(version, project_id)
        if resolved not in self._models:
            log.info("loading model version %s", resolved)
            self._models[resolved] = load_model(self.settings.models_dir, resolved)
        return self._models[resolved]

    def embedder_for(self, model: LoadedModel):  # noqa: ANN201
        """The (cached) embedder a model was trained with, built once per process."""
        name = model.embedder_name
        if name not in self._embedders:
            path = self.settings.sentence_transformer_path if name == "sentence-transformers" else None
            log.info("loading embedder %s", name)
            self._embedders[name] = build_embedder(name, sentence_transformer_path=path)
        cached = CachedEmbedder(self._embedders[name], SqlEmbeddingCache(self.database.sessions))
        model.attach_embedder(cached)  # for models that also embed the interviewer's question
        return cached

    def preload(self) -> None:
        """Load the active model and its embedder before the worker takes jobs."""
        model = self.model()
        embedder = self.embedder_for(model)
        embedder.encode(["Warm-up zin."])
        log.info("preloaded model %s, embedder %s, segmenter %s", model.version, model.embedder_name, self.segmenter.label)


_runtime: WorkerRuntime | None = None


def get_runtime() -> WorkerRuntime:
    """The process-wide runtime, built from the environment's settings on first use."""
    global _runtime
    if _runtime is None:
        _runtime = WorkerRuntime(get_settings())
    return _runtime


def set_runtime(runtime: WorkerRuntime | None) -> None:
    """Install a runtime (the worker command and tests build theirs explicitly)."""
    global _runtime
    _runtime = runtime
