"""From a stored transcript's text and turns to coded quotations (pure computation, no storage)."""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from services.worker.model_store import LoadedModel, SentencePrediction
from services.worker.segment import Segmenter

ProgressCallback = Callable[[str, int], None]

# Share of the job's progress bar reached at the end of each stage.
STAGE_PROGRESS = {"segment": 20, "embed": 70, "classify": 85, "merge": 90}


class TurnLike(Protocol):
    """What the pipeline needs of a speaker turn (tables.Turn and ingest.ParsedTurn both fit)."""

    index: int
    speaker: str
    role: str
    start: int
    end: int


class EmbedderLike(Protocol):
    """The Embedder interface of services.worker.embed."""

    model_id: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class SentenceRecord:
    """One segmented sentence of a turn."""

    turn_index: int
    index: int
    start: int
    end: int


@dataclass
class CodedQuotation:
    """A quotation the model suggests: a span, its stance and its codes with scores."""

    start: int
    end: int
    turn_index: int
    speaker: str
    stance: str
    stance_score: float
    codes: dict[str, float]  # code id -> score


@dataclass
class AnalysisResult:
    """Everything one pass over a transcript produced, plus per-stage timings."""

    sentences: list[SentenceRecord]
    quotations: list[CodedQuotation]
    stage_seconds: dict[str, float] = field(default_factory=dict)


def _preceding_question(text: str, turns: Sequence[TurnLike], position: int) -> str | None:
    """The interviewer turn right before turn `position`, used as context for its sentences."""
    for turn in reversed(turns[:position]):
        if turn.role == "interviewer":
            return text[turn.start:turn.end]
        break
    return None


def segment_respondent_turns(
    text: str, turns: Sequence[TurnLike], segmenter: Segmenter
) -> tuple[list[SentenceRecord], list[str | None]]:
    """Split every respondent turn into sentences; returns them with their question context."""
    sentences: list[SentenceRecord] = []
    contexts: list[str | None] = []
    for position, turn in enumerate(turns):
        if turn.role != "respondent":
            continue  # interviewer turns stay in the text as context but are never coded
        context = _preceding_question(text, turns, position)
        for span in segmenter.split(text, turn.start, turn.end):
            sentences.append(SentenceRecord(turn.index, len(sentences), span.start, span.end))
            contexts.append(context)
    return sentences, contexts


def merge_into_quotations(
    sentences: Sequence[SentenceRecord],
    predictions: Sequence[SentencePrediction],
    speakers: dict[int, str],
) -> list[CodedQuotation]:
    """Merge adjacent sentences of one turn that share a code into one quotation per run.

    A run of consecutive sentences with code c becomes one span; spans with the same
    boundaries are one quotation carrying all their codes. A code's score on a merged
    quotation is the mean of its sentence scores; the stance is the one with the highest
    summed probability over the run.
    """
    spans: dict[tuple[int, int], dict[str, list[int]]] = {}
    by_turn: dict[int, list[int]] = {}
    for i, sentence in enumerate(sentences):
        by_turn.setdefault(sentence.turn_index, []).append(i)

    for turn_index, members in by_turn.items():
        codes_in_turn = sorted({c for i in members for c in predictions[i].codes})
        for code in codes_in_turn:
            run: list[int] = []
            for i in [*members, None]:
                if i is not None and code in predictions[i].codes:
                    run.append(i)
                    continue
                if run:
                    key = (run[0], run[-1])
                    spans.setdefault(key, {})[code] = run
                    run = []

    quotations: list[CodedQuotation] = []
    for (first, last), code_runs in sorted(spans.items()):
        run = list(range(first, last + 1))
        codes = {}
        for code, members in code_runs.items():
            scores = [_score(predictions[i], code) for i in members]
            codes[code] = float(np.mean(scores))
        stance_totals: dict[str, float] = {}
        for i in run:
            stance_totals[predictions[i].stance] = stance_totals.get(predictions[i].stance, 0.0) + predictions[i].stance_score
        stance = max(stance_totals, key=stance_totals.get)
        stance_score = float(np.mean([predictions[i].stance_score for i in run if predictions[i].stance == stance]))
        turn_index = sentences[first].turn_index
        quotations.append(
            CodedQuotation(
                start=sentences[first].start, end=sentences[last].end, turn_index=turn_index,
                speaker=speakers.get(turn_index, ""), stance=stance, stance_score=stance_score, codes=codes,
            )
        )
    return quotations


def _score(prediction: SentencePrediction, code: str) -> float:
    if code in prediction.knelpunt_scores:
        return prediction.knelpunt_scores[code]
    return prediction.solution_scores.get(code, 0.0)


def analyse(
    text: str,
    turns: Sequence[TurnLike],
    *,
    segmenter: Segmenter,
    embedder: EmbedderLike,
    model: LoadedModel,
    progress: ProgressCallback | None = None,
) -> AnalysisResult:
    """Segment, embed, classify and merge one transcript."""
    report = progress or (lambda _stage, _pct: None)
    timings: dict[str, float] = {}

    started = time.perf_counter()
    sentences, contexts = segment_respondent_turns(text, turns, segmenter)
    timings["segment"] = time.perf_counter() - started
    report("segment", STAGE_PROGRESS["segment"])

    started = time.perf_counter()
    sentence_texts = [text[s.start:s.end] for s in sentences]
    embeddings = embedder.encode(sentence_texts) if sentences else np.zeros((0, embedder.dim), dtype=np.float32)
    timings["embed"] = time.perf_counter() - started
    report("embed", STAGE_PROGRESS["embed"])

    started = time.perf_counter()
    predictions = model.predict(embeddings, sentence_texts, contexts) if sentences else []
    timings["classify"] = time.perf_counter() - started
    report("classify", STAGE_PROGRESS["classify"])

    started = time.perf_counter()
    speakers = {t.index: t.speaker for t in turns}
    quotations = merge_into_quotations(sentences, predictions, speakers)
    timings["merge"] = time.perf_counter() - started
    report("merge", STAGE_PROGRESS["merge"])
    return AnalysisResult(sentences=sentences, quotations=quotations, stage_seconds=timings)
