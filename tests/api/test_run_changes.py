"""Re-running a transcript with a chosen model version, and what changed between the two runs.

Two model versions are trained on different synthetic snapshots (tiny codebook, bag-of-words
embedder). Both runs go through the API, Redis and RQ's own job execution: an in-process
SimpleWorker runs the real job function with the test's runtime (whose embedder has no builder).
"""
from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from rq.job import Job
from sqlalchemy import select

from services.api.app import create_app
from services.shared.db import Database
from services.shared.queue import make_redis
from services.shared.recovery import requeue_stranded
from services.shared.tables import Quotation
from services.worker.train import train_model_version
from tests.api.helpers import login, prepare_database
from tests.api.learning_support import TRANSCRIPTS, fake_embedder_runtime, learning_setup
from tests.support import run_queued_jobs
from tests.worker.training_support import FAST, TINY_CODEBOOK, HashingEmbedder, write_synthetic_snapshot

NEXT_VERSION = "next-v1"


def _stored_quotations(settings, run_id: str) -> dict[str, tuple[int, int, str | None, dict]]:  # noqa: ANN001
    """(start, end, stance, {code: score}) of each model quotation of a run, read from the database."""
    database = Database(settings)
    with database.sessions() as session:
        rows = session.scalars(select(Quotation).where(Quotation.run_id == run_id)).all()
        found = {q.id: (q.start, q.end, q.stance, {s.code_id: s.score for s in q.suggestions}) for q in rows}
    database.dispose()
    return found


def _check_accounts_for_every_quotation(comparison: dict, base: dict, other: dict) -> None:
    """Every quotation of both runs is either listed (added, removed, changed) or counted as unchanged,
    and each listed change is true of the stored quotations."""
    listed_base = [i["base"]["id"] for i in comparison["changes"] if i["base"]]
    listed_other = [i["other"]["id"] for i in comparison["changes"] if i["other"]]
    unchanged = comparison["summary"]["unchanged"]
    assert len(set(listed_base)) == len(listed_base) and len(set(listed_other)) == len(listed_other)
    assert len(listed_base) + unchanged == len(base) and len(listed_other) + unchanged == len(other)
    threshold = comparison["min_confidence_change"]
    for item in comparison["changes"]:
        assert comparison["summary"][item["kind"]] == sum(i["kind"] == item["kind"] for i in comparison["changes"])
        if item["kind"] != "changed":
            assert (item["base"] is None) == (item["kind"] == "added") and item["changes"] == []
            continue
        b_start, b_end, b_stance, b_codes = base[item["base"]["id"]]
        o_start, o_end, o_stance, o_codes = other[item["other"]["id"]]
        assert min(b_end, o_end) > max(b_start, o_start)  # the same passage
        assert ("span" in item["changes"]) == ((b_start, b_end) != (o_start, o_end))
        assert ("stance" in item["changes"]) == (b_stance != o_stance)
        assert item["codes_added"] == sorted(set(o_codes) - set(b_codes))
        assert item["codes_removed"] == sorted(set(b_codes) - set(o_codes))
        moved = {c for c in set(b_codes) & set(o_codes) if abs(o_codes[c] - b_codes[c]) >= threshold}
        assert set(item["confidence"]) == moved and ("confidence" in item["changes"]) == bool(moved)
        assert item["changes"], "a pair without a difference must be counted as unchanged, not listed"


def test_rerun_with_a_chosen_version_keeps_runs_and_decisions_and_shows_changes(
    tmp_path: Path, make_settings, redis_url: str
) -> None:
    settings, base_version = learning_setup(tmp_path, make_settings, redis_url)
    write_synthetic_snapshot(tmp_path / "labelled" / "synthetic-v2", seed=7, per_case=12)
    train_model_version(tmp_path / "labelled" / "synthetic-v2", settings.codebook_path, settings.models_dir,
                        "test-hashing", version=NEXT_VERSION, embedder=HashingEmbedder(), hyperparameters=FAST)
    prepare_database(settings, ("admin", True))
    runtime = fake_embedder_runtime(settings)
    with TestClient(create_app(settings)) as client:
        headers = login(client, "admin")
        project = client.post("/api/v1/projects", headers=headers, json={
            "name": "Herhaling", "pseudonymise": False, "codebook_yaml": TINY_CODEBOOK}).json()
        name, text = next(iter(TRANSCRIPTS.items()))
        upload = client.post(f"/api/v1/projects/{project['id']}/transcripts", headers=headers,
                             files=[("files", (name, text.encode(), "text/plain"))])
        transcript_id = upload.json()[0]["id"]
        run_queued_jobs(settings, runtime)
        url = f"/api/v1/transcripts/{transcript_id}"
        assert client.get(url, headers=headers).json()["status"] == "done"
        first_view = client.get(f"{url}/review", headers=headers).json()["quotations"]
        reviewed = first_view[0]
        assert client.post(f"/api/v1/quotations/{reviewed['id']}/decisions", headers=headers, json={
            "action": "confirm", "payload": {}, "based_on_event_id": None}).status_code == 201
        assert client.get(f"{url}/runs/compare", headers=headers).status_code == 409  # one run: nothing to compare
        assert client.post(f"{url}/rerun", json={"model_version": "no-such"}, headers=headers).status_code == 404

        started = client.post(f"{url}/rerun", json={"model_version": NEXT_VERSION}, headers=headers)

        assert started.status_code == 202 and started.json()["status"] == "queued", started.text
        again = client.post(f"{url}/rerun", json={}, headers=headers)
        assert again.status_code == 409 and "queued" in again.json()["message"]
        # Redis loses the job: the recovery sweep queues the transcript again, and the new job still
        # uses the chosen version (kept on the transcript row, not only in the lost job).
        redis = make_redis(settings)
        Job.fetch(started.json()["job_id"], connection=redis).delete()
        database = Database(settings)
        with database.transaction() as session:
            assert requeue_stranded(session, redis, settings, grace_seconds=0) == [transcript_id]
        database.dispose()
        redis.close()
        run_queued_jobs(settings, runtime)
        assert client.get(url, headers=headers).json()["status"] == "done"

        runs = client.get(f"{url}/runs", headers=headers).json()
        assert [(r["model_version"], r["current"]) for r in runs] == [(base_version, False), (NEXT_VERSION, True)]
        shown = client.get(f"{url}/review", headers=headers).json()["quotations"]
        assert {q["machine"]["model_version"] for q in shown} == {NEXT_VERSION}
        events = client.get(f"{url}/review/events", headers=headers).json()
        assert [(e["action"], e["quotation_id"]) for e in events] == [("confirm", reviewed["id"])]  # kept

        comparison = client.get(f"{url}/runs/compare", headers=headers).json()
        exact = client.get(f"{url}/runs/compare", params={"min_confidence_change": 0}, headers=headers).json()
        swapped = client.get(f"{url}/runs/compare", params={"base": runs[1]["id"], "other": runs[0]["id"]},
                             headers=headers).json()

    base, other = _stored_quotations(settings, runs[0]["id"]), _stored_quotations(settings, runs[1]["id"])
    assert comparison["base"]["id"] == runs[0]["id"] and comparison["other"]["model_version"] == NEXT_VERSION
    for result in (comparison, exact):
        _check_accounts_for_every_quotation(result, base, other)
    _check_accounts_for_every_quotation(swapped, other, base)
    assert exact["changes"], "two versions trained on different data changed nothing at all"
    assert swapped["summary"]["added"] == comparison["summary"]["removed"]
    assert swapped["summary"]["removed"] == comparison["summary"]["added"]
    decided = [i["base"] for i in exact["changes"] if i["base"] and i["base"]["id"] == reviewed["id"]]
    assert all(view["decisions"] == 1 for view in decided)
    assert all(i["base"]["decisions"] == 0 for i in exact["changes"] if i["base"] and i["base"]["id"] != reviewed["id"])
