"""Pseudonymising the texts of one project with consistent placeholders and an encrypted key."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.orm import Session

from services.shared.config import Settings
from services.shared.privacy import lists
from services.shared.privacy.keys import KeyCipher, KeyEntry, add_key_entry, cipher_from_settings, load_key
from services.shared.privacy.placeholders import (
    MAX_VALUE_CHARS,
    Entity,
    OffsetMap,
    Replacement,
    normalise_value,
    parse_placeholder,
    placeholder_text,
    replace_spans,
    resolve_overlaps,
)
from services.shared.privacy.recognisers import KnownValuesRecogniser, Recogniser, get_recogniser
from services.shared.tables import Project

log = logging.getLogger(__name__)
_NAME_TOKEN = re.compile(r"[^\W\d_][\w'’-]{2,}")


@dataclass
class PseudonymisedText:
    """A text after pseudonymisation; `replacements` are spans of the text before it."""

    text: str
    replacements: list[Replacement]
    offsets: OffsetMap


class PlaceholderTable:
    """Value -> placeholder for one project: the same value always gets the same placeholder."""

    def __init__(self, entries: list[KeyEntry]) -> None:
        self._by_value: dict[str, KeyEntry] = {}
        self._next: dict[str, int] = {}
        self.new_entries: list[KeyEntry] = []
        for entry in entries:
            self._remember(entry)

    def _remember(self, entry: KeyEntry) -> None:
        self._by_value.setdefault(normalise_value(entry.value), entry)
        parsed = parse_placeholder(entry.placeholder)
        if parsed is not None:
            kind, number = parsed
            self._next[kind] = max(self._next.get(kind, 1), number + 1)

    def entry_for(self, value: str, kind: str) -> KeyEntry:
        """The entry of `value`, made (with the next number of `kind`) when the value is new."""
        key = normalise_value(value)
        entry = self._by_value.get(key)
        if entry is None:
            number = self._next.get(kind, 1)
            entry = KeyEntry(placeholder_text(kind, number), kind, key)
            self._remember(entry)
            self.new_entries.append(entry)
        return entry

    def entries(self) -> list[KeyEntry]:
        """Every entry, old and new."""
        return list(self._by_value.values())


def lock_project_key(session: Session, project_id: str) -> None:
    """Serialise key changes of one project until the transaction ends.

    Two uploads numbering new placeholders at once would both take [PERSOON-7]. A no-op UPDATE
    takes the project's row lock on PostgreSQL and SQLite's write lock, before the key is read.
    """
    session.execute(update(Project).where(Project.id == project_id).values(pseudonymise=Project.pseudonymise))


class TextPseudonymiser:
    """Replaces identifying details in texts, numbering placeholders in one table."""

    def __init__(self, recogniser: Recogniser, table: PlaceholderTable | None = None) -> None:
        self.recogniser = recogniser
        self.table = table if table is not None else PlaceholderTable([])
        self._known: KnownValuesRecogniser | None = None
        self._known_size = -1

    def pseudonymise(self, text: str) -> PseudonymisedText:
        """Replace every recognised detail, and every value the table already holds."""
        entities = self.recogniser.find(text) + self._known_values().find(text)
        if self._prepare_table():  # values added meanwhile (by another upload) are searched for too
            entities += self._known_values().find(text)
        entities = resolve_overlaps(entities, text)
        # A name found once is replaced wherever it occurs, also where the recognisers missed it
        # (a first name opening a sentence, "Femke" after "Femke Jansen").
        found = KnownValuesRecogniser(_propagated_values(text, entities))
        entities = resolve_overlaps(entities + found.find(text), text)
        replacements = []
        for entity in entities:
            value = text[entity.start:entity.end]
            if len(value) > MAX_VALUE_CHARS:
                log.warning("skipped a %d-character %s span: too long to be a name", len(value), entity.kind)
                continue
            entry = self.table.entry_for(value, entity.kind)
            replacements.append(Replacement(entity.start, entity.end, entry.placeholder, entry.kind, value))
        new_text, offsets = replace_spans(text, replacements)
        self._store_new_entries()
        return PseudonymisedText(new_text, replacements, offsets)

    def pseudonymise_value(self, value: str | None) -> str | None:
        """A short value (respondent id, case, role) with the same placeholders as the texts."""
        if value is None or not value.strip():
            return value
        return self.pseudonymise(value).text

    def _known_values(self) -> KnownValuesRecogniser:
        entries = self.table.entries()
        if self._known is None or self._known_size != len(entries):
            self._known = KnownValuesRecogniser((e.value, e.kind) for e in entries)
            self._known_size = len(entries)
        return self._known

    def _prepare_table(self) -> bool:
        """Make the table current before placeholders are handed out; True when it changed."""
        return False

    def _store_new_entries(self) -> None:
        """Keep nothing: a table of this pseudonymiser only lives in memory."""
        self.table.new_entries.clear()


class ProjectPseudonymiser(TextPseudonymiser):
    """Pseudonymises a project's texts; its key is read from and new entries added to the session.

    The slow part (recognising) runs before the project's key is locked; the lock is taken, and
    the key read again, only when the first placeholders are handed out, and held until the
    caller's transaction ends. Callers must not wait for anything else (another request, an upload
    still arriving) between pseudonymising and committing.
    """

    def __init__(self, session: Session, project_id: str, recogniser: Recogniser, cipher: KeyCipher) -> None:
        super().__init__(recogniser, PlaceholderTable(load_key(session, project_id, cipher)))
        self.session = session
        self.project_id = project_id
        self.cipher = cipher
        self._locked = False

    def _prepare_table(self) -> bool:
        if self._locked:
            return False
        lock_project_key(self.session, self.project_id)
        self._locked = True
        before = len(self.table.entries())
        self.table = PlaceholderTable(load_key(self.session, self.project_id, self.cipher))
        return len(self.table.entries()) != before

    def _store_new_entries(self) -> None:
        for entry in self.table.new_entries:
            add_key_entry(self.session, self.project_id, self.cipher, entry)
        self.table.new_entries.clear()


def _propagated_values(text: str, entities: list[Entity]) -> list[tuple[str, str]]:
    """Values worth finding again elsewhere in the text: whole names, and the words of person names."""
    values: list[tuple[str, str]] = []
    for entity in entities:
        value = normalise_value(text[entity.start:entity.end])
        if not any(ch.isupper() or ch.isdigit() or ch == "@" for ch in value):
            continue  # a lower-case word found once is too likely an ordinary word elsewhere
        values.append((value, entity.kind))
        if entity.kind == "persoon" and " " in value:
            values += [(token, "persoon") for token in _NAME_TOKEN.findall(value)
                       if token[0].isupper() and token.casefold() not in lists.FUNCTION_WORDS
                       and token.casefold() not in lists.NOT_NAMES]
    return values


def project_pseudonymiser(session: Session, project: Project, settings: Settings) -> ProjectPseudonymiser | None:
    """The pseudonymiser for uploads to `project`, or None when the project does not pseudonymise."""
    if not project.pseudonymise:
        return None
    return ProjectPseudonymiser(session, project.id, get_recogniser(settings), cipher_from_settings(settings))
