"""`qcoder predict`: classify short texts (one JSON object per line) without storing anything."""
from __future__ import annotations

import json
from pathlib import Path

from services.shared.config import Settings
from services.shared.errors import InputError
from services.worker.embed import build_embedder
from services.worker.model_store import load_model, read_active_version

BATCH_SIZE = 256


def read_items(path: Path) -> list[dict]:
    """Read {"id", "text"} lines, naming the line of any malformed one."""
    items = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}:{number}: not valid JSON ({exc.msg}); write one JSON object per line.") from exc
            if not isinstance(item, dict) or "id" not in item or not isinstance(item.get("text"), str):
                raise InputError(f'{path}:{number}: each line needs "id" and a string "text".')
            items.append(item)
    return items


def predict_file(input_path: Path, output_path: Path, settings: Settings, *, model_version: str | None = None) -> int:
    """Write one prediction line per input line; returns the number written."""
    if not input_path.is_file():
        raise InputError(f"Input file {input_path} not found.")
    items = read_items(input_path)
    model = load_model(settings.models_dir, model_version or settings.model_version or read_active_version(settings.models_dir))
    embedder = build_embedder(model.embedder_name, sentence_transformer_path=settings.sentence_transformer_path)
    model.attach_embedder(embedder)
    number_of = {code.id: code.number for code in model.codebook.knelpunten()}
    output_path.parent.mkdir(parents=True, exist_ok=True)
    with output_path.open("w", encoding="utf-8") as out:
        for offset in range(0, len(items), BATCH_SIZE):
            batch = items[offset:offset + BATCH_SIZE]
            texts = [item["text"] for item in batch]
            contexts = [item.get("context") for item in batch]
            predictions = model.predict(embedder.encode(texts), texts, contexts)
            for item, prediction in zip(batch, predictions):
                record = {
                    "id": item["id"],
                    "codes": sorted(number_of[c] for c in prediction.codes if c in number_of),
                    "scores": {str(number_of[c]): round(p, 4) for c, p in prediction.knelpunt_scores.items()},
                    "stance": prediction.stance,
                }
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return len(items)
