"""The learning loop through the API: review, retrain, registry, promote and roll back, agreement.

A tiny codebook, a synthetic base snapshot and a bag-of-words embedder keep the training quick;
transcripts are processed in-process by the real pipeline with that model. The same loop through
Redis and a real worker process is test_learning_worker.py (slow).
"""
from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from services.api.app import create_app
from services.shared.db import Database
from services.worker.retrain import run_training
from services.worker.tasks import run_transcript
from tests.api.helpers import login, prepare_database
from tests.api.learning_support import TRANSCRIPTS, fake_embedder_runtime, learning_setup
from tests.worker.training_support import FAST, TINY_CODEBOOK, HashingEmbedder


def test_learning_review_retrain_promote_rollback(tmp_path: Path, make_settings, redis_url: str) -> None:
    settings, base_version = learning_setup(tmp_path, make_settings, redis_url)
    prepare_database(settings, ("admin", True))
    runtime = fake_embedder_runtime(settings)
    with TestClient(create_app(settings)) as client:
        headers = login(client, "admin")
        project = client.post("/api/v1/projects", headers=headers, json={
            "name": "Vervolgstudie", "pseudonymise": False, "codebook_yaml": TINY_CODEBOOK}).json()
        upload = client.post(f"/api/v1/projects/{project['id']}/transcripts", headers=headers,
                             files=[("files", (n, t.encode(), "text/plain")) for n, t in TRANSCRIPTS.items()])
        assert upload.status_code == 202, upload.text
        for transcript in upload.json():
            assert run_transcript(runtime, transcript["id"])["status"] == "done"
        quotations = [q for t in upload.json() for q in
                      client.get(f"/api/v1/transcripts/{t['id']}/review", headers=headers).json()["quotations"]]
        assert len(quotations) >= 3, quotations
        assert {q["machine"]["model_version"] for q in quotations} == {base_version}

        decisions = {}
        for quotation, action in zip(quotations, ["confirm", "reject", "confirm"]):
            response = client.post(f"/api/v1/quotations/{quotation['id']}/decisions", headers=headers, json={
                "action": action, "payload": {}, "based_on_event_id": quotation["last_event_id"]})
            assert response.status_code == 201, response.text
            decisions[quotation["id"]] = (action, response.json()["event"]["id"], quotation)

        started = client.post(f"/api/v1/projects/{project['id']}/training-runs", headers=headers,
                              json={"base_snapshot": "synthetic-v1"})
        assert started.status_code == 202, started.text
        run_id = started.json()["id"]
        result = run_training(runtime.database, settings, run_id, lambda name: HashingEmbedder(), hyperparameters=FAST)
        assert result["status"] == "done", result
        run = client.get(f"/api/v1/training-runs/{run_id}", headers=headers).json()
        new_version = run["new_version"]
        assert run["base_version"] == base_version and new_version != base_version

        # The snapshot holds exactly the decisions made above, with their provenance.
        snapshot = Path(run["snapshot_path"])
        review_part = snapshot / "parts" / f"review-{project['id']}.jsonl"
        examples = [json.loads(line) for line in review_part.read_text(encoding="utf-8").splitlines()]
        assert {e["source"]["quotation_id"] for e in examples} == set(decisions)
        for example in examples:
            action, event_id, quotation = decisions[example["source"]["quotation_id"]]
            assert example["source"]["event_id"] == event_id and example["source"]["project_id"] == project["id"]
            codes = [c["id"] for c in quotation["machine"]["codes"]]
            if action == "reject":
                assert example["knelpunten"] == [] and example["solutions"] == []
                assert example["source"]["rejected_codes"] == sorted(codes)
            else:
                labelled = [f"KP{n:02d}" for n in example["knelpunten"]] + example["solutions"]
                assert sorted(labelled) == sorted(codes)
        manifest = json.loads((snapshot / "manifest.json").read_text(encoding="utf-8"))
        assert run["snapshot_hash"] == manifest["data_snapshot"]

        # The registry shows the new version with its snapshot and the comparison to the old one.
        registry = client.get(f"/api/v1/projects/{project['id']}/models", headers=headers).json()
        row = next(v for v in registry["versions"] if v["version"] == new_version)
        assert row["data_snapshot"] == manifest["data_snapshot"] and row["trained_by"] is not None
        assert row["comparison"]["current_version"] == base_version
        assert {"new", "current"} <= set(row["comparison"]) and row["comparison"]["held_out_examples"] >= 1
        assert "Comparison with the current version" in (settings.models_dir / new_version / "report.md").read_text()
        assert registry["active"] == base_version

        # Promote and roll back: the same runtime (no restart) resolves the project's next job differently.
        assert runtime.model(None, project["id"]).version == base_version
        promoted = client.post(f"/api/v1/projects/{project['id']}/models/{new_version}/promote", headers=headers)
        assert promoted.json()["active"] == new_version
        assert runtime.model(None, project["id"]).version == new_version
        assert runtime.resolve_version(None, None) == base_version  # other projects are unaffected
        rolled = client.post(f"/api/v1/projects/{project['id']}/models/rollback", headers=headers)
        assert rolled.json()["active"] == base_version
        assert runtime.model(None, project["id"]).version == base_version
        assert client.post(f"/api/v1/projects/{project['id']}/models/rollback", headers=headers).status_code == 409
        assert client.post(f"/api/v1/projects/{project['id']}/models/nope/promote", headers=headers).status_code == 404

        # Agreement of the model with the reviewer, per sentence.
        agreement = client.get(f"/api/v1/projects/{project['id']}/agreement?first=model&second=me",
                               headers=headers).json()
        assert agreement["unit"] == "sentence" and agreement["overall"]["sentences"] >= 3
        assert agreement["overall"]["f1"] is not None and agreement["overall"]["f1"] < 1.0  # one was rejected
    Database(settings).dispose()
