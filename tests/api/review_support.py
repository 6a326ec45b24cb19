"""The seeded review project the review API tests share: a transcript stored through the real ingest,
machine output for it as a run would store it, two reviewers, a researcher and an outsider."""
from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.shared.codebook import Codebook
from services.shared.db import Database
from services.shared.projects import project_codebook
from services.shared.tables import ProcessingRun, Project, Quotation, Sentence, Suggestion
from services.shared.uploads import TranscriptMetadata, build_transcript, store_transcript
from tests.api.helpers import login, new_project, prepare_database

INTERVIEW = """---
respondent: Int P1
casus: Gemeente P
rol: beleidsmedewerker wonen
---
I: Hoe verloopt de samenwerking rond langer zelfstandig wonen?
R: We zitten aan heel veel verschillende tafels. Daar wordt vaak hetzelfde besproken. Dat kost veel tijd.
I: En binnen de gemeente?
R: De afdeling wonen en de afdeling zorg weten niet van elkaar wat ze doen. We hebben nu één aanspreekpunt. \
De wethouder komt nooit naar het overleg.
I: Dank u wel.
"""

# One dict of machine scores per respondent sentence, in text order (empty: no quotation).
SCORES = [{"KP03": 0.91}, {"KP03": 0.62}, {}, {"KP12": 0.55}, {"OPL-EEN-AANSPREEKPUNT": 0.81}, {"KP14": 0.34, "KP04": 0.21}]
MODEL_VERSION = "test-review-1"
SNAPSHOT = "sha256:" + "ab" * 32


def respondent_sentences(transcript) -> list[tuple[int, int, int, str]]:  # noqa: ANN001
    """(start, end, turn index, speaker) of each sentence of the respondent's turns."""
    found = []
    for turn in transcript.turns:
        if turn.role != "respondent":
            continue
        for match in re.finditer(r"[^.!?]+[.!?]", transcript.text[turn.start:turn.end]):
            piece = match.group(0)
            start = turn.start + match.start() + (len(piece) - len(piece.lstrip()))
            found.append((start, turn.start + match.end(), turn.index, turn.speaker))
    return found


def seed_processed(settings, project_id: str, *, respondent: str = "Int P1", case: str = "Gemeente P",
                   scores: list[dict[str, float]] = SCORES, status: str = "done") -> str:  # noqa: ANN001
    """Store a transcript through the real ingest, plus machine output for it as a run would store it."""
    database = Database(settings)
    with database.transaction() as session:
        project = session.get(Project, project_id)
        codebook: Codebook = project_codebook(project)
        metadata = TranscriptMetadata(respondent_id=respondent, case_name=case)
        transcript = store_transcript(
            session, project, build_transcript(INTERVIEW.encode("utf-8"), f"{respondent}.txt", settings, metadata), None
        )
        transcript.status = status
        if status == "done":
            run = ProcessingRun(transcript_id=transcript.id, model_version=MODEL_VERSION, data_snapshot=SNAPSHOT,
                                codebook_sha256=codebook.sha256, embedder="test", segmenter="rules")
            session.add(run)
            session.flush()
            transcript.current_run_id = run.id
            for index, ((start, end, turn_index, speaker), codes) in enumerate(zip(respondent_sentences(transcript), scores)):
                session.add(Sentence(run_id=run.id, turn_index=turn_index, index=index, start=start, end=end))
                if not codes:
                    continue
                quotation = Quotation(transcript_id=transcript.id, run_id=run.id, origin="model", start=start, end=end,
                                      turn_index=turn_index, speaker=speaker, stance="knelpunt", stance_score=0.7)
                quotation.suggestions = [
                    Suggestion(code_id=c, code_kind=codebook.code(c).kind, score=s, model_version=MODEL_VERSION,
                               data_snapshot=SNAPSHOT)
                    for c, s in codes.items()
                ]
                session.add(quotation)
        transcript_id = transcript.id
    database.dispose()
    return transcript_id


@pytest.fixture
def review_api(database_url, redis_url, make_settings):  # noqa: ANN001, ANN201
    """An app with an admin, two reviewers, a researcher and an outsider, and one processed transcript."""
    settings = make_settings(database_url=database_url, redis_url=redis_url)
    prepare_database(settings, ("admin", True), ("rita", False), ("rob", False), ("rosa", False), ("otto", False))
    with TestClient(create_app(settings)) as client:
        admin = login(client, "admin")
        project = new_project(client, admin)
        for name, role in (("rita", "reviewer"), ("rob", "reviewer"), ("rosa", "researcher")):
            response = client.put(f"/api/v1/projects/{project['id']}/members", json={"username": name, "role": role},
                                  headers=admin)
            assert response.status_code == 204, response.text
        transcript_id = seed_processed(settings, project["id"])
        users = {name: login(client, name) for name in ("rita", "rob", "rosa", "otto")}
        yield client, settings, project, transcript_id, users


def document(client: TestClient, transcript_id: str, headers: dict, reviewer: str = "me") -> dict:
    """The document view of a transcript in one reviewer view."""
    response = client.get(f"/api/v1/transcripts/{transcript_id}/review?reviewer={reviewer}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def decide(client: TestClient, quotation: dict, headers: dict, action: str, payload: dict | None = None,
           based_on: int | None | str = "current"):  # noqa: ANN201
    """Post a decision based on the quotation's last event (or on `based_on`)."""
    based = quotation["last_event_id"] if based_on == "current" else based_on
    return client.post(f"/api/v1/quotations/{quotation['id']}/decisions",
                       json={"action": action, "payload": payload or {}, "based_on_event_id": based}, headers=headers)
