"""Request and response bodies of the HTTP API (kept apart from the tables)."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from services.shared.projects import Role


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in_hours: int


class UserIn(BaseModel):
    username: str = Field(min_length=1, max_length=120)
    password: str = Field(min_length=1, max_length=1024)
    is_admin: bool = False


class UserOut(BaseModel):
    id: int
    username: str
    is_admin: bool


class ProjectIn(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    description: str = Field(default="", max_length=10_000)
    pseudonymise: bool | None = Field(default=None, description="Default: the installation's setting.")
    codebook_yaml: str | None = Field(
        default=None, max_length=2_000_000, description="A project's own codebook (YAML, see codebooks/README.md)."
    )


class ProjectOut(BaseModel):
    id: str
    name: str
    description: str
    role: Role
    pseudonymise: bool
    codebook_key: str
    codebook_version: str
    codebook_sha256: str
    model_version: str | None
    created_at: datetime


class MemberIn(BaseModel):
    username: str
    role: Role


class TranscriptOut(BaseModel):
    id: str
    project_id: str
    filename: str
    source_format: str
    detected_encoding: str
    respondent_id: str | None
    case_name: str | None
    respondent_role: str | None
    status: str
    error_code: str | None
    error_message: str | None
    warnings: list[str]
    characters: int
    turns: int
    job_id: str | None
    created_at: datetime


class TranscriptTextOut(TranscriptOut):
    text: str
    turn_spans: list[dict]


class JobStatusOut(BaseModel):
    transcript_id: str
    status: str = Field(description="queued | processing | done | failed")
    stage: str | None = Field(description="parse | segment | embed | classify | merge | store")
    progress: int = Field(description="0-100")
    attempts: int
    job_id: str | None
    job_status: str | None
    error_code: str | None
    error_message: str | None


class CodeOut(BaseModel):
    id: str
    kind: str
    name: str
    score: float
    number: int | None = None


class QuotationOut(BaseModel):
    id: str
    start: int = Field(description="Character offset into the stored transcript text, inclusive.")
    end: int = Field(description="Character offset, exclusive: text == transcript_text[start:end].")
    text: str
    speaker: str
    turn_index: int
    origin: str
    stance: str | None
    stance_score: float | None
    codes: list[CodeOut]
    model_version: str | None
    data_snapshot: str | None


class CodeSummaryOut(BaseModel):
    id: str
    kind: str
    name: str
    number: int | None = None
    quotations: int
    respondents: int
    per_case: dict[str, int]
