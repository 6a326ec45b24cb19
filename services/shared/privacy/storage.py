"""Keeping deleted and replaced personal data off the disk of an SQLite database."""
from __future__ import annotations

import logging

from sqlalchemy.orm import Session

log = logging.getLogger(__name__)


def enable_secure_delete(session: Session) -> None:
    """Make SQLite overwrite deleted and replaced content with zeros on this connection."""
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql("PRAGMA secure_delete=ON")


def checkpoint_sqlite(session: Session) -> None:
    """Copy SQLite's write-ahead log into the database and truncate it (old page images live there).

    Call after committing; it commits the session again.
    """
    if session.get_bind().dialect.name == "sqlite":
        busy = session.connection().exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
        session.commit()
        if busy and busy[0]:
            log.warning("SQLite write-ahead log not fully checkpointed (readers active); the next checkpoint does it")
