"""Export, import, export again: the same codings at the same offsets, whatever the characters."""
from __future__ import annotations

import re

from services.shared.refi import export_qdpx, import_qdpx
from services.shared.refi.codebook_map import split_trailer
from services.shared.refi.reader import read_qdpx
from services.shared.tables import Project, Transcript, User
from tests.shared.refi.builders import database, seed_project


def codings(data: bytes, settings) -> set[tuple]:  # noqa: ANN001
    """Every coding as (source, start, end, text, code id, stance, person) - comparable across projects."""
    qda = read_qdpx(data, settings)
    code_ids = {c.guid: split_trailer(c.description)[1]["id"] for c in qda.codes if c.codable}
    found = set()
    for source in qda.sources:
        for selection in source.selections:
            stance = (split_trailer(selection.description)[1] or {}).get("stance")
            for coding in selection.codings:
                person = re.sub(r" \(import [0-9a-f]{8}\)$", "", qda.users[coding.user_guid].name)
                found.add((source.name, selection.start, selection.end, source.text[selection.start:selection.end],
                           code_ids[coding.code_guid], stance, person, coding.created))
    return found


def test_roundtrip_same_codings_at_same_offsets(database_url, make_settings):
    settings = make_settings(database_url=database_url)
    db = database(settings)
    ids = seed_project(db, settings)
    with db.transaction() as session:
        first = export_qdpx(session, session.get(Project, ids.project_id))
        report = import_qdpx(session, first, owner=session.get(User, ids.admin_id), settings=settings,
                             filename="lzw.qdpx")
        second = export_qdpx(session, session.get(Project, report.project_id))
        imported_texts = [t.text for t in session.query(Transcript).filter_by(project_id=report.project_id)]
        original_texts = [t.text for t in session.query(Transcript).filter_by(project_id=ids.project_id)]
    db.dispose()
    before, after = codings(first, settings), codings(second, settings)
    assert len(before) == 7 and after == before
    assert sorted(imported_texts) == sorted(original_texts)
    texts = "".join(t[3] for t in before)
    assert "😩" in texts and "👍" in texts and "é" in texts
    assert report.transcripts == 2 and report.quotations == 6 and report.deviations == []


def test_roundtrip_keeps_windows_line_endings_and_tabs_offsets(seeded):
    settings, db, ids = seeded
    with db.transaction() as session:
        first = export_qdpx(session, session.get(Project, ids.project_id))
        report = import_qdpx(session, first, owner=session.get(User, ids.admin_id), settings=settings)
        second = export_qdpx(session, session.get(Project, report.project_id))
        original = session.get(Project, ids.project_id).codebook.sha256
    assert report.codebook_sha256 == original  # the codebook comes back exactly
    x1 = next(s for s in read_qdpx(second, settings).sources if s.name == "int_x1.txt")
    assert "\t" in x1.text and "\r" not in x1.text  # stored with \n, tabs kept
    tab_quote = next(s for s in x1.selections if x1.text[s.start:s.end].startswith("De afdeling"))
    assert x1.text[tab_quote.start - 1] == "\t"


def test_roundtrip_imported_people_cannot_log_in(seeded):
    from services.shared.accounts import authenticate
    from services.shared.errors import AuthenticationError

    settings, db, ids = seeded
    with db.transaction() as session:
        data = export_qdpx(session, session.get(Project, ids.project_id))
        report = import_qdpx(session, data, owner=session.get(User, ids.admin_id), settings=settings)
        assert sorted(u.split(" (import ")[0] for u in report.users) == ["anna", "bram"]
        for username in report.users:
            try:
                authenticate(session, username, "anything at all")
            except AuthenticationError:
                continue
            raise AssertionError(f"imported user {username} could log in")
