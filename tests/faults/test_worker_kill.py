"""Workers killed in the middle of jobs while reviewers work: every upload is processed exactly once
and every review decision is kept (the single-transcript case is tests/worker/test_worker_crash.py)."""
from __future__ import annotations

import pytest

from tests.faults.harness import FaultCluster
from tests.faults.servers import wait_until


@pytest.mark.slow
def test_worker_kill_mid_job_loses_nothing(cluster: FaultCluster) -> None:
    project_id = cluster.new_project()
    first = [tid for n in range(3) for tid in cluster.upload_until_acknowledged(project_id, n)]
    cluster.wait_until_processed(project_id, timeout=120)
    quotations = cluster.quotation_ids(project_id)
    assert quotations, "the model coded nothing; the fault cannot be observed on review decisions"
    memos = [(quotations[0], "voor de crash")]
    cluster.comment_until_recorded(*memos[0])

    later = [tid for n in range(3, 9) for tid in cluster.upload_until_acknowledged(project_id, n)]
    wait_until(lambda: cluster.statuses(project_id)["processing"], timeout=60, interval=0.05,
               message="a job to be running")
    for process in list(cluster.workers.processes):  # every worker dies mid-job; the supervisor restarts them
        cluster.workers.kill(process)
    memos.append((quotations[-1], "tijdens de crash"))
    cluster.comment_until_recorded(*memos[-1])

    cluster.wait_until_processed(project_id, timeout=240)
    cluster.assert_processed_exactly_once(project_id, first + later)
    cluster.assert_memos_recorded_once(memos)
    assert cluster.worker_restarts >= 2
