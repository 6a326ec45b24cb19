"""Feature matrices for the classifiers, built from sentence embeddings (and optionally more).

Every block is computed from what the pipeline has at prediction time: the sentence embeddings,
the sentence texts and, for the "context" block, embeddings of the interviewer's question.
Which blocks the shipped model uses, and why, is in docs/model.md.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils.validation import check_is_fitted

from services.shared.errors import InputError

# "embedding": the sentence embedding itself.
# "context": the embedding of the interviewer question before the sentence (zeros when unknown).
# "tfidf": character n-gram TF-IDF of the sentence text (spelling variants, Dutch compounds).
# "code_similarity": cosine similarity of the sentence to each code description, standardised.
FEATURE_BLOCKS = ("embedding", "context", "tfidf", "code_similarity")


@dataclass(frozen=True)
class SentenceInputs:
    """What the feature builder reads for n sentences; every field has n rows."""

    embeddings: np.ndarray  # (n, dim) float32, L2-normalised
    texts: Sequence[str]
    context_embeddings: np.ndarray | None = None  # (n, dim); zero rows where no question is known

    def __post_init__(self) -> None:
        if self.embeddings.ndim != 2:
            raise InputError(f"embeddings must be a 2-d array, got shape {self.embeddings.shape}")
        n = self.embeddings.shape[0]
        if len(self.texts) != n:
            raise InputError(f"{n} embeddings but {len(self.texts)} texts; pass one text per embedding row")
        if self.context_embeddings is not None and self.context_embeddings.shape != self.embeddings.shape:
            raise InputError(
                f"context embeddings have shape {self.context_embeddings.shape}, "
                f"expected {self.embeddings.shape} (one row per sentence, zeros where no question)"
            )

    def __len__(self) -> int:
        return int(self.embeddings.shape[0])

    def subset(self, index: np.ndarray) -> SentenceInputs:
        """Return the rows named by an integer index array."""
        contexts = None if self.context_embeddings is None else self.context_embeddings[index]
        return SentenceInputs(self.embeddings[index], [self.texts[i] for i in index], contexts)


class FeatureBuilder(TransformerMixin, BaseEstimator):
    """Turn SentenceInputs into one feature matrix from the chosen blocks."""

    def __init__(
        self,
        blocks: tuple[str, ...] = ("embedding",),
        code_embeddings: np.ndarray | None = None,
        context_weight: float = 0.5,
        tfidf_weight: float = 1.0,
        tfidf_max_features: int = 3000,
        code_similarity_weight: float = 0.1,
    ) -> None:
        self.blocks = blocks
        self.code_embeddings = code_embeddings
        self.context_weight = context_weight
        self.tfidf_weight = tfidf_weight
        self.tfidf_max_features = tfidf_max_features
        self.code_similarity_weight = code_similarity_weight

    def fit(self, inputs: SentenceInputs, y: object = None) -> FeatureBuilder:
        """Learn the TF-IDF vocabulary and similarity scaling the chosen blocks need."""
        unknown = [b for b in self.blocks if b not in FEATURE_BLOCKS]
        if unknown or not self.blocks:
            raise InputError(f"unknown or empty feature blocks {list(self.blocks)}; choose from {FEATURE_BLOCKS}")
        self.n_embedding_dims_ = int(inputs.embeddings.shape[1])
        if "tfidf" in self.blocks:
            # char_wb n-grams stay inside words, so Dutch compounds share features with their parts.
            self.tfidf_ = TfidfVectorizer(
                analyzer="char_wb", ngram_range=(3, 5), min_df=2, sublinear_tf=True,
                max_features=self.tfidf_max_features, dtype=np.float32,
            ).fit(list(inputs.texts))
        if "code_similarity" in self.blocks:
            if self.code_embeddings is None:
                raise InputError("the code_similarity block needs code_embeddings (one row per code description)")
            similarities = inputs.embeddings @ np.asarray(self.code_embeddings).T
            self.similarity_mean_ = similarities.mean(axis=0)
            # A floor on the spread keeps a code that every sentence resembles equally from exploding.
            self.similarity_scale_ = np.maximum(similarities.std(axis=0), 1e-3)
        return self

    def transform(self, inputs: SentenceInputs) -> np.ndarray | sparse.csr_matrix:
        """Return the (n, n_features) matrix; sparse when the TF-IDF block is used."""
        check_is_fitted(self, "n_embedding_dims_")
        if inputs.embeddings.shape[1] != self.n_embedding_dims_:
            raise InputError(
                f"embeddings have {inputs.embeddings.shape[1]} dimensions but the features were fitted on "
                f"{self.n_embedding_dims_}; use the embedder the model was trained with"
            )
        parts: list[np.ndarray | sparse.csr_matrix] = []
        embeddings = np.asarray(inputs.embeddings, dtype=np.float64)
        if "embedding" in self.blocks:
            parts.append(embeddings)
        if "context" in self.blocks:
            contexts = inputs.context_embeddings
            if contexts is None:
                contexts = np.zeros_like(embeddings)
            parts.append(self.context_weight * np.asarray(contexts, dtype=np.float64))
        if "code_similarity" in self.blocks:
            similarities = embeddings @ np.asarray(self.code_embeddings, dtype=np.float64).T
            parts.append(self.code_similarity_weight * (similarities - self.similarity_mean_) / self.similarity_scale_)
        if "tfidf" in self.blocks:
            tfidf = self.tfidf_.transform(list(inputs.texts)).astype(np.float64) * self.tfidf_weight
            return sparse.hstack([sparse.csr_matrix(p) for p in parts] + [tfidf], format="csr")
        return np.hstack(parts)

    def fit_transform(self, inputs: SentenceInputs, y: object = None, **fit_params: object) -> np.ndarray:
        """Fit, then transform the same inputs."""
        return self.fit(inputs, y).transform(inputs)


def context_embeddings_for(contexts: Sequence[str | None], embedder: object, dim: int) -> np.ndarray:
    """Embed the known questions; rows without a question stay zero (no signal, not a fake one)."""
    result = np.zeros((len(contexts), dim), dtype=np.float32)
    known = [i for i, c in enumerate(contexts) if c]
    if known:
        # Identical questions are embedded once: one question precedes many sentences.
        unique = sorted({contexts[i] for i in known})
        vectors = embedder.encode(unique)
        position = {text: row for row, text in enumerate(unique)}
        for i in known:
            result[i] = vectors[position[contexts[i]]]
    return result
