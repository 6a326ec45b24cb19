"""Building coded projects in a real database for export, import and output tests."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from services.shared.codebook import load_codebook
from services.shared.config import Settings
from services.shared.db import Database
from services.shared.projects import Role, create_project, project_codebook, set_member
from services.shared.review import create_quotation, record_decision
from services.shared.tables import ProcessingRun, Project, Quotation, Suggestion, Transcript, User
from services.shared.uploads import TranscriptMetadata, build_transcript, store_transcript

# Accented letters, an emoji (outside the BMP), Windows line endings and tabs: offsets must survive all of them.
TRANSCRIPT_X1 = (
    "I: Hoe verloopt de samenwerking in de regio?\r\n"
    "R: Nou, we zitten met de corporaties aan véél verschillende tafels 😩 en daar wordt hetzelfde besproken.\r\n"
    "I: En intern?\r\n"
    "R:\tDe afdeling wonen en de afdeling zorg weten niet van elkaar waar ze mee bezig zijn. "
    "Eén aanspreekpunt helpt al, dat is echt een succes 👍.\r\n"
)
TRANSCRIPT_Y1 = (
    "I: Is de wethouder betrokken?\n"
    "R: Bestuurlijk commitment is er nauwelijks; de wethouder komt nooit naar het overleg.\n"
    "I: En de financiering?\n"
    "R: De financiering is verkokerd, met aparte potjes voor wonen en zorg. Een gezamenlijk budget loste dat op.\n"
)


@dataclass
class Seeded:
    """Ids of what seed_project created (objects are re-read per session)."""

    project_id: str
    admin_id: int
    reviewer_id: int
    transcript_ids: list[str]


def database(settings: Settings) -> Database:
    """A migrated database for the settings."""
    db = Database(settings)
    db.upgrade()
    return db


def span(text: str, fragment: str) -> tuple[int, int]:
    """[start, end) of a fragment in the stored text."""
    start = text.index(fragment)
    return start, start + len(fragment)


def add_transcript(session: Session, project: Project, settings: Settings, user: User, filename: str, raw: str,
                   respondent: str | None, case: str | None, role: str | None = None) -> Transcript:
    """Upload-like: build from bytes and store."""
    transcript = build_transcript(raw.encode("utf-8"), filename, settings,
                                  TranscriptMetadata(respondent_id=respondent, case_name=case, respondent_role=role))
    transcript.status = "done"
    return store_transcript(session, project, transcript, user)


def reviewer_quotation(session: Session, project: Project, transcript: Transcript, reviewer: User, fragment: str,
                       codes: list[str], stance: str | None) -> Quotation:
    """A reviewer-made (hence confirmed) quotation over `fragment`."""
    start, end = span(transcript.text, fragment)
    quotation, _ = create_quotation(session, transcript=transcript, reviewer=reviewer, start=start, end=end,
                                    codes=codes, stance=stance, codebook=project_codebook(project))
    return quotation


def model_quotation(session: Session, transcript: Transcript, fragment: str, scores: dict[str, float],
                    stance: str, version: str = "test-model-1") -> Quotation:
    """A machine quotation with suggestions, in the transcript's current run."""
    if transcript.current_run_id is None:
        run = ProcessingRun(transcript_id=transcript.id, model_version=version, data_snapshot="sha256:test",
                            codebook_sha256="x", embedder="test", segmenter="rules")
        session.add(run)
        session.flush()
        transcript.current_run_id = run.id
    start, end = span(transcript.text, fragment)
    quotation = Quotation(transcript_id=transcript.id, run_id=transcript.current_run_id, origin="model", start=start,
                          end=end, turn_index=0, speaker="R", stance=stance, stance_score=0.8)
    quotation.suggestions = [Suggestion(code_id=code, code_kind="knelpunt" if code.startswith("KP") else "oplossing",
                                        score=score, model_version=version, data_snapshot="sha256:test")
                             for code, score in scores.items()]
    session.add(quotation)
    session.flush()
    return quotation


def decide(session: Session, project: Project, quotation: Quotation, reviewer: User, action: str,
           payload: dict | None = None) -> None:
    """Record one review decision on the latest state."""
    from sqlalchemy import select

    from services.shared.tables import ReviewEvent

    latest = session.scalar(select(ReviewEvent.id).where(ReviewEvent.quotation_id == quotation.id)
                            .order_by(ReviewEvent.id.desc()).limit(1))
    transcript = session.get(Transcript, quotation.transcript_id)
    record_decision(session, quotation=quotation, transcript=transcript, reviewer=reviewer, action=action,
                    payload=payload or {}, based_on_event_id=latest, codebook=project_codebook(project))


def user(session: Session, username: str) -> User:
    """A user without a usable password (hashing one is slow, and these tests never log in)."""
    row = User(username=username, password_hash="!test-user")
    session.add(row)
    session.flush()
    return row


def seed_project(db: Database, settings: Settings) -> Seeded:
    """Two cases, two transcripts, confirmed codings by two reviewers, a memo, and machine suggestions."""
    with db.transaction() as session:
        admin, reviewer = user(session, "anna"), user(session, "bram")
        project = create_project(session, name="LZW test", owner=admin, codebook=load_codebook(settings.codebook_path),
                                 pseudonymise=False)
        set_member(session, project, reviewer, Role.reviewer)
        x1 = add_transcript(session, project, settings, admin, "int_x1.txt", TRANSCRIPT_X1, "Int X1", "Casus X",
                            "beleidsmedewerker")
        y1 = add_transcript(session, project, settings, admin, "int_y1.txt", TRANSCRIPT_Y1, "Int Y1", "Casus Y")
        reviewer_quotation(session, project, x1, admin, "we zitten met de corporaties aan véél verschillende "
                           "tafels 😩 en daar wordt hetzelfde besproken.", ["KP03"], "knelpunt")
        q2 = reviewer_quotation(session, project, x1, reviewer, "De afdeling wonen en de afdeling zorg weten niet "
                                "van elkaar waar ze mee bezig zijn.", ["KP12"], "knelpunt")
        decide(session, project, q2, admin, "comment", {"text": "Mooi citaat voor §4.2.3 — ‘interne afstemming’."})
        reviewer_quotation(session, project, x1, reviewer, "Eén aanspreekpunt helpt al, dat is echt een succes 👍.",
                           ["KP12", "OPL-EEN-AANSPREEKPUNT"], "succesfactor")
        reviewer_quotation(session, project, y1, admin, "Bestuurlijk commitment is er nauwelijks; de wethouder "
                           "komt nooit naar het overleg.", ["KP14"], "knelpunt")
        reviewer_quotation(session, project, y1, admin, "De financiering is verkokerd, met aparte potjes voor "
                           "wonen en zorg.", ["KP19"], "knelpunt")
        machine = model_quotation(session, y1, "Een gezamenlijk budget loste dat op.", {"KP19": 0.71}, "oplossing")
        confirmed = model_quotation(session, y1, "de wethouder komt nooit naar het overleg", {"KP14": 0.9}, "knelpunt")
        decide(session, project, confirmed, reviewer, "confirm")
        rejected = model_quotation(session, y1, "Is de wethouder betrokken?", {"KP13": 0.4}, "neutraal")
        decide(session, project, rejected, reviewer, "reject")
        assert machine.origin == "model"
        return Seeded(project.id, admin.id, reviewer.id, [x1.id, y1.id])
