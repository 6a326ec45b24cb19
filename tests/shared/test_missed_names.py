"""A name marked by a reviewer is replaced in every transcript of the project; offsets stay exact."""
from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from services.shared.codebook import load_codebook
from services.shared.errors import ConflictError, InputError
from services.shared.privacy import cipher_from_settings, mark_missed_name, project_pseudonymiser, reveal
from services.shared.review import create_quotation, record_decision
from services.shared.tables import EmbeddingCacheEntry, Project, Quotation, ReviewEvent, Sentence, Transcript, Turn
from services.shared.uploads import build_transcript, store_transcript
from tests.shared.privacy_support import add_analysis, contains_word, make_world

FIRST = """---
respondent: Int A1
interviewer: I
---
I: Met wie werkt u samen?
R: Vooral met Gerritsma van de corporatie. Dat gaat goed. Gerritsma belt elke week.
I: En binnen de gemeente?
R: Intern is het lastig. De afdelingen praten niet met elkaar.
"""
SECOND = "I: Kent u Gerritsma?\nR: Ja, Gerritsma-achtige types ken ik. Gerritsman niet.\n"


def _store(world, text: str, name: str):  # noqa: ANN001, ANN202
    with world.database.transaction() as session:
        project = session.get(Project, world.project_id)
        pseudonymiser = project_pseudonymiser(session, project, world.settings)
        transcript = store_transcript(session, project, build_transcript(text.encode(), name, world.settings,
                                                                         pseudonymiser=pseudonymiser), world.user(session))
        add_analysis(session, transcript)
        return transcript.id


def _snapshot(session, transcript_id: str) -> dict:  # noqa: ANN001
    """Every stored span of a transcript as the text it covers."""
    transcript = session.get(Transcript, transcript_id)
    text = transcript.text
    sentences = session.scalars(select(Sentence).where(Sentence.run_id == transcript.current_run_id).order_by(Sentence.id))
    quotations = session.scalars(select(Quotation).where(Quotation.transcript_id == transcript_id).order_by(Quotation.id))
    events = session.scalars(select(ReviewEvent).where(ReviewEvent.transcript_id == transcript_id).order_by(ReviewEvent.id))
    return {
        "turns": [text[t.start:t.end] for t in transcript.turns],
        "speakers": [t.speaker for t in transcript.turns],
        "sentences": [text[s.start:s.end] for s in sentences],
        "quotations": [text[q.start:q.end] for q in quotations],
        "events": [(e.action, text[e.payload["start"]:e.payload["end"]] if "start" in e.payload else e.payload.get("text"))
                   for e in events],
    }


def _review(world, transcript_id: str) -> None:  # noqa: ANN001
    """A reviewer quotation over the name, a respan and a memo naming the person."""
    codebook = load_codebook(world.settings.codebook_path)
    with world.database.transaction() as session:
        transcript = session.get(Transcript, transcript_id)
        start = transcript.text.index("Gerritsma belt")
        quotation, created = create_quotation(session, transcript=transcript, reviewer=world.user(session), start=start,
                                              end=start + len("Gerritsma belt elke week."), codes=["KP08"],
                                              stance="knelpunt", codebook=codebook)
        respan = record_decision(session, quotation=quotation, transcript=transcript, reviewer=world.user(session),
                                 action="respan", payload={"start": start - len("Dat gaat goed. "), "end": quotation.end},
                                 based_on_event_id=created.id, codebook=codebook)
        record_decision(session, quotation=quotation, transcript=transcript, reviewer=world.user(session),
                        action="comment", payload={"text": "Gerritsma is de contactpersoon"},
                        based_on_event_id=respan.id, codebook=codebook)


def test_missed_names_marked_name_is_replaced_everywhere_with_exact_offsets(database_url, make_settings) -> None:
    # A project that did not pseudonymise on upload: every name is still there to be marked.
    world = make_world(make_settings(database_url=database_url, pseudonymise_recogniser="rules"), pseudonymise=False)
    first, second = _store(world, FIRST, "a.txt"), _store(world, SECOND, "b.txt")
    _review(world, first)
    with world.database.transaction() as session:
        before = {tid: _snapshot(session, tid) for tid in (first, second)}
        old_hashes = {e.text_sha256 for e in session.scalars(select(EmbeddingCacheEntry))}

    with world.database.transaction() as session:
        transcript = session.get(Transcript, first)
        start = transcript.text.index("Gerritsma")
        marked = mark_missed_name(session, transcript, start, start + len("Gerritsma"), "persoon",
                                  cipher_from_settings(world.settings))

    assert marked.placeholder.startswith("[PERSOON-") and sorted(marked.transcript_ids) == sorted([first, second])
    assert marked.occurrences == 4  # twice in each text; "Gerritsman" is another word
    with world.database.transaction() as session:
        for tid in (first, second):
            after = _snapshot(session, tid)
            expected = {key: [_replaced(v, marked.placeholder) for v in values] for key, values in before[tid].items()
                        if key != "events"}
            expected["events"] = [(a, _replaced(v, marked.placeholder)) for a, v in before[tid]["events"]]
            assert after == expected
            assert not contains_word(session.get(Transcript, tid).text, "Gerritsma")
        assert "Gerritsman niet" in session.get(Transcript, second).text
        assert reveal(session, world.project_id, marked.placeholder, cipher_from_settings(world.settings)).value == "Gerritsma"
        remaining = {e.text_sha256 for e in session.scalars(select(EmbeddingCacheEntry))}
        named = {hashlib.sha256(s.encode()).hexdigest() for tid in (first, second)
                 for s in before[tid]["sentences"] + before[tid]["turns"] if contains_word(s, "Gerritsma")}
        assert named and not (named & remaining)  # embeddings of sentences naming him are gone
        assert remaining == old_hashes - named  # the others are kept

    with world.database.transaction() as session:
        session.get(Project, world.project_id).pseudonymise = True
    third = _store(world, "R: Gerritsma kwam ook.\n", "c.txt")  # later uploads know the name now
    with world.database.transaction() as session:
        assert session.get(Transcript, third).text == f"R: {marked.placeholder} kwam ook.\n"


def _replaced(value: str | None, placeholder: str) -> str | None:
    import re

    return None if value is None else re.sub(r"(?<![\w@.])Gerritsma(?![\w@])", placeholder, value)


def test_missed_names_refuses_bad_selections_and_busy_transcripts(make_settings) -> None:
    world = make_world(make_settings(pseudonymise_recogniser="rules"))
    tid = _store(world, "R: Ik sprak mevrouw Oudshoorn. Gerritsma belde.\n", "a.txt")
    cipher = cipher_from_settings(world.settings)
    with world.database.transaction() as session:
        transcript = session.get(Transcript, tid)
        placeholder_at = transcript.text.index("[PERSOON-1]")
        for start, end, kind in [(placeholder_at, placeholder_at + 5, "persoon"), (0, 10_000, "persoon"),
                                 (5, 3, "persoon"), (3, 5, "geheim"), (0, len(transcript.text), "persoon")]:
            with pytest.raises(InputError):
                mark_missed_name(session, transcript, start, end, kind, cipher)
        transcript.status = "processing"
        session.flush()
        start = transcript.text.index("Gerritsma")
        with pytest.raises(ConflictError):
            mark_missed_name(session, transcript, start, start + 9, "persoon", cipher)


def test_missed_names_keeps_turn_speakers_consistent(make_settings) -> None:
    world = make_world(make_settings(pseudonymise_recogniser="rules"), pseudonymise=False)
    text = "Wietske: Hoe gaat het?\nHarm: Goed.\nWietske: Fijn.\nHarm: Ja.\n"
    tid = _store(world, text, "a.txt")
    with world.database.transaction() as session:
        transcript = session.get(Transcript, tid)
        marked = mark_missed_name(session, transcript, 0, 7, "persoon", cipher_from_settings(world.settings))
    with world.database.transaction() as session:
        turns = session.scalars(select(Turn).where(Turn.transcript_id == tid).order_by(Turn.index)).all()
        text_after = session.get(Transcript, tid).text
    assert [t.speaker for t in turns] == [marked.placeholder, "Harm", marked.placeholder, "Harm"]
    assert [text_after[t.start:t.end] for t in turns] == ["Hoe gaat het?", "Goed.", "Fijn.", "Ja."]
