"""Importing a .qdpx or .qdc from another QDA program as a new qcoder project.

Codes become the project's codebook (codebook_map.py); every coded selection becomes a
reviewer-origin quotation (review.create_quotation) attributed to an imported user per REFI user,
so a coded project becomes labelled data. Texts go through uploads.build_pseudonymised_transcript,
and positions are mapped onto the stored text (positions.py). An imported project pseudonymises
like any other (by default): texts, attributes, source names and memos get placeholders, and every
coding's offsets move with the replacements, so it covers the same words. Anything that deviates
from the standard is reported in ImportReport.deviations; nothing is silently dropped.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import PurePath

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.shared.codebook import Codebook
from services.shared.config import Settings
from services.shared.errors import InputError, QdaExchangeError
from services.shared.privacy import OffsetMap, ProjectPseudonymiser, project_pseudonymiser, replace_spans
from services.shared.projects import Role, create_project, set_member
from services.shared.refi.codebook_map import codebook_from_refi, split_trailer
from services.shared.refi.export import MODEL_USER_PREFIX
from services.shared.refi.model import QdaProject, QdaSelection, QdaSource
from services.shared.refi.positions import STANDARD, choose_mapping, normalised_text
from services.shared.refi.reader import read_qdc, read_qdpx
from services.shared.review import create_quotation, record_decision
from services.shared.tables import Project, Transcript, User
from services.shared.uploads import TranscriptMetadata, build_pseudonymised_transcript, store_transcript

log = logging.getLogger(__name__)

# Variable (or "name: value" document group) names -> the transcript attribute they fill.
ATTRIBUTE_NAMES = {
    "respondent": "respondent_id", "respondent id": "respondent_id", "respondent_id": "respondent_id",
    "casus": "case_name", "case": "case_name", "rol": "respondent_role", "role": "respondent_role",
    "functie": "respondent_role", "respondent_role": "respondent_role",
}
# Imported people cannot log in: this is not an argon2 hash, so every password check fails.
NO_LOGIN_HASH = "!imported-from-refi-qda"


@dataclass
class ImportReport:
    """What an import created and every deviation from the standard it met."""

    project_id: str
    project_name: str
    codebook_sha256: str
    codes: int
    transcripts: int
    quotations: int
    codings: int
    skipped_codings: int
    pseudonymised: bool = False
    placeholders: int = 0  # replacements made in the texts
    users: list[str] = field(default_factory=list)
    deviations: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """Plain data for JSON."""
        return asdict(self)


def import_qdpx(
    session: Session, data: bytes, *, owner: User, settings: Settings, filename: str = "import.qdpx",
    name: str | None = None, mapping: dict[str, str] | None = None, pseudonymise: bool | None = None,
) -> ImportReport:
    """Create a project from a .qdpx: codebook, transcripts and their codings (flushes; the caller commits).

    `pseudonymise`: None follows QCODER_PSEUDONYMISE_BY_DEFAULT (on); False only for exports that are
    anonymised already, since the texts are then stored as they come.
    """
    qda = read_qdpx(data, settings)
    codebook, code_ids = codebook_from_refi(qda, source=filename, mapping=mapping,
                                            default_name=PurePath(filename).stem)
    pseudonymise = settings.pseudonymise_by_default if pseudonymise is None else pseudonymise
    project = _new_project(session, qda, codebook, owner, filename, name, pseudonymise)
    importer = _Importer(session, qda, project, codebook, code_ids, owner, settings)
    importer.run()
    return importer.report()


def import_qdc(
    session: Session, data: bytes, *, owner: User, settings: Settings, filename: str = "codebook.qdc",
    name: str | None = None, mapping: dict[str, str] | None = None, pseudonymise: bool | None = None,
) -> ImportReport:
    """Create an empty project whose codebook is the .qdc's codes (later uploads pseudonymise as chosen)."""
    qda = read_qdc(data, settings)
    qda.name = name or PurePath(filename).stem
    codebook, _ = codebook_from_refi(qda, source=filename, mapping=mapping, default_name=qda.name)
    pseudonymise = settings.pseudonymise_by_default if pseudonymise is None else pseudonymise
    project = _new_project(session, qda, codebook, owner, filename, name, pseudonymise)
    return ImportReport(project_id=project.id, project_name=project.name, codebook_sha256=codebook.sha256,
                        codes=len(codebook.codes), transcripts=0, quotations=0, codings=0, skipped_codings=0,
                        pseudonymised=project.pseudonymise, deviations=list(qda.deviations))


def _new_project(session: Session, qda: QdaProject, codebook: Codebook, owner: User, filename: str,
                 name: str | None, pseudonymise: bool) -> Project:
    origin = f" ({qda.origin})" if qda.origin else ""
    return create_project(session, name=name or qda.name or PurePath(filename).stem, owner=owner, codebook=codebook,
                          description=f"Geïmporteerd uit {filename}{origin}.", pseudonymise=pseudonymise)


class _Importer:
    def __init__(self, session: Session, qda: QdaProject, project: Project, codebook: Codebook,
                 code_ids: dict[str, str], owner: User, settings: Settings) -> None:
        self.session, self.qda, self.project, self.codebook = session, qda, project, codebook
        self.code_ids, self.owner, self.settings = code_ids, owner, settings
        self.pseudonymiser: ProjectPseudonymiser | None = project_pseudonymiser(session, project, settings)
        self.users: dict[str, User] = {}
        self.transcripts = self.quotations = self.codings = self.skipped = self.placeholders = 0
        self.skipped_model = 0

    def note(self, message: str) -> None:
        if message not in self.qda.deviations:
            self.qda.deviations.append(message)

    def run(self) -> None:
        if not self.qda.sources:
            self.note("the project has no text sources; only its codebook was imported")
        memo_links = self._memo_links()
        for source in self.qda.sources:
            built = self._transcript(source)
            if built is None:
                self.skipped += sum(len(s.codings) for s in source.selections)
                continue
            transcript, offsets = built
            self.transcripts += 1
            mapping = choose_mapping(source.text, source.selections)
            if mapping.scheme != STANDARD:
                self.note(f"source {source.name!r}: positions read as {mapping.scheme} (the selection names match the "
                          f"text only that way; the standard counts code points in the file's text)")
            for selection in source.selections:
                # File positions -> the decoded text -> the stored text (a start inside a replaced name moves
                # to its placeholder's start, an end to its end: the coding keeps covering the same words).
                start, end = offsets.span(mapping.to_text(selection.start), mapping.to_text(selection.end))
                self._selection(transcript, source, selection, start, end, memo_links.get(selection.guid, []))
        if self.skipped_model:
            self.note(f"{self.skipped_model} coding(s) by qcoder model users (unreviewed machine suggestions) were "
                      "not imported: only people's codings become labelled data")

    def report(self) -> ImportReport:
        return ImportReport(
            project_id=self.project.id, project_name=self.project.name, codebook_sha256=self.codebook.sha256,
            codes=len(self.codebook.codes), transcripts=self.transcripts, quotations=self.quotations,
            codings=self.codings, skipped_codings=self.skipped, pseudonymised=self.pseudonymiser is not None,
            placeholders=self.placeholders, users=sorted(u.username for u in self.users.values()),
            deviations=list(self.qda.deviations),
        )

    def _memo_links(self) -> dict[str, list[str]]:
        """Selection GUID -> note GUIDs linked to it (ATLAS.ti links memos to quotations with <Link>)."""
        links: dict[str, list[str]] = {}
        for link in self.qda.links:
            for note, target in ((link.origin, link.target), (link.target, link.origin)):
                if note in self.qda.notes and target:
                    links.setdefault(target, []).append(note)
        return links

    def _attributes(self, source: QdaSource) -> TranscriptMetadata:
        values: dict[str, str] = {}
        for variable, value in source.variables.items():
            attribute = ATTRIBUTE_NAMES.get(self.qda.variables.get(variable, "").strip().casefold())
            if attribute and value:
                values.setdefault(attribute, value)
        cases = [case for case in self.qda.cases if source.guid in case.source_refs]
        for case in cases:
            for variable, value in case.variables.items():
                attribute = ATTRIBUTE_NAMES.get(self.qda.variables.get(variable, "").strip().casefold())
                if attribute and value:
                    values.setdefault(attribute, value)
        if "case_name" not in values and len(cases) == 1 and cases[0].name:
            values["case_name"] = cases[0].name
        for group in self.qda.sets:
            key, colon, value = group.name.partition(":")
            attribute = ATTRIBUTE_NAMES.get(key.strip().casefold()) if colon else None
            if attribute and value.strip() and source.guid in group.member_sources:
                if attribute not in values:
                    self.note("document groups named 'casus: ...', 'rol: ...' or 'respondent: ...' were read as "
                              "transcript attributes")
                values.setdefault(attribute, value.strip())
        return TranscriptMetadata(respondent_id=values.get("respondent_id"), case_name=values.get("case_name"),
                                  respondent_role=values.get("respondent_role"))

    def _transcript(self, source: QdaSource) -> tuple[Transcript, OffsetMap] | None:
        stem = PurePath(source.name).stem or source.guid
        try:
            transcript, pseudonymised = build_pseudonymised_transcript(
                source.text.encode("utf-8"), f"{stem}.txt", self.settings, self._attributes(source),
                pseudonymiser=self.pseudonymiser)
        except InputError as exc:
            self.note(f"source {source.name!r} skipped with its {len(source.selections)} selection(s): {exc.message}")
            return None
        expected, offsets = normalised_text(source.text), OffsetMap([])
        if pseudonymised is not None:
            expected, offsets = replace_spans(expected, pseudonymised.replacements)
            self.placeholders += len(pseudonymised.replacements)
        if transcript.text != expected:
            raise QdaExchangeError(f"Source {source.name!r} changed while it was read, so its codings cannot be "
                                   "placed; report this as a bug.", source=source.name)
        # Source names are often the respondent's name ("Interview Jansen.docx").
        transcript.filename = self._private(source.name)[:512]
        transcript.status = "done"  # not queued: an import brings people's codings, not a model run
        transcript.warnings = [*transcript.warnings, "imported from a REFI-QDA project; not processed by a model "
                               "(POST /api/v1/transcripts/<id>/process to get machine suggestions)"]
        return store_transcript(self.session, self.project, transcript, self.owner), offsets

    def _selection(self, transcript: Transcript, source: QdaSource, selection: QdaSelection, start: int, end: int,
                   linked_notes: list[str]) -> None:
        where = f"source {source.name!r}, selection {selection.start}-{selection.end}"
        if not 0 <= start < end <= len(transcript.text) or not transcript.text[start:end].strip():
            self.skipped += len(selection.codings)
            self.note(f"{where}: outside the text or only white space; its {len(selection.codings)} coding(s) "
                      "were skipped")
            return
        by_user: dict[str | None, list[tuple[str, str | None]]] = {}
        for coding in selection.codings:
            code_id = self.code_ids.get(coding.code_guid)
            if code_id is None:
                self.skipped += 1
                self.note(f"{where}: a coding refers to a code that is not codable or not in the codebook; skipped")
                continue
            user_guid = coding.user_guid or selection.user_guid
            if user_guid is None:
                self.note("some codings name no creating user; they were attributed to the person importing")
            qda_user = self.qda.users.get(user_guid) if user_guid else None
            if qda_user is not None and (qda_user.user_id or "").startswith(MODEL_USER_PREFIX):
                self.skipped_model += 1
                self.skipped += 1
                continue
            codes = by_user.setdefault(user_guid, [])
            if code_id not in [c for c, _ in codes]:
                codes.append((code_id, coding.created or selection.created))
        text, meta = split_trailer(selection.description)
        text = self._private(text)
        stance = meta.get("stance") if meta else None
        memos = [self.qda.notes[guid] for guid in [*selection.note_refs, *linked_notes] if guid in self.qda.notes]
        if not by_user:
            self.note("selections without an importable coding were skipped, with their comments and memos "
                      "(a qcoder quotation needs at least one code)")
            return
        first = True
        for user_guid, codes in by_user.items():
            reviewer = self._user(user_guid)
            quotation, event = create_quotation(
                self.session, transcript=transcript, reviewer=reviewer, start=start, end=end,
                codes=[c for c, _ in codes], stance=stance, codebook=self.codebook)
            moment = _parse_time(min((t for _, t in codes if t), default=None))
            if moment is not None:
                event.created_at = quotation.created_at = moment
            self.quotations += 1
            self.codings += len(codes)
            if first:
                latest = event.id
                if text:
                    latest = self._comment(quotation, transcript, reviewer, text, latest)
                for memo in memos:
                    author = self._user(memo.user_guid) if memo.user_guid in self.qda.users else reviewer
                    latest = self._comment(quotation, transcript, author, self._private(memo.text.strip() or memo.name),
                                           latest)
                first = False

    def _private(self, text: str) -> str:
        """A short text (memo, comment, source name) with the project's placeholders, when it pseudonymises."""
        if self.pseudonymiser is None or not text:
            return text
        return self.pseudonymiser.pseudonymise_value(text)

    def _comment(self, quotation, transcript: Transcript, author: User, text: str, latest: int) -> int:  # noqa: ANN001
        if not text.strip():
            return latest
        event = record_decision(self.session, quotation=quotation, transcript=transcript, reviewer=author,
                                action="comment", payload={"text": text}, based_on_event_id=latest,
                                codebook=self.codebook)
        return event.id

    def _user(self, user_guid: str | None) -> User:
        if user_guid is None or user_guid not in self.qda.users:
            return self.owner
        if user_guid in self.users:
            return self.users[user_guid]
        qda_user = self.qda.users[user_guid]
        username = f"{qda_user.name[:100]} (import {user_guid[:8]})"
        user = self.session.scalar(select(User).where(User.username == username))
        if user is None:
            user = User(username=username, password_hash=NO_LOGIN_HASH, is_admin=False)
            self.session.add(user)
            self.session.flush()
        set_member(self.session, self.project, user, Role.reviewer)
        self.users[user_guid] = user
        return user


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        log.warning("unreadable REFI creationDateTime %r; the import time is used instead", value)
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
