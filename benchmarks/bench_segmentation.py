"""Sentence-boundary precision, recall and F1 per segmenter mode, and sentences per second.

Quality is measured on tests/data/segmentation/nl_interview_boundaries.jsonl (hand-segmented
Dutch interview passages); speed on the example transcripts in labelled_data/transcripts
(repeated up to --chars characters). The plain spaCy sentencizer is printed as a baseline.
Run: .venv/bin/python benchmarks/bench_segmentation.py [--chars 500000]
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import time

from services.shared.config import REPO_ROOT
from services.worker.segment import (
    LG_PACKAGE,
    BoundaryScores,
    Segmenter,
    SentenceSpan,
    boundary_scores,
    lg_install_command,
    spans_of_sentences,
)

GOLD_FILE = REPO_ROOT / "tests" / "data" / "segmentation" / "nl_interview_boundaries.jsonl"
TRANSCRIPTS_DIR = REPO_ROOT / "labelled_data" / "transcripts"


class SentencizerBaseline:
    """spacy.blank("nl") with only the sentencizer: what the rule component improves on."""

    mode = "sentencizer (baseline)"

    def __init__(self) -> None:
        import spacy

        self._nlp = spacy.blank("nl")
        self._nlp.add_pipe("sentencizer")

    def split(self, text: str) -> list[SentenceSpan]:
        """Sentences of `text`, whitespace stripped."""
        spans = []
        for sent in self._nlp(text).sents:
            stripped = sent.text.strip()
            if stripped:
                start = sent.start_char + sent.text.index(stripped)
                spans.append(SentenceSpan(start, start + len(stripped)))
        return spans


def load_gold() -> list[dict]:
    """The gold passages: {"text", "sentences"} per line."""
    with GOLD_FILE.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def speed_text(chars: int, gold: list[dict]) -> tuple[str, str]:
    """A long text to time segmentation on, and where it came from."""
    paths = sorted(TRANSCRIPTS_DIR.glob("*.txt")) if TRANSCRIPTS_DIR.is_dir() else []
    if paths:
        source = f"{len(paths)} transcripts in {TRANSCRIPTS_DIR.relative_to(REPO_ROOT)}"
        base = "\n\n".join(path.read_text(encoding="utf-8") for path in paths)
    else:
        source = f"the gold passages ({TRANSCRIPTS_DIR} not found)"
        base = "\n\n".join(item["text"] for item in gold)
    text = base
    while len(text) < chars:
        text += "\n\n" + base
    return text[:chars], source


def evaluate(segmenter, gold: list[dict]) -> BoundaryScores:  # noqa: ANN001 - Segmenter or baseline
    """Micro-averaged boundary scores over all gold passages."""
    total = BoundaryScores(0, 0, 0)
    for item in gold:
        gold_spans = spans_of_sentences(item["text"], item["sentences"])
        total = total + boundary_scores(gold_spans, segmenter.split(item["text"]))
    return total


def main() -> None:
    """Print one line per available mode."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--chars", type=int, default=500_000, help="characters of text to time")
    args = parser.parse_args()
    gold = load_gold()
    text, source = speed_text(args.chars, gold)
    print(f"gold: {len(gold)} passages, {sum(len(i['sentences']) for i in gold)} sentences ({GOLD_FILE.name})")
    print(f"speed: {len(text):,} characters from {source}")

    candidates: list = [SentencizerBaseline]
    candidates.append(lambda: Segmenter("rules"))
    if importlib.util.find_spec(LG_PACKAGE) is not None:
        candidates.append(lambda: Segmenter(LG_PACKAGE))
    else:
        print(f"{LG_PACKAGE}: not installed, skipped ({lg_install_command()})")

    print(f"{'mode':<24} {'load s':>7} {'P':>6} {'R':>6} {'F1':>6} {'sent/s':>9}")
    for build in candidates:
        started = time.perf_counter()
        segmenter = build()
        load_seconds = time.perf_counter() - started
        scores = evaluate(segmenter, gold)
        started = time.perf_counter()
        count = len(segmenter.split(text))
        rate = count / (time.perf_counter() - started)
        print(f"{segmenter.mode:<24} {load_seconds:>7.2f} {scores.precision:>6.3f} {scores.recall:>6.3f} "
              f"{scores.f1:>6.3f} {rate:>9,.0f}")


if __name__ == "__main__":
    main()
