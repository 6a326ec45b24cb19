"""Turning an uploaded file into a stored transcript with its speaker turns."""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from services.shared.config import Settings
from services.shared.errors import FileTooLargeError
from services.shared.ingest import parse_turns, read_transcript_bytes
from services.shared.tables import Project, Transcript, Turn, User

if TYPE_CHECKING:
    from services.shared.privacy import ProjectPseudonymiser, PseudonymisedText

log = logging.getLogger(__name__)


@dataclass
class TranscriptMetadata:
    """Metadata given with an upload; a value here wins over the file's front matter."""

    respondent_id: str | None = None
    case_name: str | None = None
    respondent_role: str | None = None
    extra_warnings: list[str] = field(default_factory=list)


def build_transcript(
    data: bytes,
    filename: str,
    settings: Settings,
    metadata: TranscriptMetadata | None = None,
    *,
    pseudonymiser: ProjectPseudonymiser | None = None,
) -> Transcript:
    """Decode, parse and validate an upload into an unsaved Transcript with its turns.

    With a `pseudonymiser` (services.shared.privacy.project_pseudonymiser) names, places, dates,
    phone numbers, e-mail addresses and organisations are replaced by placeholders first, and new
    key entries are added to its session. Raises an InputError subclass for anything unusable,
    before anything is stored.
    """
    return build_pseudonymised_transcript(data, filename, settings, metadata, pseudonymiser=pseudonymiser)[0]


def build_pseudonymised_transcript(
    data: bytes,
    filename: str,
    settings: Settings,
    metadata: TranscriptMetadata | None = None,
    *,
    pseudonymiser: ProjectPseudonymiser | None = None,
) -> tuple[Transcript, PseudonymisedText | None]:
    """As build_transcript, also returning what pseudonymisation replaced (None without a pseudonymiser).

    Its `offsets` map positions in the decoded text to positions in the stored text, for callers
    that bring their own offsets (a REFI-QDA import's codings).
    """
    pseudonymised = None
    metadata = metadata or TranscriptMetadata()
    decoded = read_transcript_bytes(data, filename, settings)
    # Offsets are computed on exactly the text we store, so pseudonymisation runs before parse_turns.
    text = decoded.text
    if len(text) > settings.max_transcript_chars:
        raise FileTooLargeError(
            f"The transcript has {len(text):,} characters; at most {settings.max_transcript_chars:,} are accepted "
            "(a two-hour interview has about 100,000). Split it into several files and upload them separately.",
            characters=len(text), limit_characters=settings.max_transcript_chars,
        )
    if pseudonymiser is not None:
        pseudonymised = pseudonymiser.pseudonymise(text)
        text = pseudonymised.text
        metadata = TranscriptMetadata(
            respondent_id=pseudonymiser.pseudonymise_value(metadata.respondent_id),
            case_name=pseudonymiser.pseudonymise_value(metadata.case_name),
            respondent_role=pseudonymiser.pseudonymise_value(metadata.respondent_role),
            extra_warnings=metadata.extra_warnings,
        )
    parsed = parse_turns(text)
    front = parsed.metadata
    transcript = Transcript(
        filename=filename,
        source_format=decoded.source_format,
        detected_encoding=decoded.encoding,
        text=text,
        text_sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        pseudonymised=pseudonymiser is not None,
        respondent_id=metadata.respondent_id or front.get("respondent_id"),
        case_name=metadata.case_name or front.get("case"),
        respondent_role=metadata.respondent_role or front.get("respondent_role"),
        warnings=[*decoded.warnings, *parsed.warnings, *metadata.extra_warnings],
        status="queued",
    )
    transcript.turns = [
        Turn(index=t.index, speaker=t.speaker, role=t.role, start=t.start, end=t.end, timestamp=t.timestamp)
        for t in parsed.turns
    ]
    return transcript, pseudonymised


def store_transcript(session: Session, project: Project, transcript: Transcript, user: User | None) -> Transcript:
    """Add a built transcript to a project (flushes; the caller commits)."""
    if project.pseudonymise and not transcript.pseudonymised:
        log.warning("transcript %r is stored without pseudonymisation although project %s asks for it: "
                    "build_transcript was called without the project's pseudonymiser", transcript.filename, project.id)
    transcript.project_id = project.id
    transcript.created_by = user.id if user else None
    session.add(transcript)
    session.flush()
    return transcript
