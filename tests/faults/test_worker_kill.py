"""Workers killed in the middle of jobs while reviewers work: every upload is processed exactly once
and every review decision is kept (the single-transcript case is tests/worker/test_worker_crash.py)."""
from __future__ import annotations

import pytest

from tests.faults.harness import FaultCluster


@pytest.mark.slow
def test_worker_kill_mid_job_loses_nothing(cluster: FaultCluster) -> None:
    project_id, first, quotations, memos = cluster.reviewed_project(3, "voor de crash")

    later = cluster.upload_many(project_id, range(3, 9))
    cluster.wait_for_a_running_job(project_id)
    for process in list(cluster.workers.processes):  # every worker dies mid-job; the supervisor restarts them
        cluster.workers.kill(process)
    memos.append((quotations[-1], "tijdens de crash"))
    cluster.comment_until_recorded(*memos[-1])

    cluster.wait_until_processed(project_id, timeout=240)
    cluster.assert_processed_exactly_once(project_id, first + later)
    cluster.assert_memos_recorded_once(memos)
    assert cluster.worker_restarts >= 2
