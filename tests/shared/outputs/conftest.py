"""A seeded project for output tests, and the codings collected from it."""
from __future__ import annotations

import pytest

from services.shared.outputs.data import project_codings
from services.shared.tables import Project
from tests.shared.refi.builders import database, seed_project


@pytest.fixture
def seeded(make_settings, sqlite_url):
    """(settings, database, Seeded) for the standard coded project on SQLite."""
    settings = make_settings(database_url=sqlite_url)
    db = database(settings)
    yield settings, db, seed_project(db, settings)
    db.dispose()


@pytest.fixture
def codings(seeded):
    """ProjectCodings of the seeded project, read in a session that stays open for the test."""
    _, db, ids = seeded
    session = db.sessions()
    yield project_codings(session, session.get(Project, ids.project_id))
    session.close()
