"""Span-level scores of the whole pipeline on gold-coded example transcripts (labelled_data/transcripts).

Each transcript goes through the worker's own steps (parse_turns, pipeline.analyse: segment,
embed, classify, merge), and its predicted quotations are compared with the gold quotations per
code: a predicted quotation counts when it overlaps a gold quotation with the same code, and a
gold quotation is found when a predicted quotation with its code overlaps it. These transcripts
are never training data, so the scores are held out by construction.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from services.shared.codebook import Codebook
from services.shared.errors import LabelledDataError, UnknownCodeError
from services.shared.ingest import parse_turns
from services.worker.model_store import LoadedModel
from services.worker.pipeline import analyse
from services.worker.segment import build_segmenter

GOLD_SUFFIX = ".gold.json"
OVERLAP_RULE = ("a predicted quotation counts when it overlaps (shares at least one character with) a gold "
                "quotation with the same code; a gold quotation is found when a predicted quotation with its "
                "code overlaps it")
COUNT_KEYS = ("predicted", "matched_predicted", "gold", "matched_gold")
# The rule segmenter gives the same boundaries on every machine (nl_core_news_lg may be absent).
SEGMENTER_MODE = "rules"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Span:
    """A quotation as [start, end) character offsets and the code ids it carries."""

    start: int
    end: int
    codes: frozenset[str]

    def overlaps(self, other: Span) -> bool:
        """Whether the two spans share at least one character."""
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True)
class GoldTranscript:
    """One example transcript's text and its gold quotations."""

    name: str
    text: str
    quotations: tuple[Span, ...]


def load_gold_transcripts(directory: Path, codebook: Codebook) -> list[GoldTranscript]:
    """Every <name>.txt in `directory` that has a <name>.gold.json beside it, gold codes as codebook ids."""
    transcripts = []
    for gold_path in sorted(Path(directory).glob(f"*{GOLD_SUFFIX}")):
        gold = json.loads(gold_path.read_text(encoding="utf-8"))
        text_path = gold_path.with_name(gold.get("transcript") or gold_path.name.removesuffix(GOLD_SUFFIX) + ".txt")
        if not text_path.is_file():
            raise LabelledDataError(f"{gold_path} names {text_path.name}, which does not exist")
        text = text_path.read_text(encoding="utf-8")
        quotations = []
        for number, item in enumerate(gold["quotations"]):
            if text[item["start"]:item["end"]] != item["text"]:
                raise LabelledDataError(f"{gold_path}: quotation {number} does not match the text at "
                                        f"[{item['start']}, {item['end']}); fix its offsets")
            try:
                codes = [codebook.knelpunt_by_number(n).id for n in item["knelpunten"]]
                codes += [codebook.code(code).id for code in item.get("solutions", [])]
            except UnknownCodeError as error:
                raise LabelledDataError(f"{gold_path}: quotation {number} uses a code that codebook "
                                        f"{codebook.key} {codebook.version} lacks ({error.message})") from error
            quotations.append(Span(item["start"], item["end"], frozenset(codes)))
        transcripts.append(GoldTranscript(text_path.name, text, tuple(quotations)))
    return transcripts


def span_counts(predicted: Sequence[Span], gold: Sequence[Span]) -> dict[str, dict[str, int]]:
    """Per code: predicted and gold quotations with it, and how many of each overlap one of the other."""
    counts: dict[str, dict[str, int]] = {}
    for code in sorted({c for span in (*predicted, *gold) for c in span.codes}):
        mine = [p for p in predicted if code in p.codes]
        theirs = [g for g in gold if code in g.codes]
        counts[code] = {
            "predicted": len(mine),
            "matched_predicted": sum(any(p.overlaps(g) for g in theirs) for p in mine),
            "gold": len(theirs),
            "matched_gold": sum(any(g.overlaps(p) for p in mine) for g in theirs),
        }
    return counts


def add_counts(total: dict[str, dict[str, int]], counts: dict[str, dict[str, int]]) -> None:
    """Add one transcript's per-code counts into a running total."""
    for code, values in counts.items():
        into = total.setdefault(code, dict.fromkeys(COUNT_KEYS, 0))
        for key in COUNT_KEYS:
            into[key] += values[key]


def span_scores(counts: dict[str, dict[str, int]], code_ids: Sequence[str]) -> dict:
    """Precision, recall and F1 per code (those predicted or in the gold) and micro over `code_ids`."""
    per_code = {}
    for code in code_ids:
        if code in counts and (counts[code]["predicted"] or counts[code]["gold"]):
            per_code[code] = {**counts[code], **_prf(*(counts[code][k] for k in COUNT_KEYS))}
    totals = [sum(counts.get(code, {}).get(key, 0) for code in code_ids) for key in COUNT_KEYS]
    micro = _prf(*totals)
    with_gold = [s["f1"] for s in per_code.values() if s["gold"]]
    return {
        "micro_precision": micro["precision"], "micro_recall": micro["recall"], "micro_f1": micro["f1"],
        "macro_f1": round(sum(with_gold) / len(with_gold), 4) if with_gold else 0.0,
        **dict(zip(COUNT_KEYS, totals)), "per_code": per_code,
    }


def evaluate_transcripts(
    transcripts: Sequence[GoldTranscript], model: object, embedder: object, segmenter: object
) -> dict:
    """Run the pipeline on every transcript and score its quotations against the gold ones."""
    knelpunt_ids = [code.id for code in model.codebook.knelpunten()]
    solution_ids = [code.id for code in model.codebook.solutions()]
    total: dict[str, dict[str, int]] = {}
    per_transcript, sentences, predicted_quotations = {}, 0, 0
    for transcript in transcripts:
        turns = parse_turns(transcript.text).turns
        result = analyse(transcript.text, turns, segmenter=segmenter, embedder=embedder, model=model)
        predicted = [Span(q.start, q.end, frozenset(q.codes)) for q in result.quotations]
        counts = span_counts(predicted, transcript.quotations)
        add_counts(total, counts)
        sentences += len(result.sentences)
        predicted_quotations += len(predicted)
        knelpunten = span_scores(counts, knelpunt_ids)
        per_transcript[transcript.name] = {
            "sentences": len(result.sentences), "predicted_quotations": len(predicted),
            "gold_quotations": len(transcript.quotations), "knelpunt_micro_f1": knelpunten["micro_f1"],
        }
    return {
        "rule": OVERLAP_RULE,
        "segmenter": getattr(segmenter, "label", str(segmenter)),
        "transcripts": [t.name for t in transcripts],
        "sentences": sentences,
        "gold_quotations": sum(len(t.quotations) for t in transcripts),
        "predicted_quotations": predicted_quotations,
        "knelpunten": span_scores(total, knelpunt_ids),
        "solutions": span_scores(total, solution_ids),
        "per_transcript": per_transcript,
    }


def span_evaluation(
    coding_model: object, codebook: Codebook, data_snapshot: str, embedder_meta: dict, embedder: object,
    transcripts_dir: Path,
) -> dict | None:
    """Score a freshly fitted CodingModel span by span on the gold-coded transcripts in `transcripts_dir`."""
    transcripts = load_gold_transcripts(transcripts_dir, codebook)
    if not transcripts:
        log.warning("no gold-coded transcripts (*%s) in %s: no span-level scores", GOLD_SUFFIX, transcripts_dir)
        return None
    meta = {"data_snapshot": data_snapshot, "embedder": embedder_meta}
    model = LoadedModel("in-training", Path(transcripts_dir), meta, codebook, coding_model)
    if model.uses_context:
        model.attach_embedder(embedder)
    log.info("span-level evaluation on %d transcripts", len(transcripts))
    return evaluate_transcripts(transcripts, model, embedder, build_segmenter(SEGMENTER_MODE))


def _prf(predicted: int, matched_predicted: int, gold: int, matched_gold: int) -> dict:
    precision = matched_predicted / predicted if predicted else 0.0
    recall = matched_gold / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}
