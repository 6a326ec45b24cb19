"""Projects, their members and roles, and the codebook each project codes with."""
from __future__ import annotations

from enum import Enum

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.shared.codebook import Codebook, codebook_from_dict
from services.shared.errors import InputError, NotFoundError, PermissionDeniedError
from services.shared.tables import CodebookVersion, Project, ProjectMember, User


class Role(str, Enum):
    """A user's role in one project."""

    researcher = "researcher"
    reviewer = "reviewer"
    admin = "admin"


READ_ROLES = frozenset({Role.researcher, Role.reviewer, Role.admin})
UPLOAD_ROLES = frozenset({Role.researcher, Role.admin})
REVIEW_ROLES = frozenset({Role.reviewer, Role.admin})
ADMIN_ROLES = frozenset({Role.admin})


def store_codebook(session: Session, codebook: Codebook) -> CodebookVersion:
    """Return the stored row for this exact codebook content, adding it when new."""
    row = session.scalar(select(CodebookVersion).where(CodebookVersion.sha256 == codebook.sha256))
    if row is None:
        row = CodebookVersion(
            key=codebook.key, version=codebook.version, name=codebook.name,
            content=codebook.to_dict(), sha256=codebook.sha256,
        )
        session.add(row)
        session.flush()
    return row


def project_codebook(project: Project) -> Codebook:
    """The validated codebook a project codes with."""
    return codebook_from_dict(project.codebook.content, source=f"project {project.id}")


def create_project(
    session: Session, *, name: str, owner: User, codebook: Codebook, description: str = "", pseudonymise: bool = True
) -> Project:
    """Create a project with `owner` as its admin."""
    if not name.strip():
        raise InputError("A project needs a name.")
    project = Project(
        name=name.strip(), description=description, codebook_id=store_codebook(session, codebook).id,
        pseudonymise=pseudonymise, created_by=owner.id,
    )
    session.add(project)
    session.flush()
    session.add(ProjectMember(project_id=project.id, user_id=owner.id, role=Role.admin.value))
    session.flush()
    return project


def member_role(session: Session, project_id: str, user: User) -> Role | None:
    """The user's role in the project, or None when not a member."""
    role = session.scalar(
        select(ProjectMember.role).where(ProjectMember.project_id == project_id, ProjectMember.user_id == user.id)
    )
    return Role(role) if role else None


def authorise(session: Session, project_id: str, user: User, allowed: frozenset[Role]) -> Project:
    """Return the project if `user` holds one of `allowed` roles.

    Non-members get NotFoundError, exactly as for a project that does not exist, so that
    nobody learns which project ids exist.
    """
    project = session.get(Project, project_id)
    role = member_role(session, project_id, user) if project is not None else None
    if project is None or role is None:
        raise NotFoundError("Project not found.", project_id=project_id)
    if role not in allowed:
        needed = ", ".join(sorted(r.value for r in allowed))
        raise PermissionDeniedError(f"This needs the role {needed} in the project; ask a project admin.")
    return project


def set_member(session: Session, project: Project, user: User, role: Role) -> None:
    """Add `user` to the project with `role`, or change their role."""
    member = session.get(ProjectMember, (project.id, user.id))
    if member is None:
        session.add(ProjectMember(project_id=project.id, user_id=user.id, role=role.value))
    else:
        member.role = role.value
    session.flush()


def projects_of(session: Session, user: User) -> list[tuple[Project, Role]]:
    """All projects the user is a member of, with their role."""
    rows = session.execute(
        select(Project, ProjectMember.role)
        .join(ProjectMember, ProjectMember.project_id == Project.id)
        .where(ProjectMember.user_id == user.id)
        .order_by(Project.created_at)
    ).all()
    return [(project, Role(role)) for project, role in rows]
