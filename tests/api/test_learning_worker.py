"""The learning loop on real parts: API, PostgreSQL, Redis and a real `qcoder worker` process.

Reviews go through the API, the retrain job is queued by the API and consumed from Redis by the
worker, and promoting / rolling back a version changes the model of that same worker's next job.
The base model is trained on the synthetic snapshot with the real default embedder (which the
worker process can load), so training stays quick.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from services.api.app import create_app
from services.shared.db import Database
from services.shared.tables import ProcessingRun
from services.worker.embed import USE_NAME, build_embedder
from services.worker.train import train_model_version
from tests.api.helpers import login, prepare_database
from tests.api.learning_support import TRANSCRIPTS
from tests.support import wait_for
from tests.worker.training_support import FAST, TINY_CODEBOOK, write_synthetic_snapshot, write_tiny_codebook

LATER = {
    "int_c.txt": "I: Hoe gaat het?\nR: Het budget en het geld zijn een probleem, lastig.\n",
    "int_d.txt": "I: En de regels?\nR: De wet en de regels zijn lastig, een probleem in de regio.\n",
}


def _upload_and_wait(client: TestClient, headers: dict, project_id: str, files: dict[str, str]) -> list[dict]:
    """Upload transcripts and wait until the worker has processed every one of them."""
    upload = client.post(f"/api/v1/projects/{project_id}/transcripts", headers=headers,
                         files=[("files", (name, text.encode(), "text/plain")) for name, text in files.items()])
    assert upload.status_code == 202, upload.text
    for transcript in upload.json():
        def done(transcript_id: str = transcript["id"]) -> dict | None:
            status = client.get(f"/api/v1/transcripts/{transcript_id}/status", headers=headers).json()
            return status if status["status"] in ("done", "failed") else None

        status = wait_for(done, timeout=300, interval=0.5, message=f"the worker to process {transcript['filename']}")
        assert status["status"] == "done", status
    return upload.json()


def _model_of(database: Database, transcript_id: str) -> str:
    """The model version of the transcript's latest processing run."""
    with database.sessions() as session:
        runs = session.scalars(select(ProcessingRun).where(ProcessingRun.transcript_id == transcript_id)
                               .order_by(ProcessingRun.created_at.desc())).all()
        return runs[0].model_version


def _decide(client: TestClient, headers: dict, quotations: list[dict]) -> dict[str, tuple[str, int, list[str]]]:
    """Confirm, reject and relabel one quotation each; quotation id -> (action, event id, codes expected)."""
    decided = {}
    first, second, third = quotations[:3]
    codes_of = {q["id"]: [c["id"] for c in q["machine"]["codes"]] for q in quotations}
    relabel_from = codes_of[third["id"]][0]
    relabel_to = next(c for c in ("KP01", "KP02", "KP03", "KP04") if c not in codes_of[third["id"]])
    for quotation, action, payload, expected in [
        (first, "confirm", {}, codes_of[first["id"]]),
        (second, "reject", {}, []),
        (third, "relabel", {"from": relabel_from, "to": relabel_to},
         [c for c in codes_of[third["id"]] if c != relabel_from] + [relabel_to]),
    ]:
        response = client.post(f"/api/v1/quotations/{quotation['id']}/decisions", headers=headers, json={
            "action": action, "payload": payload, "based_on_event_id": quotation["last_event_id"]})
        assert response.status_code == 201, response.text
        decided[quotation["id"]] = (action, response.json()["event"]["id"], sorted(expected))
    return decided


@pytest.mark.slow
def test_learning_loop_retrains_on_a_worker_and_promotion_switches_its_next_job(
    tmp_path: Path, postgres_url: str, redis_url: str, make_settings, workers
) -> None:
    data = tmp_path / "labelled"
    write_synthetic_snapshot(data / "synthetic-v1")
    codebook = write_tiny_codebook(tmp_path)
    models = tmp_path / "models"
    base_version = train_model_version(data / "synthetic-v1", codebook, models, USE_NAME, version="base-v0",
                                       embedder=build_embedder(USE_NAME), hyperparameters=FAST, activate=True).name
    settings = make_settings(database_url=postgres_url, redis_url=redis_url, models_dir=models,
                             labelled_data_dir=data, codebook_path=codebook, segmenter="rules",
                             pseudonymise_recogniser="rules")
    prepare_database(settings, ("admin", True))
    database = Database(settings)
    with TestClient(create_app(settings)) as client:
        headers = login(client, "admin")
        project = client.post("/api/v1/projects", headers=headers, json={
            "name": "Leerlus", "pseudonymise": False, "codebook_yaml": TINY_CODEBOOK}).json()
        worker = workers.start(settings)
        transcripts = _upload_and_wait(client, headers, project["id"], TRANSCRIPTS)
        quotations = [q for t in transcripts for q in
                      client.get(f"/api/v1/transcripts/{t['id']}/review", headers=headers).json()["quotations"]]
        assert len(quotations) >= 3, quotations
        decided = _decide(client, headers, quotations)
        text = client.get(f"/api/v1/transcripts/{transcripts[1]['id']}", headers=headers).json()["text"]
        sentence = "Afspraken in de regio maken we beter, dat lost op."
        created = client.post(f"/api/v1/transcripts/{transcripts[1]['id']}/review/quotations", headers=headers, json={
            "start": text.index(sentence), "end": text.index(sentence) + len(sentence), "codes": ["OPL-REGIO"],
            "stance": "oplossing"})
        assert created.status_code == 201, created.text
        decided[created.json()["quotation"]["id"]] = ("create", created.json()["event"]["id"], ["OPL-REGIO"])

        # The API queues the training job; the worker process takes it from Redis.
        started = client.post(f"/api/v1/projects/{project['id']}/training-runs", headers=headers,
                              json={"base_snapshot": "synthetic-v1"})
        assert started.status_code == 202, started.text

        def finished() -> dict | None:
            run = client.get(f"/api/v1/training-runs/{started.json()['id']}", headers=headers).json()
            return run if run["status"] in ("done", "failed") else None

        run = wait_for(finished, timeout=480, interval=1.0, message="the worker to finish the training run")
        assert run["status"] == "done", (run, worker.log_path.read_text(errors="replace")[-3000:])
        new_version = run["new_version"]
        assert run["base_version"] == base_version and new_version != base_version
        assert run["job_id"] == f"training-{started.json()['id']}"

        # The snapshot holds exactly the decisions made above: one example per decided quotation.
        part = Path(run["snapshot_path"]) / "parts" / f"review-{project['id']}.jsonl"
        examples = [json.loads(line) for line in part.read_text(encoding="utf-8").splitlines()]
        assert {e["source"]["quotation_id"] for e in examples} == set(decided)
        for example in examples:
            action, event_id, codes = decided[example["source"]["quotation_id"]]
            labelled = sorted([f"KP{n:02d}" for n in example["knelpunten"]] + example["solutions"])
            assert (example["source"]["event_id"], labelled) == (event_id, codes), action
            assert example["case"] == "review" and example["source"]["project_id"] == project["id"]
        manifest = json.loads((Path(run["snapshot_path"]) / "manifest.json").read_text(encoding="utf-8"))

        # The registry lists the new version with that snapshot and its comparison with the old one.
        registry = client.get(f"/api/v1/projects/{project['id']}/models", headers=headers).json()
        row = next(v for v in registry["versions"] if v["version"] == new_version)
        assert row["data_snapshot"] == manifest["data_snapshot"] == run["snapshot_hash"]
        admin_id = client.get("/api/v1/auth/me", headers=headers).json()["id"]
        assert (row["trained_by"], row["training_run_id"]) == (admin_id, started.json()["id"])
        assert row["comparison"]["current_version"] == base_version
        assert {"new", "current"} <= set(row["comparison"]) and row["comparison"]["held_out_examples"] >= 1
        assert registry["active"] == base_version

        # Promote, then roll back: the same worker process uses the new, then the old version.
        promoted = client.post(f"/api/v1/projects/{project['id']}/models/{new_version}/promote", headers=headers)
        assert promoted.status_code == 200 and promoted.json()["active"] == new_version
        (after_promotion,) = _upload_and_wait(client, headers, project["id"], {"int_c.txt": LATER["int_c.txt"]})
        assert _model_of(database, after_promotion["id"]) == new_version
        rolled = client.post(f"/api/v1/projects/{project['id']}/models/rollback", headers=headers)
        assert rolled.status_code == 200 and rolled.json()["active"] == base_version
        (after_rollback,) = _upload_and_wait(client, headers, project["id"], {"int_d.txt": LATER["int_d.txt"]})
        assert _model_of(database, after_rollback["id"]) == base_version
        assert worker.poll() is None, "the worker must not have restarted"
        assert {_model_of(database, t["id"]) for t in transcripts} == {base_version}
    database.dispose()
