"""The relational schema.

Design rules that later features rely on:
- A transcript's `text` is the stored original (after pseudonymisation and line-ending
  normalisation); every span anywhere is a [start, end) character offset into it.
- Machine output (ProcessingRun, Quotation with origin="model", Suggestion) is never
  changed by people; human decisions are appended as ReviewEvent rows.
- Ids of things that leave the system (projects, transcripts, quotations, codes) are
  UUID strings, stable across exports.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def new_id() -> str:
    """Return a new random UUID string."""
    return str(uuid.uuid4())


def utcnow() -> datetime:
    """Return the current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    """Declarative base for every table."""


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(120), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    user: Mapped[User] = relationship()


class CodebookVersion(Base):
    """An immutable codebook as loaded and validated; projects point at one."""

    __tablename__ = "codebooks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    key: Mapped[str] = mapped_column(String(120))
    version: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(255))
    content: Mapped[dict] = mapped_column(JSON)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    codebook_id: Mapped[str] = mapped_column(ForeignKey("codebooks.id"))
    pseudonymise: Mapped[bool] = mapped_column(Boolean, default=True)
    # None: use the installation's active model version.
    model_version: Mapped[str | None] = mapped_column(String(120), nullable=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    codebook: Mapped[CodebookVersion] = relationship()
    members: Mapped[list[ProjectMember]] = relationship(cascade="all, delete-orphan", back_populates="project")


class ProjectMember(Base):
    __tablename__ = "project_members"

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20))  # researcher | reviewer | admin

    project: Mapped[Project] = relationship(back_populates="members")
    user: Mapped[User] = relationship()


class Transcript(Base):
    __tablename__ = "transcripts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(512))
    source_format: Mapped[str] = mapped_column(String(20))
    detected_encoding: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    text_sha256: Mapped[str] = mapped_column(String(64))
    pseudonymised: Mapped[bool] = mapped_column(Boolean, default=False)
    respondent_id: Mapped[str | None] = mapped_column(String(120), nullable=True)
    case_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    respondent_role: Mapped[str | None] = mapped_column(String(255), nullable=True)
    warnings: Mapped[list] = mapped_column(JSON, default=list)
    # queued -> processing -> done | failed
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    error_code: Mapped[str | None] = mapped_column(String(20), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    job_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    current_run_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    # A re-run's chosen model version; kept on the row (not only in the job) so a re-queued job uses it too.
    requested_model_version: Mapped[str | None] = mapped_column(String(120), nullable=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    project: Mapped[Project] = relationship()
    turns: Mapped[list[Turn]] = relationship(
        cascade="all, delete-orphan", order_by="Turn.index", back_populates="transcript"
    )


class Turn(Base):
    """A speaker turn; [start, end) covers the spoken text after the speaker label."""

    __tablename__ = "turns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transcript_id: Mapped[str] = mapped_column(ForeignKey("transcripts.id", ondelete="CASCADE"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    speaker: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))  # interviewer | respondent
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    timestamp: Mapped[str | None] = mapped_column(String(20), nullable=True)

    transcript: Mapped[Transcript] = relationship(back_populates="turns")

    __table_args__ = (UniqueConstraint("transcript_id", "index"),)


class ProcessingRun(Base):
    """One pass of one model version over one transcript: the provenance of its suggestions."""

    __tablename__ = "processing_runs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    transcript_id: Mapped[str] = mapped_column(ForeignKey("transcripts.id", ondelete="CASCADE"), index=True)
    model_version: Mapped[str] = mapped_column(String(120))
    data_snapshot: Mapped[str] = mapped_column(String(80))
    codebook_sha256: Mapped[str] = mapped_column(String(64))
    embedder: Mapped[str] = mapped_column(String(255))
    segmenter: Mapped[str] = mapped_column(String(80))
    job_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    stage_seconds: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Sentence(Base):
    """A sentence of respondent or interviewer speech, as the segmenter of a run found it."""

    __tablename__ = "sentences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("processing_runs.id", ondelete="CASCADE"), index=True)
    turn_index: Mapped[int] = mapped_column(Integer)
    index: Mapped[int] = mapped_column(Integer)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)


class Quotation(Base):
    """A span of a transcript. origin="model": made by a run; origin="reviewer": made by a person."""

    __tablename__ = "quotations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    transcript_id: Mapped[str] = mapped_column(ForeignKey("transcripts.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[str | None] = mapped_column(
        ForeignKey("processing_runs.id", ondelete="CASCADE"), nullable=True, index=True
    )
    origin: Mapped[str] = mapped_column(String(20))
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    turn_index: Mapped[int] = mapped_column(Integer)
    speaker: Mapped[str] = mapped_column(String(255))
    stance: Mapped[str | None] = mapped_column(String(20), nullable=True)
    stance_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Incremented with every review event: a conditional update on it serialises concurrent decisions.
    review_seq: Mapped[int] = mapped_column(Integer, default=0)

    suggestions: Mapped[list[Suggestion]] = relationship(
        cascade="all, delete-orphan", order_by="Suggestion.score.desc()", back_populates="quotation"
    )

    __table_args__ = (Index("ix_quotations_transcript_start", "transcript_id", "start"),)


class Suggestion(Base):
    """A machine-suggested code on a quotation, with its full provenance."""

    __tablename__ = "suggestions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    quotation_id: Mapped[str] = mapped_column(ForeignKey("quotations.id", ondelete="CASCADE"), index=True)
    code_id: Mapped[str] = mapped_column(String(80))
    code_kind: Mapped[str] = mapped_column(String(20))  # knelpunt | oplossing
    score: Mapped[float] = mapped_column(Float)
    model_version: Mapped[str] = mapped_column(String(120))
    data_snapshot: Mapped[str] = mapped_column(String(80))

    quotation: Mapped[Quotation] = relationship(back_populates="suggestions")


class ReviewEvent(Base):
    """Append-only log of human decisions; the current review state is derived from it."""

    __tablename__ = "review_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transcript_id: Mapped[str] = mapped_column(ForeignKey("transcripts.id", ondelete="CASCADE"), index=True)
    quotation_id: Mapped[str] = mapped_column(ForeignKey("quotations.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    action: Mapped[str] = mapped_column(String(30))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    # The event the reviewer saw as latest; a mismatch is a conflicting concurrent edit.
    based_on_event_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class EmbeddingCacheEntry(Base):
    """A cached sentence embedding keyed by (model id, sha256 of the text)."""

    __tablename__ = "embedding_cache"

    model_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    text_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class PseudonymKey(Base):
    """What a placeholder stands for, encrypted; only an admin may reveal it."""

    __tablename__ = "pseudonym_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    placeholder: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(40))
    encrypted_value: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (UniqueConstraint("project_id", "placeholder"),)


class ModelActivation(Base):
    """Append-only log of which model version is active (for a project, or installation-wide)."""

    __tablename__ = "model_activations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[str | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), nullable=True, index=True
    )
    model_version: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(20))  # promote | rollback
    activated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TrainingRun(Base):
    """A retraining request: the snapshot it trains on, the version it produced, the comparison."""

    __tablename__ = "training_runs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), nullable=True, index=True
    )
    status: Mapped[str] = mapped_column(String(20), default="queued")  # queued | running | done | failed
    snapshot_hash: Mapped[str | None] = mapped_column(String(80), nullable=True)
    snapshot_path: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    base_version: Mapped[str | None] = mapped_column(String(120), nullable=True)
    new_version: Mapped[str | None] = mapped_column(String(120), nullable=True)
    comparison: Mapped[dict] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    job_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
