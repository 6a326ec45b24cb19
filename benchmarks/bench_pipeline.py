"""Per-stage time of the whole pipeline on a ~10,000-word transcript (SQLite, in-process).

Prints parse, segment, embed, classify, merge and store seconds, the end-to-end time, and
end-to-end as a multiple of pure embedding time (the same sentences, encoded without cache).
Run: .venv/bin/python benchmarks/bench_pipeline.py [--words 10000]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from services.shared.codebook import load_codebook
from services.shared.config import REPO_ROOT, get_settings
from services.shared.projects import create_project
from services.shared.accounts import create_user
from services.shared.tables import Transcript
from services.shared.uploads import build_transcript, store_transcript
from services.worker.embed import build_embedder
from services.worker.pipeline import analyse
from services.worker.runtime import WorkerRuntime
from services.worker.store import claim_transcript, store_analysis


def make_transcript(words: int) -> bytes:
    """Concatenate the example transcripts' turns until about `words` words."""
    bodies = []
    for path in sorted((REPO_ROOT / "labelled_data" / "transcripts").glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        bodies.append(text.split("---", 2)[2] if text.startswith("---") else text)
    body = "\n".join(bodies)
    while len(body.split()) < words:
        body += "\n" + body
    kept, count = [], 0
    for line in body.splitlines():
        kept.append(line)
        count += len(line.split())
        if count >= words:
            break
    return "\n".join(kept).encode("utf-8")


def main() -> None:
    """Run the benchmark once and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--words", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        settings = get_settings(database_url=f"sqlite:///{Path(folder) / 'bench.db'}", data_dir=Path(folder))
        runtime = WorkerRuntime(settings)
        runtime.database.upgrade()
        model = runtime.model()
        embedder = runtime.embedder_for(model)
        embedder.encode(["opwarmen"])  # load the embedder outside the timings
        data = make_transcript(args.words)

        started = time.perf_counter()
        transcript = build_transcript(data, "bench.txt", settings)
        parse_seconds = time.perf_counter() - started
        with runtime.database.transaction() as session:
            user = create_user(session, "bench", "benchmark-password")
            project = create_project(session, name="bench", owner=user, codebook=load_codebook(settings.codebook_path),
                                     pseudonymise=False)  # times the pipeline; pseudonymising is timed in bench_load
            transcript_id = store_transcript(session, project, transcript, user).id
            claim_transcript(session, transcript_id, None)
        with runtime.database.transaction() as session:
            row = session.get(Transcript, transcript_id)
            text, turns = row.text, list(row.turns)

        result = analyse(text, turns, segmenter=runtime.segmenter, embedder=embedder, model=model)
        started = time.perf_counter()
        with runtime.database.transaction() as session:
            store_analysis(session, transcript_id, model, result, embedder_id=embedder.model_id,
                           segmenter_label=runtime.segmenter.label, job_id=None)
        store_seconds = time.perf_counter() - started

        sentences = [text[s.start:s.end] for s in result.sentences]
        raw = build_embedder(model.embedder_name, sentence_transformer_path=settings.sentence_transformer_path)
        raw.encode(["opwarmen"])
        started = time.perf_counter()
        raw.encode(sentences)
        pure_embed = time.perf_counter() - started

        stages = {"parse": parse_seconds, **result.stage_seconds, "store": store_seconds}
        total = sum(stages.values())
        print(f"transcript: {len(text.split())} words, {len(turns)} turns, {len(sentences)} respondent sentences, "
              f"{len(result.quotations)} quotations; model {model.version}, embedder {embedder.model_id}, "
              f"segmenter {runtime.segmenter.mode}")
        for stage, seconds in stages.items():
            print(f"  {stage:<9} {seconds:8.3f} s")
        print(f"  {'total':<9} {total:8.3f} s")
        print(f"pure embedding of the same sentences: {pure_embed:.3f} s")
        print(f"end-to-end / pure embedding: {total / pure_embed:.2f}x")


if __name__ == "__main__":
    main()
