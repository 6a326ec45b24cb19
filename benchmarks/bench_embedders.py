"""Load time and sentences per second of each embedding backend on 500 Dutch sentences.

The sentences are the respondent and interviewer speech of labelled_data/transcripts, split by
the rule segmenter (the gold segmentation passages when those transcripts are absent). No cache.
A backend that is not installed is reported and skipped.
Run: .venv/bin/python benchmarks/bench_embedders.py [--sentences 500] [--batch-size 64]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from services.shared.config import REPO_ROOT
from services.shared.errors import ModelUnavailableError
from services.worker.embed import DEFAULT_BATCH_SIZE, EMBEDDER_NAMES, build_embedder
from services.worker.segment import Segmenter

TRANSCRIPTS_DIR = REPO_ROOT / "labelled_data" / "transcripts"
GOLD_FILE = REPO_ROOT / "tests" / "data" / "segmentation" / "nl_interview_boundaries.jsonl"


def dutch_sentences(count: int) -> tuple[list[str], str]:
    """`count` distinct-as-possible Dutch sentences and where they came from."""
    paths = sorted(TRANSCRIPTS_DIR.glob("*.txt")) if TRANSCRIPTS_DIR.is_dir() else []
    sentences: list[str] = []
    if paths:
        segmenter = Segmenter("rules")
        for path in paths:
            text = path.read_text(encoding="utf-8")
            for span in segmenter.split(text):
                sentence = text[span.start:span.end]
                if len(sentence.split()) >= 3 and not sentence.startswith("---"):
                    sentences.append(sentence)
        source = f"{len(paths)} transcripts in {TRANSCRIPTS_DIR.relative_to(REPO_ROOT)}"
    else:
        with GOLD_FILE.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    sentences.extend(json.loads(line)["sentences"])
        source = f"{GOLD_FILE.name} ({TRANSCRIPTS_DIR} not found)"
    unique = list(dict.fromkeys(sentences))
    if len(unique) < count:
        source += f", {len(unique)} distinct sentences repeated"
    return [unique[i % len(unique)] for i in range(count)], source


def main() -> None:
    """Print one line per backend."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--sentences", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--sentence-transformer-path", type=Path, default=None)
    args = parser.parse_args()
    sentences, source = dutch_sentences(args.sentences)
    mean_words = sum(len(s.split()) for s in sentences) / len(sentences)
    print(f"{len(sentences)} sentences from {source}; mean {mean_words:.1f} words; batch size {args.batch_size}")
    print(f"{'backend':<34} {'dim':>4} {'load s':>7} {'encode s':>9} {'sent/s':>8}  model id")
    for name in EMBEDDER_NAMES:
        started = time.perf_counter()
        try:
            embedder = build_embedder(
                name, sentence_transformer_path=args.sentence_transformer_path, batch_size=args.batch_size
            )
        except ModelUnavailableError as exc:
            print(f"{name:<34} skipped: {exc.message}")
            continue
        load_seconds = time.perf_counter() - started
        started = time.perf_counter()
        embedder.encode(sentences)
        encode_seconds = time.perf_counter() - started
        print(f"{name:<34} {embedder.dim:>4} {load_seconds:>7.2f} {encode_seconds:>9.2f} "
              f"{len(sentences) / encode_seconds:>8.1f}  {embedder.model_id}")


if __name__ == "__main__":
    main()
