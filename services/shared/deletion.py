"""Deleting a transcript or a project with everything derived from it: nothing may remain.

Removed: the text and turns, processing runs, sentences, quotations, suggestions, review events,
cached embeddings of its sentences and questions, the key entries no remaining text uses (all of
them with a project), and files under the transcript's or project's data folder. On SQLite deleted content is overwritten (secure_delete) and the
write-ahead log is truncated, so the text is not left in free pages of the database file.
"""
from __future__ import annotations

import hashlib
import logging
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from services.shared.config import Settings
from services.shared.errors import ConflictError, TransientError
from services.shared.privacy.placeholders import PLACEHOLDER
from services.shared.privacy.pseudonymiser import lock_project_key
from services.shared.privacy.storage import checkpoint_sqlite, enable_secure_delete
from services.shared.tables import (
    EmbeddingCacheEntry,
    ModelActivation,
    ProcessingRun,
    Project,
    ProjectMember,
    PseudonymKey,
    Quotation,
    ReviewEvent,
    Sentence,
    Suggestion,
    TrainingRun,
    Transcript,
    Turn,
)

log = logging.getLogger(__name__)
# Ids per IN (...) clause: SQLite allows 32,766 parameters, PostgreSQL 65,535.
CHUNK = 500


@dataclass
class DeletionReport:
    """How many rows and files a deletion removed."""

    transcripts: int = 0
    turns: int = 0
    processing_runs: int = 0
    sentences: int = 0
    quotations: int = 0
    suggestions: int = 0
    review_events: int = 0
    embeddings: int = 0
    pseudonym_keys: int = 0
    members: int = 0
    files: int = 0

    def add(self, other: DeletionReport) -> None:
        """Add another report's counts to this one."""
        for key, value in asdict(other).items():
            setattr(self, key, getattr(self, key) + value)


def project_data_dir(settings: Settings, project_id: str) -> Path:
    """Where files derived from a project's texts belong (exports, snapshots); deleted with the project."""
    return settings.data_dir / "projects" / project_id


def transcript_data_dir(settings: Settings, project_id: str, transcript_id: str) -> Path:
    """Where files derived from one transcript belong; deleted with the transcript."""
    return project_data_dir(settings, project_id) / "transcripts" / transcript_id


def delete_transcript(session: Session, transcript: Transcript, settings: Settings) -> DeletionReport:
    """Delete one transcript with everything derived from it; commits, then removes its files."""
    enable_secure_delete(session)
    project_id, transcript_id = transcript.project_id, transcript.id
    lock_project_key(session, project_id)  # no upload may reuse a key entry we are about to prune
    # The status read under the row lock: a worker claims with an UPDATE, so it either claimed before
    # (refused here) or finds the row gone and ends its job.
    session.refresh(transcript, with_for_update=True)
    _refuse_while_processing([transcript])
    report = _delete_transcript_rows(session, transcript_id)
    report.pseudonym_keys = _prune_unused_keys(session, project_id)
    session.commit()
    checkpoint_sqlite(session)
    report.files = _remove_tree(transcript_data_dir(settings, project_id, transcript_id))
    log.info("deleted transcript %s: %s", transcript_id, asdict(report))
    return report


def delete_project(session: Session, project: Project, settings: Settings) -> DeletionReport:
    """Delete a project, its transcripts (as delete_transcript), its key, members and files; commits."""
    lock_project_key(session, project.id)  # the project's row first, then its transcripts': the order of all writers
    transcripts = list(session.scalars(select(Transcript).where(Transcript.project_id == project.id)
                                       .with_for_update().execution_options(populate_existing=True)))
    _refuse_while_processing(transcripts)
    enable_secure_delete(session)
    project_id = project.id
    report = DeletionReport()
    for transcript in transcripts:
        report.add(_delete_transcript_rows(session, transcript.id))
    report.pseudonym_keys = _count(session.execute(delete(PseudonymKey).where(PseudonymKey.project_id == project_id)))
    snapshot_paths = [Path(p) for p in session.scalars(
        select(TrainingRun.snapshot_path).where(TrainingRun.project_id == project_id, TrainingRun.snapshot_path.is_not(None)))]
    session.execute(delete(ModelActivation).where(ModelActivation.project_id == project_id))
    report.members = _count(session.execute(delete(ProjectMember).where(ProjectMember.project_id == project_id)))
    session.expunge(project)
    session.execute(delete(Project).where(Project.id == project_id))
    session.commit()
    checkpoint_sqlite(session)
    report.files = _remove_tree(project_data_dir(settings, project_id))
    for path in snapshot_paths:  # training snapshots hold the project's quotations
        if _inside(path, settings.data_dir):
            report.files += _remove_tree(path)
        elif path.exists():
            log.warning("training snapshot %s of deleted project %s is outside the data folder; remove it by hand",
                        path, project_id)
    log.info("deleted project %s: %s", project_id, asdict(report))
    return report


def _prune_unused_keys(session: Session, project_id: str) -> int:
    """Delete key entries no remaining text of the project uses: their values left with the transcript."""
    used: set[str] = set()
    for row in session.execute(select(Transcript.id, Transcript.text, Transcript.respondent_id, Transcript.case_name,
                                      Transcript.respondent_role, Transcript.filename)
                               .where(Transcript.project_id == project_id)):
        used.update(m.group() for value in row[1:] if value for m in PLACEHOLDER.finditer(value))
    transcript_ids = select(Transcript.id).where(Transcript.project_id == project_id)
    for payload in session.scalars(select(ReviewEvent.payload).where(ReviewEvent.transcript_id.in_(transcript_ids))):
        used.update(m.group() for m in PLACEHOLDER.finditer(str((payload or {}).get("text", ""))))
    unused = [row_id for row_id, placeholder in session.execute(
        select(PseudonymKey.id, PseudonymKey.placeholder).where(PseudonymKey.project_id == project_id))
        if placeholder not in used]
    removed = 0
    for chunk in _chunks(unused):
        removed += _count(session.execute(delete(PseudonymKey).where(PseudonymKey.id.in_(chunk))))
    return removed


def _refuse_while_processing(transcripts: list[Transcript]) -> None:
    busy = [t.id for t in transcripts if t.status == "processing"]
    if busy:
        # A running job would write cached embeddings after we deleted them.
        raise ConflictError("A worker is processing this transcript right now; delete it when its status is "
                            "done or failed (within minutes).", transcript_ids=busy)


def _delete_transcript_rows(session: Session, transcript_id: str) -> DeletionReport:
    report = DeletionReport()
    report.embeddings = _delete_embeddings(session, _embedded_texts_hashes(session, transcript_id))
    quotation_ids = list(session.scalars(select(Quotation.id).where(Quotation.transcript_id == transcript_id)))
    run_ids = list(session.scalars(select(ProcessingRun.id).where(ProcessingRun.transcript_id == transcript_id)))
    for chunk in _chunks(quotation_ids):
        report.suggestions += _count(session.execute(delete(Suggestion).where(Suggestion.quotation_id.in_(chunk))))
    report.review_events = _count(session.execute(delete(ReviewEvent).where(ReviewEvent.transcript_id == transcript_id)))
    report.quotations = _count(session.execute(delete(Quotation).where(Quotation.transcript_id == transcript_id)))
    for chunk in _chunks(run_ids):
        report.sentences += _count(session.execute(delete(Sentence).where(Sentence.run_id.in_(chunk))))
    report.processing_runs = _count(session.execute(delete(ProcessingRun).where(ProcessingRun.transcript_id == transcript_id)))
    report.turns = _count(session.execute(delete(Turn).where(Turn.transcript_id == transcript_id)))
    report.transcripts = _count(session.execute(delete(Transcript).where(Transcript.id == transcript_id)))
    session.expire_all()
    return report


def _embedded_texts_hashes(session: Session, transcript_id: str) -> set[str]:
    """Cache keys of everything a worker may have embedded: sentences, turns (questions), quotations."""
    text_value = session.scalar(select(Transcript.text).where(Transcript.id == transcript_id)) or ""
    run_ids = select(ProcessingRun.id).where(ProcessingRun.transcript_id == transcript_id)
    spans = list(session.execute(select(Turn.start, Turn.end).where(Turn.transcript_id == transcript_id)).all())
    spans += list(session.execute(select(Sentence.start, Sentence.end).where(Sentence.run_id.in_(run_ids))).all())
    spans += list(session.execute(
        select(Quotation.start, Quotation.end).where(Quotation.transcript_id == transcript_id)).all())
    return {hashlib.sha256(text_value[s:e].encode("utf-8")).hexdigest() for s, e in spans if 0 <= s < e}


def _delete_embeddings(session: Session, hashes: set[str]) -> int:
    removed = 0
    for chunk in _chunks(sorted(hashes)):
        removed += _count(session.execute(delete(EmbeddingCacheEntry).where(EmbeddingCacheEntry.text_sha256.in_(chunk))))
    return removed


def _remove_tree(path: Path) -> int:
    """Remove a file or folder; returns how many files it held."""
    if not path.exists() and not path.is_symlink():
        return 0
    if path.is_file() or path.is_symlink():
        path.unlink()
        return 1
    count = sum(1 for item in path.rglob("*") if item.is_file() or item.is_symlink())
    try:
        shutil.rmtree(path)
    except OSError as exc:
        raise TransientError(f"The database rows are deleted but files under {path} could not be removed ({exc}); "
                             "an administrator must remove them.") from exc
    return count


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def _chunks(items: list) -> list[list]:
    return [items[i:i + CHUNK] for i in range(0, len(items), CHUNK)]


def _count(result: object) -> int:
    return max(int(getattr(result, "rowcount", 0) or 0), 0)

