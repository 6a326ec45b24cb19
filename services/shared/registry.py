"""The model registry: stored versions with their data snapshot, scores and trainer, and which is active.

Which version is active is an append-only log (ModelActivation): promote records a version for a
project or (project None) installation-wide; rollback records the version that was active before
the latest promotion of that scope. The active version for a project is its latest activation,
else the latest installation-wide one, else the version named in models/ACTIVE. Version
directories are never overwritten or deleted here.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.shared.errors import ConflictError, ModelUnavailableError, NotFoundError
from services.shared.tables import ModelActivation, TrainingRun, User

log = logging.getLogger(__name__)

META_FILE = "meta.json"  # the same names as services/worker/model_store.py, which shared code cannot import
ACTIVE_FILE = "ACTIVE"
INHERIT = ""  # a project rollback past its first promotion: use the installation-wide version again


def version_meta(models_dir: Path, version: str) -> dict:
    """meta.json of a stored version; raises NotFoundError when there is no such version."""
    path = Path(models_dir) / version / META_FILE
    if not version or "/" in version or version.startswith(".") or not path.is_file():
        raise NotFoundError(f"No model version {version!r} in {models_dir}; list versions with GET /models.",
                            version=version)
    return json.loads(path.read_text(encoding="utf-8"))


def file_active_version(models_dir: Path) -> str | None:
    """The version models/ACTIVE names, or None when the file is missing."""
    path = Path(models_dir) / ACTIVE_FILE
    return path.read_text(encoding="utf-8").strip() or None if path.is_file() else None


def _activations(session: Session, project_id: str | None) -> list[ModelActivation]:
    scope = ModelActivation.project_id.is_(None) if project_id is None else ModelActivation.project_id == project_id
    return list(session.scalars(select(ModelActivation).where(scope).order_by(ModelActivation.id)))


def scope_version(session: Session, project_id: str | None) -> str | None:
    """The version the latest activation of one scope names (None: nothing recorded, or inherit)."""
    activations = _activations(session, project_id)
    return (activations[-1].model_version or None) if activations else None


def activated_version(session: Session, project_id: str | None = None) -> str | None:
    """The promoted version for a project, else the installation-wide one; None when nothing is promoted."""
    if project_id is not None:
        version = scope_version(session, project_id)
        if version:
            return version
    return scope_version(session, None)


def active_version(session: Session, models_dir: Path, project_id: str | None = None) -> str | None:
    """The version a project's next job uses: project activation, installation activation, models/ACTIVE."""
    return activated_version(session, project_id) or file_active_version(models_dir)


def promote(session: Session, models_dir: Path, version: str, user: User | None, project_id: str | None = None
            ) -> ModelActivation:
    """Make a stored version active for a project (or installation-wide); refuses unknown versions."""
    meta = version_meta(models_dir, version)
    if meta.get("version", version) != version:
        raise ModelUnavailableError(f"{models_dir / version / META_FILE} names version {meta.get('version')!r}; "
                                    "the directory was renamed after training", version=version)
    activation = ModelActivation(project_id=project_id, model_version=version, action="promote",
                                 activated_by=user.id if user else None)
    session.add(activation)
    session.flush()
    log.info("model %s promoted for %s", version, project_id or "the installation")
    return activation


def rollback(session: Session, user: User | None, project_id: str | None = None) -> ModelActivation:
    """Return a scope to the version active before its latest promotion (promotions and rollbacks nest)."""
    stack: list[str] = []
    for activation in _activations(session, project_id):
        if activation.action == "promote":
            stack.append(activation.model_version)
        elif stack:
            stack.pop()
    if not stack:
        raise ConflictError("Nothing to roll back: no promotion is in effect for "
                            + (f"project {project_id}." if project_id else "the installation."), project_id=project_id)
    stack.pop()
    previous = stack[-1] if stack else INHERIT
    if previous == INHERIT and project_id is None:
        log.info("installation-wide rollback past the first promotion: models/ACTIVE applies again")
    activation = ModelActivation(project_id=project_id, model_version=previous, action="rollback",
                                 activated_by=user.id if user else None)
    session.add(activation)
    session.flush()
    return activation


def activation_log(session: Session, project_id: str | None = None) -> list[dict]:
    """The activations of one scope, oldest first."""
    return [{"id": a.id, "project_id": a.project_id, "model_version": a.model_version or None, "action": a.action,
             "activated_by": a.activated_by, "at": a.created_at.isoformat()} for a in _activations(session, project_id)]


def list_versions(session: Session, models_dir: Path, project_id: str | None = None) -> list[dict]:
    """Every stored version (oldest first) with its data snapshot, scores, trainer and comparison."""
    models_dir = Path(models_dir)
    active = active_version(session, models_dir, project_id) if models_dir.is_dir() else None
    runs = {r.new_version: r for r in session.scalars(select(TrainingRun).where(TrainingRun.new_version.is_not(None)))}
    rows = []
    for path in sorted(p for p in models_dir.iterdir() if (p / META_FILE).is_file() and not p.name.startswith(".")) \
            if models_dir.is_dir() else []:
        meta = json.loads((path / META_FILE).read_text(encoding="utf-8"))
        evaluation = meta.get("evaluation", {})
        run = runs.get(path.name)
        rows.append({
            "version": path.name, "created_at": meta.get("created_at"), "data_snapshot": meta.get("data_snapshot"),
            "snapshot_name": meta.get("snapshot_name"), "codebook": meta.get("codebook", {}).get("key"),
            "embedder": meta.get("embedder", {}).get("name"),
            "scores": {"knelpunt_micro_f1": evaluation.get("knelpunten", {}).get("micro_f1"),
                       "knelpunt_macro_f1": evaluation.get("knelpunten", {}).get("macro_f1"),
                       "stance_accuracy": evaluation.get("stance", {}).get("accuracy")},
            "trained_by": meta.get("trained_by", {}).get("user_id") if meta.get("trained_by") else None,
            "training_run_id": run.id if run else meta.get("trained_by", {}).get("training_run_id"),
            "base_version": meta.get("base_version"),
            "comparison": meta.get("comparison"),
            "active": path.name == active,
        })
    rows.sort(key=lambda r: (r["created_at"] or "", r["version"]))
    return rows
