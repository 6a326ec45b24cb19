"""The API is killed and restarted while several clients upload: every transcript that reached the
database is processed exactly once, and every acknowledged upload and decision is there. A request
that died between its commit and its enqueue leaves a transcript without a job; only the recovery
sweep (at API startup and periodically in the workers) can queue it, and no test code calls it."""
from __future__ import annotations

import threading
import time

import pytest

from tests.faults.harness import FaultCluster


@pytest.mark.slow
def test_api_restart_during_uploads_loses_nothing(cluster: FaultCluster) -> None:
    project_id = cluster.new_project()
    cluster.upload_until_acknowledged(project_id, 0)
    cluster.wait_until_processed(project_id, timeout=120)
    quotation = cluster.quotation_ids(project_id)[0]
    acknowledged: list[str] = []
    failures: list[BaseException] = []

    def client(offset: int) -> None:
        try:
            for n in range(offset, offset + 5):
                acknowledged.extend(cluster.upload_until_acknowledged(project_id, n, timeout=120))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)

    clients = [threading.Thread(target=client, args=(100 * i,)) for i in range(1, 4)]
    for thread in clients:
        thread.start()
    time.sleep(1.0)
    cluster.api.kill()  # mid-upload: some requests die before, some after their commit
    time.sleep(1.0)
    cluster.api.start()  # nobody requeues by hand: the API's startup sweep and the workers' periodic one do
    memos = [(quotation, "na de herstart")]
    cluster.comment_until_recorded(*memos[0])
    for thread in clients:
        thread.join(timeout=180)
    assert not failures, failures

    cluster.wait_until_processed(project_id, timeout=240)
    cluster.assert_processed_exactly_once(project_id, acknowledged)
    cluster.assert_memos_recorded_once(memos)
    stored = sum(cluster.statuses(project_id).values())
    # 1 + 15 uploads; a request that died after its commit but before its answer is sent again by the
    # client, so at most a few duplicates (each also processed exactly once) may exist.
    assert 16 <= stored <= 16 + 3, stored
