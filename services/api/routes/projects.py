"""Projects, members, codebooks and per-code summaries."""
from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi import APIRouter
from sqlalchemy import select

from services.api.deps import CurrentUser, SessionDep, SettingsDep
from services.api.schemas import CodeSummaryOut, MemberIn, ProjectIn, ProjectOut
from services.shared.codebook import Codebook, load_codebook
from services.shared.errors import NotFoundError
from services.shared.projects import (
    ADMIN_ROLES, READ_ROLES, Role, authorise, create_project, member_role, project_codebook, projects_of, set_member,
)
from services.shared.quotations import code_summary
from services.shared.tables import Project, User

router = APIRouter(tags=["projects"])


def project_out(project: Project, role: Role) -> ProjectOut:
    """The API view of a project for a member with `role`."""
    return ProjectOut(
        id=project.id, name=project.name, description=project.description, role=role,
        pseudonymise=project.pseudonymise, codebook_key=project.codebook.key,
        codebook_version=project.codebook.version, codebook_sha256=project.codebook.sha256,
        model_version=project.model_version, created_at=project.created_at,
    )


def _codebook_from_yaml(text: str) -> Codebook:
    # The loader reports file:line; give it a real file so line numbers refer to the upload.
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "uploaded-codebook.yaml"
        path.write_text(text, encoding="utf-8")
        return load_codebook(path)


@router.post("/projects", response_model=ProjectOut, status_code=201)
def add_project(body: ProjectIn, session: SessionDep, settings: SettingsDep, user: CurrentUser) -> ProjectOut:
    """Create a project (you become its admin), with the default or your own codebook."""
    codebook = _codebook_from_yaml(body.codebook_yaml) if body.codebook_yaml else load_codebook(settings.codebook_path)
    pseudonymise = settings.pseudonymise_by_default if body.pseudonymise is None else body.pseudonymise
    project = create_project(
        session, name=body.name, owner=user, codebook=codebook, description=body.description, pseudonymise=pseudonymise
    )
    return project_out(project, Role.admin)


@router.get("/projects", response_model=list[ProjectOut])
def my_projects(session: SessionDep, user: CurrentUser) -> list[ProjectOut]:
    """The projects you are a member of."""
    return [project_out(project, role) for project, role in projects_of(session, user)]


@router.get("/projects/{project_id}", response_model=ProjectOut)
def get_project(project_id: str, session: SessionDep, user: CurrentUser) -> ProjectOut:
    """One project."""
    project = authorise(session, project_id, user, READ_ROLES)
    return project_out(project, member_role(session, project_id, user))


@router.put("/projects/{project_id}/members", status_code=204)
def put_member(project_id: str, body: MemberIn, session: SessionDep, user: CurrentUser) -> None:
    """Add a user to the project or change their role (project admin)."""
    project = authorise(session, project_id, user, ADMIN_ROLES)
    member = session.scalar(select(User).where(User.username == body.username))
    if member is None:
        raise NotFoundError(f"No user '{body.username}'; a site admin creates users with POST /api/v1/users.")
    set_member(session, project, member, body.role)


@router.get("/projects/{project_id}/codebook")
def get_codebook(project_id: str, session: SessionDep, user: CurrentUser) -> dict:
    """The codebook the project codes with."""
    project = authorise(session, project_id, user, READ_ROLES)
    return project_codebook(project).to_dict()


@router.get("/projects/{project_id}/summary", response_model=list[CodeSummaryOut])
def get_summary(project_id: str, session: SessionDep, user: CurrentUser) -> list[dict]:
    """Per code: quotations, respondents, and quotations per case."""
    project = authorise(session, project_id, user, READ_ROLES)
    return code_summary(session, project.id, project_codebook(project))
