"""The Alembic migrations build exactly the schema that services/shared/tables.py declares."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from services.shared.db import make_engine, upgrade_schema
from services.shared.tables import Base


def test_migrations_match_the_declared_tables(database_url: str) -> None:
    """A forgotten migration (a column added to tables.py only) shows up here as a difference."""
    upgrade_schema(database_url)
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_upgrading_twice_changes_nothing(database_url: str) -> None:
    """Every process upgrades on start; a second upgrade of a current database is a no-op."""
    upgrade_schema(database_url)
    upgrade_schema(database_url)
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_revision() == "0002"
    finally:
        engine.dispose()
