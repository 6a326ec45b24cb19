"""Fixtures for REFI-QDA tests: a seeded project in a real database, and the published schemas."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from services.shared.refi.schemas import SCHEMA_FILES, schema_dir
from services.shared.errors import ModelUnavailableError
from tests.shared.refi.builders import database, seed_project


@pytest.fixture
def seeded(make_settings, sqlite_url):
    """(settings, database, Seeded) for the standard coded project on SQLite."""
    settings = make_settings(database_url=sqlite_url)
    db = database(settings)
    yield settings, db, seed_project(db, settings)
    db.dispose()


@pytest.fixture(scope="session")
def refi_schema_dir() -> Path:
    """The published REFI-QDA schemas ($QCODER_REFI_SCHEMA_DIR, ../shared/refi-qda, or the shipped copy)."""
    try:
        folder = schema_dir()
    except ModelUnavailableError as exc:
        if os.environ.get("CI"):
            pytest.fail(exc.message)
        pytest.skip(exc.message)
    assert all((folder / name).is_file() for name in SCHEMA_FILES.values())
    return folder
