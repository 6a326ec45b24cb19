"""Redis crashes and comes back while transcripts are uploaded and processed: each upload is processed
exactly once (jobs persist in Redis's append-only file; uploads made while it was down are queued by
the recovery sweep) and no review decision is lost."""
from __future__ import annotations

import time

import pytest

from tests.faults.harness import FaultCluster


@pytest.mark.slow
def test_redis_restart_loses_no_upload_and_no_decision(cluster: FaultCluster) -> None:
    project_id, acknowledged, quotations, memos = cluster.reviewed_project(2, "voor de storing")

    acknowledged += cluster.upload_many(project_id, range(2, 6))
    cluster.wait_for_a_running_job(project_id)
    cluster.redis.stop(hard=True)
    outcomes = [cluster.upload(project_id, n) for n in range(6, 9)]  # while Redis is down
    acknowledged += [tid for ids, _ in outcomes for tid in ids]
    assert any(outcome == "stored, queue unreachable" for _, outcome in outcomes), outcomes
    memos.append((quotations[0], "tijdens de storing"))
    cluster.comment_until_recorded(*memos[-1])  # decisions do not need Redis
    time.sleep(3)
    cluster.redis.start()

    acknowledged += [tid for n in range(9, 11) for tid in cluster.upload_until_acknowledged(project_id, n)]
    cluster.wait_until_processed(project_id, timeout=240)
    cluster.assert_processed_exactly_once(project_id, acknowledged)
    cluster.assert_memos_recorded_once(memos)
    # Their jobs never reached Redis: the workers' periodic sweep queued them, without any help from the test.
    stored_while_down = {tid for ids, outcome in outcomes if outcome == "stored, queue unreachable" for tid in ids}
    assert stored_while_down <= cluster.swept(), (stored_while_down, cluster.swept())
