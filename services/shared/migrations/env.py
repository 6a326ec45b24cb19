"""Alembic environment: runs migrations against the URL the caller configured."""
from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from services.shared.tables import Base

target_metadata = Base.metadata


def _run(connection) -> None:  # noqa: ANN001
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run migrations on the caller's connection, or on a new one for the configured URL."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    connectable = create_engine(context.config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    with connectable.connect() as new_connection:
        _run(new_connection)
    connectable.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline SQL generation is not supported; run against a database URL.")
run_migrations_online()
