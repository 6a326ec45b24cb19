"""Shared fixtures: real SQLite and PostgreSQL databases, a real Redis, settings per test."""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from services.shared.config import REPO_ROOT, Settings, get_settings
from tests.support import WorkerProcesses

POSTGRES_ADMIN_URL = os.environ.get(
    "QCODER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_TEST_URL = os.environ.get("QCODER_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
EXAMPLE_TRANSCRIPTS = REPO_ROOT / "labelled_data" / "transcripts"


def _postgres_available() -> bool:
    try:
        engine = create_engine(POSTGRES_ADMIN_URL)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not reachable"; reported below
        return False


@pytest.fixture(scope="session")
def postgres_available() -> bool:
    """Whether the PostgreSQL server for tests answers; in CI it must."""
    available = _postgres_available()
    if not available and os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}; CI must provide it.")
    return available


@pytest.fixture
def postgres_url(postgres_available: bool) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    if not postgres_available:
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL} (set QCODER_TEST_POSTGRES_URL)")
    name = f"qcoder_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite database file for one test."""
    return f"sqlite:///{tmp_path / 'qcoder.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The real Redis server, on a test database flushed before and after each test."""
    client = redis.Redis.from_url(REDIS_TEST_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is not reachable at {REDIS_TEST_URL}; CI must provide it.")
        pytest.skip(f"Redis not reachable at {REDIS_TEST_URL}")
    client.flushdb()
    yield REDIS_TEST_URL
    client.flushdb()
    client.close()


@pytest.fixture
def make_settings(tmp_path: Path):  # noqa: ANN201
    """Build Settings for a test: a private data dir and queue, plus any overrides."""

    def build(**overrides: object) -> Settings:
        values = {
            "data_dir": tmp_path / "var",
            "queue_name": f"test-{uuid.uuid4().hex[:8]}",
            "database_url": f"sqlite:///{tmp_path / 'qcoder.db'}",
            "redis_url": REDIS_TEST_URL,
        }
        values.update(overrides)
        return get_settings(**values)

    return build


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[WorkerProcesses]:
    """Start real worker processes; they are killed when the test ends."""
    processes = WorkerProcesses(tmp_path)
    yield processes
    processes.stop_all()
