"""Sentence segmentation of Dutch interview speech with spaCy.

Two modes: "rules" (a blank Dutch pipeline: the sentencizer plus a rule component for what it
gets wrong in transcribed speech) and "nl_core_news_lg" (the trained pipeline's parser, when that
package is installed). Offsets are always absolute character offsets into the text passed in.
"""
from __future__ import annotations

import importlib.util
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from services.shared.errors import ModelUnavailableError
from services.worker.sentence_rules import RULES_COMPONENT, register_rules_component

log = logging.getLogger(__name__)

LG_PACKAGE = "nl_core_news_lg"
MODES = ("auto", "rules", LG_PACKAGE)
# Raise when the rules change, so runs record which rules produced their sentences.
RULES_VERSION = 1
# A transcript turn can be long; the blank tokenizer needs little memory per character.
RULES_MAX_LENGTH_CHARS = 10_000_000

@dataclass(frozen=True)
class SentenceSpan:
    """One sentence as [start, end) absolute character offsets, whitespace stripped."""

    start: int
    end: int


class Segmenter:
    """Splits text into sentences with one spaCy pipeline, built once."""

    def __init__(self, mode: str) -> None:
        if mode == "rules":
            self._nlp = _build_rules_pipeline()
        elif mode == LG_PACKAGE:
            self._nlp = _build_lg_pipeline()
        else:
            raise ValueError(f"segmenter mode must be 'rules' or {LG_PACKAGE!r}, got {mode!r}")
        self.mode = mode

    @property
    def label(self) -> str:
        """Mode and version, for provenance (ProcessingRun.segmenter): changes when boundaries can."""
        import spacy

        if self.mode == "rules":
            return f"rules-v{RULES_VERSION}:spacy=={spacy.__version__}"
        return f"{LG_PACKAGE}=={self._nlp.meta.get('version', 'unknown')}"

    def split(self, text: str, start: int = 0, end: int | None = None) -> list[SentenceSpan]:
        """Segment text[start:end]; return non-empty sentences as absolute offsets into `text`."""
        end = len(text) if end is None else end
        if not 0 <= start <= end <= len(text):
            raise ValueError(f"span [{start}, {end}) is outside the text (length {len(text)})")
        doc = self._nlp(text[start:end])
        spans: list[SentenceSpan] = []
        for sent in doc.sents:
            span = _strip(text, start + sent.start_char, start + sent.end_char)
            if span is not None:
                spans.append(span)
        return spans


def build_segmenter(mode: str = "auto") -> Segmenter:
    """Build the segmenter for `mode` ("auto", "rules" or "nl_core_news_lg"); never downloads."""
    if mode not in MODES:
        raise ValueError(f"segmenter mode must be one of {MODES}, got {mode!r}")
    lg_installed = _lg_installed()
    if mode == "auto":
        mode = LG_PACKAGE if lg_installed else "rules"
        if not lg_installed:
            log.info("segmenter: %s is not installed, auto mode uses the rule-based segmenter", LG_PACKAGE)
    elif mode == LG_PACKAGE and not lg_installed:
        log.warning(
            "segmenter: %s was configured but the package is not installed; using the rule-based "
            "segmenter instead. Install it with: %s (or: python -m spacy download %s)",
            LG_PACKAGE, lg_install_command(), LG_PACKAGE,
        )
        mode = "rules"
    segmenter = Segmenter(mode)
    log.info("segmenter: active mode %s (%s)", segmenter.mode, segmenter.label)
    return segmenter


def lg_install_command() -> str:
    """The pip command that installs the nl_core_news_lg release matching the installed spaCy."""
    from spacy.about import __version__ as spacy_version

    # Trained pipelines are published per spaCy minor version, as x.y.0, on GitHub (not PyPI).
    release = ".".join(spacy_version.split(".")[:2]) + ".0"
    return (
        "pip install https://github.com/explosion/spacy-models/releases/download/"
        f"{LG_PACKAGE}-{release}/{LG_PACKAGE}-{release}-py3-none-any.whl"
    )


def _lg_installed() -> bool:
    return importlib.util.find_spec(LG_PACKAGE) is not None


def _build_rules_pipeline():  # noqa: ANN202 - spacy.Language, imported lazily
    import spacy

    register_rules_component()
    nlp = spacy.blank("nl")
    nlp.max_length = RULES_MAX_LENGTH_CHARS
    nlp.add_pipe("sentencizer")
    nlp.add_pipe(RULES_COMPONENT, after="sentencizer")
    return nlp


def _build_lg_pipeline():  # noqa: ANN202 - spacy.Language, imported lazily
    import spacy

    try:
        nlp = spacy.load(LG_PACKAGE)
    except OSError as exc:
        raise ModelUnavailableError(
            f"spaCy pipeline {LG_PACKAGE} could not be loaded ({exc}); reinstall it with "
            f"{lg_install_command()}, or set QCODER_SEGMENTER=rules",
            package=LG_PACKAGE,
        ) from exc
    if "parser" not in nlp.pipe_names:
        raise ModelUnavailableError(
            f"spaCy pipeline {LG_PACKAGE} has no parser to find sentence boundaries; "
            "reinstall the package or set QCODER_SEGMENTER=rules",
            package=LG_PACKAGE,
        )
    # Only the parser (and the embeddings it listens to) decide boundaries; the rest costs time.
    nlp.select_pipes(enable=[name for name in nlp.pipe_names if name in ("tok2vec", "parser")])
    return nlp


def _strip(text: str, start: int, end: int) -> SentenceSpan | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return SentenceSpan(start, end) if start < end else None


# --- evaluation ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BoundaryScores:
    """Sentence-boundary precision, recall and F1 (a boundary is a sentence start after the first)."""

    true_positives: int
    predicted: int
    gold: int

    @property
    def precision(self) -> float:
        """Share of predicted boundaries that are gold boundaries."""
        return self.true_positives / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        """Share of gold boundaries that were predicted."""
        return self.true_positives / self.gold if self.gold else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __add__(self, other: BoundaryScores) -> BoundaryScores:
        return BoundaryScores(
            self.true_positives + other.true_positives, self.predicted + other.predicted, self.gold + other.gold
        )


def boundary_scores(gold: Sequence[SentenceSpan], predicted: Sequence[SentenceSpan]) -> BoundaryScores:
    """Compare the boundaries (sentence starts except the first) of two segmentations of one text."""
    gold_starts = {span.start for span in gold[1:]}
    predicted_starts = {span.start for span in predicted[1:]}
    return BoundaryScores(len(gold_starts & predicted_starts), len(predicted_starts), len(gold_starts))


def spans_of_sentences(text: str, sentences: Sequence[str]) -> list[SentenceSpan]:
    """Locate gold sentences in `text`; only whitespace may lie between and around them."""
    spans: list[SentenceSpan] = []
    position = 0
    for sentence in sentences:
        stripped = sentence.strip()
        found = text.find(stripped, position) if stripped else -1
        if found < 0 or text[position:found].strip():
            raise ValueError(f"sentence {sentence!r} does not follow position {position} in {text!r}")
        spans.append(SentenceSpan(found, found + len(stripped)))
        position = found + len(stripped)
    if text[position:].strip():
        raise ValueError(f"text after the last sentence is not covered: {text[position:]!r}")
    return spans
