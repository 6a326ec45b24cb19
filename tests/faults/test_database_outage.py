"""PostgreSQL refuses connections for a few seconds while transcripts are processed and reviewed:
afterwards every upload is processed exactly once and no review decision is lost."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import POSTGRES_ADMIN_URL
from tests.faults.harness import FaultCluster
from tests.faults.servers import wait_until

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
    project_id = cluster.new_project()
    acknowledged = [tid for n in range(2) for tid in cluster.upload_until_acknowledged(project_id, n)]
    cluster.wait_until_processed(project_id, timeout=120)
    quotation = cluster.quotation_ids(project_id)[0]
    memos = [(quotation, "voor de storing")]
    cluster.comment_until_recorded(*memos[0])

    acknowledged += [tid for n in range(2, 7) for tid in cluster.upload_until_acknowledged(project_id, n)]
    wait_until(lambda: cluster.statuses(project_id)["processing"], timeout=60, interval=0.05,
               message="a job to be running")
    _allow_connections(database, False)
    try:
        during = [cluster.upload(project_id, n) for n in range(7, 9)]
        assert all(not ids for ids, _ in during), during  # nothing can be stored, and nothing claims it was
        assert cluster.request("GET", "/health").json()["database"] is False
        time.sleep(OUTAGE_SECONDS)
    finally:
        _allow_connections(database, True)

    acknowledged += [tid for n in range(7, 9) for tid in cluster.upload_until_acknowledged(project_id, n)]
    memos.append((quotation, "na de storing"))
    cluster.comment_until_recorded(*memos[-1])
    cluster.wait_until_processed(project_id, timeout=240)
    cluster.assert_processed_exactly_once(project_id, acknowledged)
    cluster.assert_memos_recorded_once(memos)
