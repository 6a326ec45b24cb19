"""The retrain job: snapshot the reviewed data, train a new version, compare it with the current one.

The comparison holds out whole transcripts (about a third of those with reviewed quotations):
a candidate with the new version's recipe is fitted without them, and it and the currently active
version are scored on the held-out reviewed sentences. The new version itself is then trained on
everything by train.py, and the comparison is written into its meta.json and report.md.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import shutil
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import joblib
import numpy as np
import yaml
from rq import get_current_job

from services.shared.codebook import Codebook, load_codebook
from services.shared.config import Settings
from services.shared.db import Database
from services.shared.errors import NotFoundError, QcoderError
from services.shared.labelled_data import Example
from services.shared.projects import project_codebook
from services.shared.registry import active_version
from services.shared.snapshots import REVIEW_KIND, build_learning_snapshot
from services.shared.tables import Project, TrainingRun
from services.worker.model_store import (
    CLASSIFIER_FILE, CODEBOOK_FILE, META_FILE, REPORT_FILE, VERSION_FILES, LoadedModel, load_model,
)
from services.worker.model_store import write_model_version
from services.worker.train import (
    DEFAULT_HYPERPARAMETERS, build_coding_model, build_training_data, code_description_embeddings,
    default_version_name, fit_on, train_model_version,
)

log = logging.getLogger(__name__)

HELD_OUT_SHARE = 1 / 3  # of the transcripts with reviewed quotations, at least one
EmbedderFactory = Callable[[str], object]


def retrain_model(training_run_id: str) -> dict:
    """RQ job: run one queued TrainingRun with the worker's settings and embedders."""
    from services.worker.runtime import get_runtime

    runtime = get_runtime()

    def embedder_for(name: str) -> object:
        if name not in runtime._embedders:  # noqa: SLF001 - share the process's loaded embedders
            from services.worker.embed import build_embedder

            path = runtime.settings.sentence_transformer_path if name == "sentence-transformers" else None
            runtime._embedders[name] = build_embedder(name, sentence_transformer_path=path)  # noqa: SLF001
        return runtime._embedders[name]  # noqa: SLF001

    job = get_current_job()
    return run_training(runtime.database, runtime.settings, training_run_id, embedder_for,
                        job_id=job.id if job else None)


def run_training(database: Database, settings: Settings, training_run_id: str, embedder_for: EmbedderFactory, *,
                 job_id: str | None = None, hyperparameters: dict | None = None) -> dict:
    """Snapshot, train, compare and record one TrainingRun; a domain error marks it failed."""
    try:
        return _run(database, settings, training_run_id, embedder_for, job_id, hyperparameters or {})
    except QcoderError as error:
        return _finish_failed(database, training_run_id, f"{error.code}: {error.message}")
    except Exception as error:  # a bug: record it on the run so the user sees why, then let RQ log it
        log.exception("training run %s failed", training_run_id)
        _finish_failed(database, training_run_id, f"E999: internal error ({type(error).__name__}: {error})")
        raise


def _finish_failed(database: Database, training_run_id: str, message: str) -> dict:
    with database.transaction() as session:
        run = session.get(TrainingRun, training_run_id)
        if run is not None:
            run.status, run.error, run.finished_at = "failed", message, datetime.now(UTC)
    return {"training_run_id": training_run_id, "status": "failed", "error": message}


def _run(database: Database, settings: Settings, training_run_id: str, embedder_for: EmbedderFactory,
         job_id: str | None, hyperparameters: dict) -> dict:
    now = datetime.now(UTC)
    with database.transaction() as session:
        run = session.get(TrainingRun, training_run_id)
        if run is None:
            raise NotFoundError("Training run not found.", training_run_id=training_run_id)
        run.status, run.job_id = "running", job_id or run.job_id
        request = dict((run.comparison or {}).get("request", {}))
        project = session.get(Project, run.project_id) if run.project_id else None
        target = project_codebook(project) if project else load_codebook(settings.codebook_path)
        projects = [project] if project else []
        projects += [p for p in (session.get(Project, pid) for pid in request.get("projects", [])) if p]
        base_version = active_version(session, settings.models_dir, run.project_id)
        base_dir = settings.labelled_data_dir / request["base_snapshot"] if request.get("base_snapshot") else None
        snapshot, summary = build_learning_snapshot(
            session, projects, settings.data_dir / "snapshots", f"{now:%Y%m%d-%H%M%S}-{training_run_id[:8]}",
            target=target, base_dir=base_dir, base_codebook=load_codebook(settings.codebook_path),
            mappings=request.get("mappings") or {},
            provenance={"training_run_id": training_run_id, "requested_by": run.requested_by},
        )
        run.snapshot_hash, run.snapshot_path = snapshot.data_snapshot, str(snapshot.path)
        run.base_version = base_version
        requested_by = run.requested_by
    current = load_model(settings.models_dir, base_version) if base_version else None
    embedder_name = current.embedder_name if current else settings.embedder
    embedder = embedder_for(embedder_name)
    h = {**DEFAULT_HYPERPARAMETERS, **hyperparameters}
    with tempfile.TemporaryDirectory(prefix="qcoder-codebook-") as folder:
        codebook_path = Path(folder) / "codebook.yaml"
        codebook_path.write_text(yaml.safe_dump(target.to_dict(), allow_unicode=True, sort_keys=False), encoding="utf-8")
        comparison = compare_on_held_out(list(snapshot.examples), target, embedder, current,
                                         embedder_for, h, seed=13, current_version=base_version)
        version = f"{default_version_name(snapshot.data_snapshot, embedder_name, now)}-r{training_run_id[:6]}"
        staging = Path(tempfile.mkdtemp(prefix=".retrain-", dir=settings.models_dir))
        try:
            staged = train_model_version(snapshot.path, codebook_path, staging, embedder_name, version=version,
                                         embedder=embedder, hyperparameters=h, now=now)
            meta = json.loads((staged / META_FILE).read_text(encoding="utf-8"))
            meta.update({"base_version": base_version, "comparison": comparison,
                         "trained_by": {"user_id": requested_by, "training_run_id": training_run_id},
                         "snapshot_path": str(snapshot.path), "snapshot_summary": summary})
            report = (staged / REPORT_FILE).read_text(encoding="utf-8") + render_comparison(comparison)
            plots = {p.name: p.read_bytes() for p in staged.iterdir() if p.name not in VERSION_FILES}
            path = write_model_version(settings.models_dir, version, joblib.load(staged / CLASSIFIER_FILE),
                                       staged / CODEBOOK_FILE, meta, report, extra_files=plots)
        finally:
            shutil.rmtree(staging, ignore_errors=True)  # the staged copy; the real version is written above
    with database.transaction() as session:
        run = session.get(TrainingRun, training_run_id)
        run.status, run.new_version, run.finished_at = "done", path.name, datetime.now(UTC)
        run.comparison = {"request": request, **comparison}
    log.info("training run %s wrote version %s", training_run_id, path.name)
    return {"training_run_id": training_run_id, "status": "done", "version": path.name}


def held_out_transcripts(examples: list[Example]) -> list[str]:
    """About a third of the transcripts with reviewed examples, chosen by hash so reruns agree."""
    transcripts = sorted({e.source.extra["transcript_id"] for e in examples if e.source.kind == REVIEW_KIND},
                         key=lambda t: hashlib.sha256(t.encode()).hexdigest())
    return transcripts[:max(1, math.ceil(len(transcripts) * HELD_OUT_SHARE))] if transcripts else []


def _label_matrix(examples: list[Example], codebook: Codebook, code_ids: list[str]) -> np.ndarray:
    rows = np.zeros((len(examples), len(code_ids)), dtype=int)
    for row, example in enumerate(examples):
        codes = [codebook.knelpunt_by_number(n).id for n in example.knelpunten] + list(example.solutions)
        for code in codes:
            rows[row, code_ids.index(code)] = 1
    return rows


def _scores(truth: np.ndarray, predicted: np.ndarray, code_ids: list[str]) -> dict:
    from sklearn.metrics import f1_score

    per_code = {}
    for i, code in enumerate(code_ids):
        if truth[:, i].any() or predicted[:, i].any():
            per_code[code] = round(float(f1_score(truth[:, i], predicted[:, i], zero_division=0)), 4)
    return {"micro_f1": round(float(f1_score(truth, predicted, average="micro", zero_division=0)), 4),
            "per_code_f1": per_code, "exact_match": round(float((truth == predicted).all(axis=1).mean()), 4)}


def _predict(model: LoadedModel, embedder: object, examples: list[Example], code_ids: list[str]) -> np.ndarray:
    texts = [e.text for e in examples]
    if model.uses_context:
        model.attach_embedder(embedder)
    predictions = model.predict(np.asarray(embedder.encode(texts)), texts, [e.context for e in examples])
    return np.array([[int(code in p.codes) for code in code_ids] for p in predictions]).reshape(len(examples), -1)


def compare_on_held_out(examples: list[Example], codebook: Codebook, embedder: object, current: LoadedModel | None,
                        embedder_for: EmbedderFactory, h: dict, *, seed: int, current_version: str | None) -> dict:
    """Score the current version and a candidate (trained without them) on held-out reviewed transcripts."""
    held = set(held_out_transcripts(examples))
    test = [e for e in examples if e.source.kind == REVIEW_KIND and e.source.extra["transcript_id"] in held]
    train = [e for e in examples if not (e.source.kind == REVIEW_KIND and e.source.extra["transcript_id"] in held)]
    result: dict = {"held_out_transcripts": sorted(held), "held_out_examples": len(test),
                    "training_examples": len(train), "unit": "reviewed quotation", "current_version": current_version}
    if not test:
        result["note"] = "no reviewed quotations to hold out; the comparison needs reviewed transcripts"
        return result
    code_ids = [c.id for c in (*codebook.knelpunten(), *codebook.solutions())]
    truth = _label_matrix(test, codebook, code_ids)
    data = build_training_data(train, codebook, embedder)
    knelpunt_vectors, solution_vectors = code_description_embeddings(codebook, embedder)
    model = build_coding_model(codebook, np.vstack([knelpunt_vectors, solution_vectors]), h, seed)
    fitted = fit_on(model, data)  # all rows, the codebook examples included
    meta = {"data_snapshot": "candidate", "embedder": {"name": "candidate", "model_id": embedder.model_id,
                                                        "dim": int(embedder.dim)}}
    candidate = LoadedModel("candidate", Path("."), meta, codebook, fitted)
    result["new"] = _scores(truth, _predict(candidate, embedder, test, code_ids), code_ids)
    if current is not None:
        # The new version is trained with the current version's embedder, so one encoding serves both.
        current_embedder = embedder if current.embedder_model_id == embedder.model_id \
            else embedder_for(current.embedder_name)
        result["current"] = _scores(truth, _predict(current, current_embedder, test, code_ids), code_ids)
        result["delta_micro_f1"] = round(result["new"]["micro_f1"] - result["current"]["micro_f1"], 4)
    else:
        result["note"] = "no current version to compare with"
    return result


def render_comparison(comparison: dict) -> str:
    """The comparison as a Markdown section for report.md."""
    lines = ["", "## Comparison with the current version", "",
             f"Held-out transcripts: {len(comparison.get('held_out_transcripts', []))}, "
             f"reviewed quotations: {comparison.get('held_out_examples', 0)} (current version: "
             f"{comparison.get('current_version') or 'none'}).", ""]
    if "new" in comparison:
        lines += ["| model | micro F1 | exact match |", "|---|---|---|",
                  f"| new (trained without the held-out transcripts) | {comparison['new']['micro_f1']} | "
                  f"{comparison['new']['exact_match']} |"]
        if "current" in comparison:
            lines.append(f"| current {comparison['current_version']} | {comparison['current']['micro_f1']} | "
                         f"{comparison['current']['exact_match']} |")
    if comparison.get("note"):
        lines += ["", comparison["note"]]
    return "\n".join(lines) + "\n"
