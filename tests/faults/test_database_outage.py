"""PostgreSQL refuses connections for a few seconds while transcripts are processed and reviewed:
afterwards every upload is processed exactly once and no review decision is lost."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import POSTGRES_ADMIN_URL
from tests.faults.harness import FaultCluster

OUTAGE_SECONDS = 6


def _allow_connections(database: str, allowed: bool) -> None:
    """Open or close our own test database to new connections, and drop existing ones when closing."""
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS {str(allowed).lower()}'))
            if not allowed:
                connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                        "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": database})
    finally:
        admin.dispose()


@pytest.mark.slow
def test_database_outage_loses_no_upload_and_no_decision(cluster: FaultCluster) -> None:
    database = make_url(cluster.settings.database_url).database
    project_id, acknowledged, quotations, memos = cluster.reviewed_project(2, "voor de storing")

    acknowledged += cluster.upload_many(project_id, range(2, 7))
    cluster.wait_for_a_running_job(project_id)
    _allow_connections(database, False)
    try:
        during = [cluster.upload(project_id, n) for n in range(7, 9)]
        assert all(not ids for ids, _ in during), during  # nothing can be stored, and nothing claims it was
        assert cluster.request("GET", "/health").json()["database"] is False
        time.sleep(OUTAGE_SECONDS)
    finally:
        _allow_connections(database, True)

    acknowledged += [tid for n in range(7, 9) for tid in cluster.upload_until_acknowledged(project_id, n)]
    memos.append((quotations[0], "na de storing"))
    cluster.comment_until_recorded(*memos[-1])
    cluster.wait_until_processed(project_id, timeout=240)
    cluster.assert_processed_exactly_once(project_id, acknowledged)
    cluster.assert_memos_recorded_once(memos)
