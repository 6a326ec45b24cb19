"""The learning loop: retraining runs, the model registry (promote, roll back) and agreement statistics.

Retraining and promoting for a project need the project's admin or researcher role; installation-wide
promotion needs a site administrator. Reading needs any role in the project.
"""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from services.api.deps import CurrentUser, RedisDep, SessionDep, SettingsDep, SiteAdmin
from services.shared.agreement import MODEL, project_agreement
from services.shared.errors import InputError, NotFoundError
from services.shared.projects import READ_ROLES, UPLOAD_ROLES, authorise
from services.shared.queue import enqueue_training
from services.shared.registry import activation_log, active_version, list_versions, promote, rollback, version_meta
from services.shared.review_agreement import agreement_comparisons
from services.shared.review_views import resolve_reviewer, review_codebook
from services.shared.tables import TrainingRun

router = APIRouter(tags=["models"])
RaterQuery = Annotated[str, Query(pattern=r"^(model|me|\d+)$", description="model, me, or a reviewer's user id")]


class TrainingRequest(BaseModel):
    base_snapshot: str | None = Field("base-v1", description="a snapshot under labelled_data/ to include; null: none")
    projects: list[str] = Field(default_factory=list, description="further projects whose reviews to include")
    mappings: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="project id or 'base' -> {source code id: this project's code id}")


class TrainingRunOut(BaseModel):
    id: str
    project_id: str | None
    status: str
    snapshot_hash: str | None
    snapshot_path: str | None
    base_version: str | None
    new_version: str | None
    comparison: dict
    error: str | None
    job_id: str | None
    requested_by: int | None
    created_at: str
    finished_at: str | None


def run_out(run: TrainingRun) -> TrainingRunOut:
    """A training run as the API shows it."""
    return TrainingRunOut(
        id=run.id, project_id=run.project_id, status=run.status, snapshot_hash=run.snapshot_hash,
        snapshot_path=run.snapshot_path, base_version=run.base_version, new_version=run.new_version,
        comparison=run.comparison or {}, error=run.error, job_id=run.job_id, requested_by=run.requested_by,
        created_at=run.created_at.isoformat(), finished_at=run.finished_at.isoformat() if run.finished_at else None,
    )


@router.post("/projects/{project_id}/training-runs", response_model=TrainingRunOut, status_code=202)
def start_training(project_id: str, body: TrainingRequest, session: SessionDep, settings: SettingsDep,
                   redis: RedisDep, user: CurrentUser) -> TrainingRunOut:
    """Snapshot the project's reviewed quotations and train a new model version in the background."""
    authorise(session, project_id, user, UPLOAD_ROLES)
    for other in body.projects:
        authorise(session, other, user, READ_ROLES)
    if body.base_snapshot is not None and not (settings.labelled_data_dir / body.base_snapshot / "parts").is_dir():
        raise InputError(f"No labelled-data snapshot {body.base_snapshot!r} in {settings.labelled_data_dir}.")
    run = TrainingRun(project_id=project_id, status="queued", requested_by=user.id,
                      comparison={"request": body.model_dump()})
    session.add(run)
    session.commit()  # the worker must find the run as soon as the job is queued
    run.job_id = enqueue_training(settings, redis, run.id)
    return run_out(run)


@router.get("/projects/{project_id}/training-runs", response_model=list[TrainingRunOut])
def project_training_runs(project_id: str, session: SessionDep, user: CurrentUser) -> list[TrainingRunOut]:
    """The project's training runs, newest first."""
    authorise(session, project_id, user, READ_ROLES)
    runs = session.scalars(select(TrainingRun).where(TrainingRun.project_id == project_id)
                           .order_by(TrainingRun.created_at.desc()))
    return [run_out(run) for run in runs]


@router.get("/training-runs/{run_id}", response_model=TrainingRunOut)
def get_training_run(run_id: str, session: SessionDep, user: CurrentUser) -> TrainingRunOut:
    """One training run: status, snapshot, new version and the comparison with the old one."""
    run = session.get(TrainingRun, run_id)
    if run is None or run.project_id is None:
        raise NotFoundError("Training run not found.", run_id=run_id)
    authorise(session, run.project_id, user, READ_ROLES)
    return run_out(run)


@router.get("/models")
def installation_models(session: SessionDep, settings: SettingsDep, user: CurrentUser) -> dict:
    """Every stored model version and the installation-wide active one."""
    return {"active": active_version(session, settings.models_dir, None),
            "versions": list_versions(session, settings.models_dir, None), "activations": activation_log(session)}


@router.get("/projects/{project_id}/models")
def project_models(project_id: str, session: SessionDep, settings: SettingsDep, user: CurrentUser) -> dict:
    """The registry as the project sees it: versions, the one its next job uses, its activation log."""
    authorise(session, project_id, user, READ_ROLES)
    return {"active": active_version(session, settings.models_dir, project_id),
            "versions": list_versions(session, settings.models_dir, project_id),
            "activations": activation_log(session, project_id)}


@router.get("/models/{version}")
def model_version(version: str, settings: SettingsDep, user: CurrentUser) -> dict:
    """A version's meta.json: data snapshot, scores, hyperparameters, comparison."""
    return version_meta(settings.models_dir, version)


@router.post("/projects/{project_id}/models/{version}/promote")
def promote_for_project(project_id: str, version: str, session: SessionDep, settings: SettingsDep,
                        user: CurrentUser) -> dict:
    """Make a version the one the project's next job uses."""
    authorise(session, project_id, user, UPLOAD_ROLES)
    promote(session, settings.models_dir, version, user, project_id)
    return {"active": active_version(session, settings.models_dir, project_id)}


@router.post("/projects/{project_id}/models/rollback")
def rollback_for_project(project_id: str, session: SessionDep, settings: SettingsDep, user: CurrentUser) -> dict:
    """Return the project to the version active before its latest promotion."""
    authorise(session, project_id, user, UPLOAD_ROLES)
    rollback(session, user, project_id)
    return {"active": active_version(session, settings.models_dir, project_id)}


@router.post("/models/{version}/promote")
def promote_installation(version: str, session: SessionDep, settings: SettingsDep, admin: SiteAdmin) -> dict:
    """Make a version active for every project without a promotion of its own."""
    promote(session, settings.models_dir, version, admin, None)
    return {"active": active_version(session, settings.models_dir, None)}


@router.post("/models/rollback")
def rollback_installation(session: SessionDep, settings: SettingsDep, admin: SiteAdmin) -> dict:
    """Undo the latest installation-wide promotion."""
    rollback(session, admin, None)
    return {"active": active_version(session, settings.models_dir, None)}


@router.get("/projects/{project_id}/agreement")
def agreement(project_id: str, session: SessionDep, user: CurrentUser, first: RaterQuery = "model",
              second: RaterQuery = "me") -> dict:
    """Cohen's kappa, Krippendorff's alpha and F1 per code and overall, counted per sentence."""
    project = authorise(session, project_id, user, READ_ROLES)

    def rater(value: str) -> int | str:
        return MODEL if value == MODEL else resolve_reviewer(session, project.id, user, value)

    return project_agreement(session, project.id, review_codebook(project), rater(first), rater(second))


@router.get("/projects/{project_id}/agreement/comparisons")
def agreement_choices(project_id: str, session: SessionDep, user: CurrentUser) -> dict:
    """The reviewers who decided anything, and the comparisons worth showing: model vs each of them,
    and reviewer vs reviewer where both reviewed a transcript in common."""
    project = authorise(session, project_id, user, READ_ROLES)
    return agreement_comparisons(session, project.id)
