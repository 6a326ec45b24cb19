"""Time of `qcoder predict` on 1,000 items with the default model (target: under 10 s on 2 cores).

The items are Dutch sentences: the texts of the labelled-data snapshot, then respondent sentences
of the example transcripts (rule segmenter), repeated only if there are too few. Prints the time
of each stage of services/cli/predict.py (imports, model load, embedder load, reading, embedding,
classifying, writing), the end-to-end time of one predict_file call, and items per second.
Run: .venv/bin/python benchmarks/bench_predict.py [--items 1000] [--model VERSION]
"""
from __future__ import annotations

import time

STARTED = time.perf_counter()  # before the heavy imports: they are part of what a user waits for

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

from services.cli.predict import BATCH_SIZE, predict_file, read_items  # noqa: E402
from services.shared.config import REPO_ROOT, get_settings  # noqa: E402
from services.shared.ingest import parse_turns  # noqa: E402
from services.shared.labelled_data import load_snapshot  # noqa: E402
from services.worker.embed import build_embedder  # noqa: E402
from services.worker.model_store import load_model  # noqa: E402
from services.worker.segment import Segmenter  # noqa: E402

IMPORTED = time.perf_counter()


def dutch_items(count: int) -> list[dict]:
    """`count` {"id", "text"} items from the labelled data and the example transcripts."""
    texts = [example.text for example in load_snapshot(REPO_ROOT / "labelled_data" / "base-v1").examples]
    segmenter = Segmenter("rules")
    for path in sorted((REPO_ROOT / "labelled_data" / "transcripts").glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        for turn in parse_turns(text).turns:
            if turn.role == "respondent":
                texts += [text[s.start:s.end] for s in segmenter.split(text, turn.start, turn.end)]
    while len(texts) < count:
        texts += texts
    return [{"id": f"item-{i:04d}", "text": t} for i, t in enumerate(texts[:count])]


def main() -> None:
    """Write the items, time predict_file end to end and stage by stage, print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--model", default=None, help="model version (default: models/ACTIVE)")
    args = parser.parse_args()
    settings = get_settings()
    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder) / "items.jsonl", Path(folder) / "predictions.jsonl"
        items = dutch_items(args.items)
        source.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")

        started = time.perf_counter()
        written = predict_file(source, target, settings, model_version=args.model)
        end_to_end = time.perf_counter() - started
        assert written == len(items) == len(target.read_text(encoding="utf-8").splitlines())

        # The same steps again, timed one by one (the operating system's file cache is warm now).
        stages: dict[str, float] = {"imports (first run)": IMPORTED - STARTED}
        started = time.perf_counter()
        model = load_model(settings.models_dir, args.model)
        stages["load model"] = time.perf_counter() - started
        started = time.perf_counter()
        embedder = build_embedder(model.embedder_name, sentence_transformer_path=settings.sentence_transformer_path)
        model.attach_embedder(embedder)
        stages["load embedder"] = time.perf_counter() - started
        started = time.perf_counter()
        texts = [item["text"] for item in read_items(source)]
        stages["read items"] = time.perf_counter() - started
        embed_seconds = classify_seconds = 0.0
        for offset in range(0, len(texts), BATCH_SIZE):
            batch = texts[offset:offset + BATCH_SIZE]
            started = time.perf_counter()
            vectors = embedder.encode(batch)
            embed_seconds += time.perf_counter() - started
            started = time.perf_counter()
            model.predict(vectors, batch, [None] * len(batch))
            classify_seconds += time.perf_counter() - started
        stages["embed"], stages["classify"] = embed_seconds, classify_seconds
        command_seconds = time_command(source, Path(folder) / "command.jsonl", args.model)

    load = stages["load model"] + stages["load embedder"]
    print(f"{len(items)} items ({sum(len(i['text'].split()) for i in items)} words), model {model.version} "
          f"({model.embedder_name}), {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    for stage, seconds in stages.items():
        print(f"  {stage:<20} {seconds:7.2f} s")
    print(f"  {'load + embed + classify':<20} {load + embed_seconds + classify_seconds:7.2f} s "
          f"({len(items) / (embed_seconds + classify_seconds):.0f} items/s after loading)")
    print(f"predict_file end to end: {end_to_end:.2f} s ({len(items) / end_to_end:.0f} items/s); "
          f"with the imports of a fresh process: {end_to_end + stages['imports (first run)']:.2f} s")
    if command_seconds is not None:
        print(f"`qcoder predict` as a command (new process, everything included): {command_seconds:.2f} s "
              f"({len(items) / command_seconds:.0f} items/s)")


def time_command(source: Path, target: Path, model: str | None) -> float | None:
    """Wall-clock seconds of the `qcoder predict` console script, or None when it is not installed."""
    script = Path(sys.executable).parent / "qcoder"
    if not script.is_file():
        print(f"({script} not found: the command itself is not timed)")
        return None
    command = [str(script), "predict", "--input", str(source), "--output", str(target)]
    if model:
        command += ["--model-version", model]
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
