"""Pseudonyms (list, reveal, mark a missed name) and deleting transcripts and projects."""
from __future__ import annotations

import logging
from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import select

from services.api.deps import CurrentUser, SessionDep, SettingsDep
from services.api.routes.transcripts import load_transcript
from services.shared.deletion import DeletionReport, delete_project, delete_transcript
from services.shared.privacy import KINDS, cipher_from_settings, mark_missed_name, reveal
from services.shared.projects import ADMIN_ROLES, READ_ROLES, REVIEW_ROLES, authorise
from services.shared.tables import PseudonymKey

router = APIRouter(tags=["privacy"])
log = logging.getLogger(__name__)
KIND_PATTERN = "^(" + "|".join(KINDS) + ")$"


class PlaceholderOut(BaseModel):
    placeholder: str
    kind: str
    created_at: datetime


class RevealIn(BaseModel):
    placeholder: str = Field(min_length=3, max_length=80, description="For example [PERSOON-3]")


class RevealOut(BaseModel):
    placeholder: str
    kind: str
    value: str


class MissedNameIn(BaseModel):
    start: int = Field(ge=0, description="Offset of the name in the stored transcript text, inclusive.")
    end: int = Field(ge=1, description="Offset, exclusive.")
    kind: str = Field(default="persoon", pattern=KIND_PATTERN)


class MissedNameOut(BaseModel):
    placeholder: str
    kind: str
    occurrences: int = Field(description="How many times the name was replaced in the project.")
    transcript_ids: list[str]


class DeletionOut(BaseModel):
    transcripts: int
    turns: int
    processing_runs: int
    sentences: int
    quotations: int
    suggestions: int
    review_events: int
    embeddings: int
    pseudonym_keys: int
    members: int
    files: int


def deletion_out(report: DeletionReport) -> DeletionOut:
    """The API view of a deletion report."""
    return DeletionOut(**vars(report))


@router.get("/projects/{project_id}/pseudonyms", response_model=list[PlaceholderOut],
            summary="The placeholders of a project, without what they stand for")
def list_placeholders(project_id: str, session: SessionDep, user: CurrentUser) -> list[PlaceholderOut]:
    """Placeholders in the project's texts, oldest first."""
    project = authorise(session, project_id, user, READ_ROLES)
    rows = session.scalars(select(PseudonymKey).where(PseudonymKey.project_id == project.id).order_by(PseudonymKey.id))
    return [PlaceholderOut(placeholder=r.placeholder, kind=r.kind, created_at=r.created_at) for r in rows]


@router.post("/projects/{project_id}/pseudonyms/reveal", response_model=RevealOut,
             summary="What a placeholder stands for (project admin)")
def reveal_placeholder(
    project_id: str, body: RevealIn, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> RevealOut:
    """Decrypt one placeholder of the project; every reveal is logged."""
    project = authorise(session, project_id, user, ADMIN_ROLES)
    entry = reveal(session, project.id, body.placeholder, cipher_from_settings(settings))
    log.info("user %s revealed %s in project %s", user.id, entry.placeholder, project.id)
    return RevealOut(placeholder=entry.placeholder, kind=entry.kind, value=entry.value)


@router.post("/transcripts/{transcript_id}/missed-names", response_model=MissedNameOut,
             summary="Mark a name the pseudonymisation missed; it is replaced everywhere in the project (reviewer)")
def mark_name(
    transcript_id: str, body: MissedNameIn, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> MissedNameOut:
    """Replace text[start:end] and its other occurrences in the project by a placeholder; offsets move along."""
    transcript = load_transcript(session, transcript_id, user, REVIEW_ROLES)
    marked = mark_missed_name(session, transcript, body.start, body.end, body.kind, cipher_from_settings(settings))
    return MissedNameOut(placeholder=marked.placeholder, kind=marked.kind, occurrences=marked.occurrences,
                         transcript_ids=marked.transcript_ids)


@router.delete("/transcripts/{transcript_id}", response_model=DeletionOut,
               summary="Delete a transcript with its quotations, reviews and cached embeddings (project admin)")
def remove_transcript(transcript_id: str, session: SessionDep, settings: SettingsDep, user: CurrentUser) -> DeletionOut:
    """Delete the transcript and everything derived from it; nothing of its text remains."""
    transcript = load_transcript(session, transcript_id, user, ADMIN_ROLES)
    return deletion_out(delete_transcript(session, transcript, settings))


@router.delete("/projects/{project_id}", response_model=DeletionOut,
               summary="Delete a project with all its transcripts and its pseudonym key (project admin)")
def remove_project(project_id: str, session: SessionDep, settings: SettingsDep, user: CurrentUser) -> DeletionOut:
    """Delete the project, its transcripts and everything derived from them."""
    project = authorise(session, project_id, user, ADMIN_ROLES)
    return deletion_out(delete_project(session, project, settings))
