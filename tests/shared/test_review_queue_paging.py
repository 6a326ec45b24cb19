"""The review queue reads only what a page needs: across many quotations, with reviewed ones in the
way, a page is exactly the start of the whole queue, and the whole queue is what folding every
quotation of the project (project_items) gives."""
from __future__ import annotations

import random

import pytest

from services.shared.codebook import load_codebook
from services.shared.db import Database
from services.shared.projects import create_project
from services.shared.review import record_decision
from services.shared.review_queue import QUEUE_FIRST_CHUNK, project_items, review_queue
from services.shared.review_views import review_codebook
from services.shared.tables import ProcessingRun, Quotation, Suggestion, Transcript, User
from tests.api.helpers import prepare_database

PER_TRANSCRIPT = 90  # three transcripts: more quotations than one read of the queue takes


def _seed(settings) -> tuple[str, int]:  # noqa: ANN001
    """A project of three processed transcripts (and one still queued), random scores, many decisions."""
    prepare_database(settings)
    database = Database(settings)
    rng = random.Random(7)
    with database.transaction() as session:
        owner = User(username="owner", password_hash="!", is_admin=False)
        session.add(owner)
        session.flush()
        project = create_project(session, name="p", owner=owner, codebook=load_codebook(settings.codebook_path),
                                 pseudonymise=False)
        codebook = review_codebook(project)
        quotations = []
        for number, status in enumerate(("done", "done", "queued", "done")):
            transcript = Transcript(project_id=project.id, filename=f"{number}.txt", source_format="txt",
                                    detected_encoding="utf-8", text="Zin. " * 2000, text_sha256="-",
                                    pseudonymised=False, warnings=[], status=status)
            session.add(transcript)
            session.flush()
            run = ProcessingRun(transcript_id=transcript.id, model_version="m", data_snapshot="d",
                                codebook_sha256="c", embedder="e", segmenter="rules")
            session.add(run)
            session.flush()
            transcript.current_run_id = run.id
            for index in rng.sample(range(PER_TRANSCRIPT * 2), PER_TRANSCRIPT):  # stored out of text order
                quotation = Quotation(transcript_id=transcript.id, run_id=run.id, origin="model", start=index * 5,
                                      end=index * 5 + 4, turn_index=0, speaker="R", stance="knelpunt",
                                      stance_score=0.5)
                quotation.suggestions = [Suggestion(code_id=f"KP{rng.randint(1, 20):02d}", code_kind="knelpunt",
                                                    score=round(rng.random(), 2), model_version="m", data_snapshot="d")]
                session.add(quotation)
                quotations.append((transcript, quotation))
        session.flush()
        # The owner decides on two in three of the first half: a page must read past them.
        for transcript, quotation in quotations[: len(quotations) // 2]:
            if rng.random() < 0.66 and transcript.status == "done":
                record_decision(session, quotation=quotation, transcript=transcript, reviewer=owner,
                                action=rng.choice(["confirm", "reject", "comment"]),
                                payload={"text": "memo"}, based_on_event_id=None, codebook=codebook)
        ids = project.id, owner.id
    database.dispose()
    return ids


def _reference(session, project_id: str, reviewer_id: int | None, mode: str, include_reviewed: bool) -> list[str]:  # noqa: ANN001
    """The queue as folding every quotation gives it (the definition the paged reads must match)."""
    entries = [item for group in project_items(session, project_id, reviewer_id)
               if group.transcript.status == "done" for item in group.items
               if include_reviewed or not item.reviewed]
    if mode == "uncertainty":
        entries.sort(key=lambda item: (item.confidence is None, item.confidence or 0.0))
    return [item.quotation.id for item in entries]


@pytest.mark.parametrize("mode", ["document", "uncertainty"])
def test_review_queue_pages_are_the_start_of_the_whole_queue(database_url, make_settings, mode) -> None:
    settings = make_settings(database_url=database_url)
    project_id, owner_id = _seed(settings)
    database = Database(settings)
    with database.transaction() as session:
        for reviewer_id in (owner_id, None):
            for include_reviewed in (False, True):
                whole = [row["quotation_id"] for row in review_queue(
                    session, project_id, reviewer_id, mode, include_reviewed=include_reviewed)]
                reference = _reference(session, project_id, reviewer_id, mode, include_reviewed)
                assert whole == reference  # equal scores in document order, as the reference's stable sort
                for limit in (1, 7, QUEUE_FIRST_CHUNK + 3):
                    page = review_queue(session, project_id, reviewer_id, mode, include_reviewed=include_reviewed,
                                        limit=limit)
                    assert [row["quotation_id"] for row in page] == whole[:limit]
        mine = review_queue(session, project_id, owner_id, mode)
        everyone = review_queue(session, project_id, owner_id, mode, include_reviewed=True)
    database.dispose()
    assert 0 < len(mine) < len(everyone) == 3 * PER_TRANSCRIPT
    if mode == "uncertainty":
        scores = [row["confidence"] for row in mine]
        assert scores == sorted(scores)
