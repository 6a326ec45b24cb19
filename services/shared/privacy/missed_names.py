"""A name the recognisers missed, marked by a reviewer, replaced everywhere in the project.

Every stored offset into a changed text (turns, sentences, quotations, review events) is moved
with the text, so that text[start:end] still is the same passage afterwards.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from services.shared.errors import ConflictError, InputError
from services.shared.privacy.keys import KeyCipher, add_key_entry, load_key
from services.shared.privacy.placeholders import (
    KINDS,
    MAX_VALUE_CHARS,
    OffsetMap,
    Replacement,
    normalise_value,
    placeholder_spans,
    replace_spans,
    whole_word_occurrences,
)
from services.shared.privacy.pseudonymiser import PlaceholderTable, lock_project_key
from services.shared.privacy.storage import enable_secure_delete
from services.shared.tables import (
    EmbeddingCacheEntry,
    ProcessingRun,
    Quotation,
    ReviewEvent,
    Sentence,
    Transcript,
)

log = logging.getLogger(__name__)
SPAN_ACTIONS = ("create", "respan")  # review actions whose payload holds start/end offsets


@dataclass
class MarkedName:
    """What marking one missed name changed."""

    placeholder: str
    kind: str
    occurrences: int
    transcript_ids: list[str]


def mark_missed_name(
    session: Session, transcript: Transcript, start: int, end: int, kind: str, cipher: KeyCipher
) -> MarkedName:
    """Replace text[start:end] of `transcript`, and every whole-word occurrence in its project, by a placeholder."""
    value, start, end = _checked_value(transcript.text, start, end, kind)
    project_id = transcript.project_id
    enable_secure_delete(session)  # the old texts hold the name; SQLite must not leave them in free pages
    lock_project_key(session, project_id)
    table = PlaceholderTable(load_key(session, project_id, cipher))
    entry = table.entry_for(value, kind)
    for new in table.new_entries:
        add_key_entry(session, project_id, cipher, new)
    table.new_entries.clear()

    changes: list[tuple[Transcript, list[tuple[int, int]]]] = []
    # Row locks, read fresh: a worker claims a transcript with an UPDATE, so it either claimed before
    # (we see "processing" and refuse) or waits for us and then reads the replaced text.
    texts = (select(Transcript).where(Transcript.project_id == project_id).order_by(Transcript.id)
             .with_for_update().execution_options(populate_existing=True))
    for other in session.scalars(texts):
        spans = _occurrences(other.text, value)
        if other.id == transcript.id and (start, end) not in spans:
            spans = sorted([*spans, (start, end)])
        if spans:
            changes.append((other, _without_overlaps(spans)))
    busy = [t.id for t, _ in changes if t.status == "processing"]
    if busy:
        raise ConflictError("A transcript with this name is being processed right now; mark the name again when "
                            "its processing has finished.", transcript_ids=busy)
    for other, spans in changes:
        replacements = [Replacement(s, e, entry.placeholder, entry.kind, value) for s, e in spans]
        _rewrite_transcript(session, other, replacements, value, entry.placeholder)
    total = sum(len(spans) for _, spans in changes)
    log.info("replaced %d occurrence(s) of a marked %s by %s in project %s", total, entry.kind, entry.placeholder,
             project_id)
    return MarkedName(entry.placeholder, entry.kind, total, [t.id for t, _ in changes])


def _checked_value(text: str, start: int, end: int, kind: str) -> tuple[str, int, int]:
    if kind not in KINDS:
        raise InputError(f"Choose one of the kinds {', '.join(KINDS)}.", kind=kind)
    if not (0 <= start < end <= len(text)):
        raise InputError(f"The span must satisfy 0 <= start < end <= {len(text)}.", start=start, end=end)
    raw = text[start:end]
    start += len(raw) - len(raw.lstrip())
    end -= len(raw) - len(raw.rstrip())
    value = text[start:end]
    if not value or "\n" in value or len(value) > MAX_VALUE_CHARS:
        raise InputError(f"Select only the name: one line of at most {MAX_VALUE_CHARS} characters.")
    if any(start < p_end and p_start < end for p_start, p_end in placeholder_spans(text)):
        raise InputError("The selection overlaps a placeholder that is already there; select only the name.")
    return normalise_value(value), start, end


def _occurrences(text: str, value: str) -> list[tuple[int, int]]:
    protected = placeholder_spans(text)
    return [(s, e) for s, e in whole_word_occurrences(text, value)
            if not any(s < p_end and p_start < e for p_start, p_end in protected)]


def _without_overlaps(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    kept: list[tuple[int, int]] = []
    for span in sorted(spans):
        if kept and span[0] < kept[-1][1]:
            kept[-1] = (kept[-1][0], max(kept[-1][1], span[1]))
        else:
            kept.append(span)
    return kept


def _rewrite_transcript(
    session: Session, transcript: Transcript, replacements: list[Replacement], value: str, placeholder: str
) -> None:
    """Replace the spans and move every stored offset into this transcript's text with them."""
    old_text = transcript.text
    new_text, offsets = replace_spans(old_text, replacements)
    _forget_embeddings(session, transcript, old_text, value)
    transcript.text = new_text
    transcript.text_sha256 = hashlib.sha256(new_text.encode("utf-8")).hexdigest()
    for field in ("respondent_id", "case_name", "respondent_role", "filename"):
        current = getattr(transcript, field)
        if current:
            setattr(transcript, field, _replace_words(current, value, placeholder))
    transcript.warnings = [_replace_words(w, value, placeholder) for w in (transcript.warnings or [])]
    for turn in transcript.turns:
        turn.start, turn.end = offsets.span(turn.start, turn.end)
        turn.speaker = _replace_words(turn.speaker, value, placeholder)
    run_ids = select(ProcessingRun.id).where(ProcessingRun.transcript_id == transcript.id)
    for sentence in session.scalars(select(Sentence).where(Sentence.run_id.in_(run_ids))):
        sentence.start, sentence.end = offsets.span(sentence.start, sentence.end)
    for quotation in session.scalars(select(Quotation).where(Quotation.transcript_id == transcript.id)):
        quotation.start, quotation.end = offsets.span(quotation.start, quotation.end)
        quotation.speaker = _replace_words(quotation.speaker, value, placeholder)
    for event in session.scalars(select(ReviewEvent).where(ReviewEvent.transcript_id == transcript.id)):
        payload = _moved_payload(event.action, dict(event.payload or {}), offsets, value, placeholder)
        if payload != event.payload:
            event.payload = payload  # a new dict, so the JSON column is written
    session.flush()


def _moved_payload(action: str, payload: dict, offsets: OffsetMap, value: str, placeholder: str) -> dict:
    if action in SPAN_ACTIONS and isinstance(payload.get("start"), int) and isinstance(payload.get("end"), int):
        payload["start"], payload["end"] = offsets.span(payload["start"], payload["end"])
    if isinstance(payload.get("text"), str):  # a reviewer's memo may name the person too
        payload["text"] = _replace_words(payload["text"], value, placeholder)
    return payload


def _replace_words(text: str, value: str, placeholder: str) -> str:
    spans = _occurrences(text, value)
    if not spans:
        return text
    new_text, _ = replace_spans(text, [Replacement(s, e, placeholder, "", value) for s, e in spans])
    return new_text


def _forget_embeddings(session: Session, transcript: Transcript, old_text: str, value: str) -> None:
    """Cached embeddings of sentences and questions that contained the name are deleted with it."""
    spans = [(t.start, t.end) for t in transcript.turns]
    run_ids = select(ProcessingRun.id).where(ProcessingRun.transcript_id == transcript.id)
    spans += list(session.execute(select(Sentence.start, Sentence.end).where(Sentence.run_id.in_(run_ids))).all())
    spans += list(session.execute(
        select(Quotation.start, Quotation.end).where(Quotation.transcript_id == transcript.id)).all())
    hashes = {hashlib.sha256(old_text[s:e].encode("utf-8")).hexdigest() for s, e in spans
              if _occurrences(old_text[s:e], value)}
    if hashes:
        session.execute(delete(EmbeddingCacheEntry).where(EmbeddingCacheEntry.text_sha256.in_(sorted(hashes))))
