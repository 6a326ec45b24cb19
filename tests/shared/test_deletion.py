"""Deleting a transcript or a project leaves nothing of it in any table, in the database file or on disk."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import MetaData, select

from services.shared.codebook import load_codebook
from services.shared.deletion import delete_project, delete_transcript, project_data_dir, transcript_data_dir
from services.shared.errors import ConflictError
from services.shared.privacy import cipher_from_settings, project_pseudonymiser
from services.shared.privacy.keys import load_key
from services.shared.review import create_quotation, record_decision
from services.shared.tables import Project, TrainingRun, Transcript
from services.shared.uploads import build_transcript, store_transcript
from tests.shared.privacy_support import add_analysis, make_world

# Phrases that occur in one transcript only, so finding them anywhere means something was left.
SECRET_A = "kwartiermakersoverleg zuidflank"
SECRET_B = "dakterrasbewonerscommissie"
TEXT_A = f"""I: Waar overlegt u?
R: In het {SECRET_A} met mevrouw Oudshoorn. Dat loopt stroef.
I: En verder?
R: De wethouder komt nooit. Mevrouw Oudshoorn wel.
"""
TEXT_B = f"""I: En bij u?
R: Wij hebben de {SECRET_B} opgericht. Meneer Bakhuis zit erin.
"""


def _everything(database) -> str:  # noqa: ANN001
    """Every value of every row of every table (including other features' tables), as one string."""
    metadata = MetaData()
    metadata.reflect(bind=database.engine)
    parts = []
    with database.engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(table.select()):
                parts.extend(repr(value) if not isinstance(value, (bytes, memoryview)) else bytes(value).hex()
                             for value in row)
    return "\n".join(parts)


def _files_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())


def _store_with_history(world, text: str, name: str, memo: str) -> str:  # noqa: ANN001
    codebook = load_codebook(world.settings.codebook_path)
    with world.database.transaction() as session:
        project = session.get(Project, world.project_id)
        pseudonymiser = project_pseudonymiser(session, project, world.settings)
        transcript = store_transcript(session, project, build_transcript(text.encode(), name, world.settings,
                                                                         pseudonymiser=pseudonymiser), world.user(session))
        add_analysis(session, transcript)
        start = transcript.turns[-1].start
        quotation, created = create_quotation(session, transcript=transcript, reviewer=world.user(session), start=start,
                                              end=transcript.turns[-1].end, codes=["KP03"], stance="knelpunt",
                                              codebook=codebook)
        record_decision(session, quotation=quotation, transcript=transcript, reviewer=world.user(session),
                        action="comment", payload={"text": memo},
                        based_on_event_id=created.id, codebook=codebook)
        folder = transcript_data_dir(world.settings, world.project_id, transcript.id)
        folder.mkdir(parents=True)
        (folder / "export.txt").write_text(transcript.text, encoding="utf-8")
        return transcript.id


def test_deletion_of_a_transcript_leaves_nothing_of_it(database_url, make_settings) -> None:
    world = make_world(make_settings(database_url=database_url, pseudonymise_recogniser="rules"))
    first, second = _store_with_history(world, TEXT_A, "A.txt", f"over het {SECRET_A}"), _store_with_history(world, TEXT_B, "B.txt", f"over de {SECRET_B}")
    before = _everything(world.database)
    assert SECRET_A in before and first in before and "Oudshoorn" not in before

    with world.database.transaction() as session:
        report = delete_transcript(session, session.get(Transcript, first), world.settings)

    assert report.transcripts == 1 and report.quotations >= 3 and report.review_events == 2
    assert report.embeddings >= 4 and report.files == 1 and report.pseudonym_keys == 1  # Oudshoorn's entry
    after = _everything(world.database)
    assert SECRET_A not in after and first not in after
    assert SECRET_B in after and second in after  # the other transcript is untouched
    assert not transcript_data_dir(world.settings, world.project_id, first).exists()
    assert transcript_data_dir(world.settings, world.project_id, second).exists()
    with world.database.transaction() as session:
        values = {e.value for e in load_key(session, world.project_id, cipher_from_settings(world.settings))}
    assert values == {"Bakhuis"}
    if database_url.startswith("sqlite"):
        database_file = Path(database_url.split("///", 1)[1])
        on_disk = b"".join(p.read_bytes() for p in database_file.parent.glob(database_file.name + "*"))
        assert SECRET_A.encode() not in on_disk and SECRET_B.encode() in on_disk
    world.database.dispose()


def test_deletion_of_a_project_leaves_nothing_of_it(database_url, make_settings) -> None:
    world = make_world(make_settings(database_url=database_url, pseudonymise_recogniser="rules"))
    other = make_world(world.settings, username="owner")  # a second project of the same user stays
    kept = _store_with_history(other, "R: Iets heel anders over de buurtbus.\n", "C.txt", "buurtbus")
    ids = [_store_with_history(world, TEXT_A, "A.txt", f"over het {SECRET_A}"), _store_with_history(world, TEXT_B, "B.txt", f"over de {SECRET_B}")]
    snapshot = world.settings.data_dir / "snapshots" / "run-1"
    snapshot.mkdir(parents=True)
    (snapshot / "part.jsonl").write_text(f'{{"text": "{SECRET_B}"}}\n', encoding="utf-8")
    with world.database.transaction() as session:
        session.add(TrainingRun(project_id=world.project_id, snapshot_path=str(snapshot)))
        (project_data_dir(world.settings, world.project_id) / "export.qdpx").write_bytes(SECRET_B.encode())

    with world.database.transaction() as session:
        report = delete_project(session, session.get(Project, world.project_id), world.settings)

    assert report.transcripts == 2 and report.pseudonym_keys == 2 and report.members == 1 and report.files == 4
    after = _everything(world.database)
    for gone in (world.project_id, *ids, SECRET_A, SECRET_B):
        assert gone not in after
    assert kept in after and "buurtbus" in after
    assert not project_data_dir(world.settings, world.project_id).exists() and not snapshot.exists()
    with world.database.transaction() as session:
        assert session.scalar(select(TrainingRun.snapshot_path)) == str(snapshot)  # the row stays, its project gone
        assert session.scalar(select(TrainingRun.project_id)) is None
    if database_url.startswith("sqlite"):
        database_file = Path(database_url.split("///", 1)[1])
        on_disk = b"".join(p.read_bytes() for p in database_file.parent.glob(database_file.name + "*"))
        assert SECRET_A.encode() not in on_disk and SECRET_B.encode() not in on_disk
    assert SECRET_B.encode() not in _files_bytes(world.settings.data_dir)
    world.database.dispose()


def test_deletion_waits_for_a_running_job(make_settings) -> None:
    world = make_world(make_settings(pseudonymise_recogniser="rules"))
    transcript_id = _store_with_history(world, TEXT_A, "A.txt", f"over het {SECRET_A}")
    with world.database.transaction() as session:
        transcript = session.get(Transcript, transcript_id)
        transcript.status = "processing"
        session.flush()
        with pytest.raises(ConflictError):
            delete_transcript(session, transcript, world.settings)
        with pytest.raises(ConflictError):
            delete_project(session, session.get(Project, world.project_id), world.settings)
