"""A follow-up project with its own small codebook: train from its reviews alone, or from mapped base data.

Reviewers add quotations through the API; the retrain job runs in-process with the bag-of-words
test embedder (the real worker path is in test_learning_worker.py).
"""
from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from services.api.app import create_app
from services.shared.codebook import load_codebook
from services.shared.db import Database
from services.shared.labelled_data import load_snapshot, validate_snapshot
from services.shared.snapshots import load_code_mapping
from services.worker.retrain import run_training
from services.worker.tasks import run_transcript
from services.worker.train import build_training_data, grouped_folds
from tests.api.helpers import login, prepare_database
from tests.api.learning_support import fake_embedder_runtime, learning_setup
from tests.worker.training_support import FAST, HashingEmbedder

FOLLOW_UP_CODEBOOK = """\
key: vervolg
version: "1.0.0"
name: Vervolgstudie mantelzorg
language: nl
categories:
  - {id: A, name: Randvoorwaarden, color: "#224466", description: Geld en regels}
codes:
  - {id: GELD, kind: knelpunt, number: 1, category: A, name: Geld, description: geld budget financiering tekort}
  - {id: WET, kind: knelpunt, number: 2, category: A, name: Regels, description: wet regels wetgeving}
  - {id: MANTELZORG, kind: knelpunt, number: 3, category: A, name: Mantelzorg, description: mantelzorger overbelast}
  - {id: OPL-GESPREK, kind: oplossing, color: "#668844", addresses: [MANTELZORG], name: Gesprek,
     description: open gesprek praten}
"""
# Sentences with each code's signal words; every transcript says each of them once.
SENTENCES = {
    "GELD": "Het geld en het budget zijn echt een tekort, lastig.",
    "WET": "De wet en de regels maken het ingewikkeld, een probleem.",
    "MANTELZORG": "De mantelzorger is overbelast, dat is zwaar.",
    "OPL-GESPREK": "Een open gesprek met de mantelzorger helpt, beter praten.",
}
# Two transcripts name their respondent (grouped by respondent), two do not (grouped by transcript).
HEADERS = ["---\nrespondent: Int V1\n---\n", "---\nrespondent: Int V2\n---\n", "", ""]


def _transcript(header: str, number: int) -> str:
    answers = [f"R: {SENTENCES[code]} Dat zeg ik als nummer {number}." for code in SENTENCES]
    return header + "".join(f"I: Vraag {i}?\n{answer}\n" for i, answer in enumerate(answers, 1))


def _add_quotations(client: TestClient, headers: dict, runtime: object, transcript: dict) -> list[str]:
    """Process the transcript (the active model knows another codebook, so its suggestions stay
    unreviewed), then code every signal sentence as a reviewer would; returns the quotation ids."""
    assert run_transcript(runtime, transcript["id"])["status"] == "done"
    text = client.get(f"/api/v1/transcripts/{transcript['id']}", headers=headers).json()["text"]
    made = []
    for code, sentence in SENTENCES.items():
        start = text.index(sentence)
        stance = "oplossing" if code.startswith("OPL") else "knelpunt"
        codes = [code, "MANTELZORG"] if code == "OPL-GESPREK" else [code]
        response = client.post(f"/api/v1/transcripts/{transcript['id']}/review/quotations", headers=headers,
                               json={"start": start, "end": start + len(sentence), "codes": codes, "stance": stance})
        assert response.status_code == 201, response.text
        made.append(response.json()["quotation"]["id"])
    return made


def test_learning_follow_up_project_trains_from_its_reviews_grouped_by_transcript(
    tmp_path: Path, make_settings, redis_url: str
) -> None:
    settings, base_version = learning_setup(tmp_path, make_settings, redis_url)
    prepare_database(settings, ("admin", True))
    runtime = fake_embedder_runtime(settings)
    with TestClient(create_app(settings)) as client:
        headers = login(client, "admin")
        project = client.post("/api/v1/projects", headers=headers, json={
            "name": "Vervolg", "pseudonymise": False, "codebook_yaml": FOLLOW_UP_CODEBOOK}).json()
        upload = client.post(f"/api/v1/projects/{project['id']}/transcripts", headers=headers, files=[
            ("files", (f"v{i}.txt", _transcript(h, i).encode(), "text/plain")) for i, h in enumerate(HEADERS)])
        assert upload.status_code == 202, upload.text
        quotation_ids = [q for t in upload.json() for q in _add_quotations(client, headers, runtime, t)]

        # From scratch: no base snapshot, so only the project's reviewed quotations train.
        started = client.post(f"/api/v1/projects/{project['id']}/training-runs", headers=headers,
                              json={"base_snapshot": None})
        assert started.status_code == 202, started.text
        result = run_training(runtime.database, settings, started.json()["id"], lambda name: HashingEmbedder(),
                              hyperparameters=FAST)
        assert result["status"] == "done", result
        run = client.get(f"/api/v1/training-runs/{started.json()['id']}", headers=headers).json()

    codebook = load_codebook(settings.models_dir / run["new_version"] / "codebook.yaml")
    assert codebook.key == "vervolg" and {c.id for c in codebook.codes} == set(SENTENCES)
    snapshot_dir = Path(run["snapshot_path"])
    assert validate_snapshot(snapshot_dir, codebook) == []
    examples = load_snapshot(snapshot_dir).examples
    assert sorted(e.source.extra["quotation_id"] for e in examples) == sorted(quotation_ids)
    assert {e.case for e in examples} == {"review"}

    # Held out by respondent where the transcript names one, else by transcript: never split.
    data = build_training_data(examples, codebook, HashingEmbedder())
    transcript_of = {e.id: e.source.extra["transcript_id"] for e in examples}
    for _, train, test in grouped_folds(data):
        test_transcripts = {transcript_of[data.ids[i]] for i in test}
        assert not test_transcripts & {transcript_of.get(data.ids[i]) for i in train}
        assert not set(data.groups[test]) & set(data.groups[train])
    assert set(data.groups[: len(examples)]) == {"respondent Int V1", "respondent Int V2"} | {
        f"transcript {t['id']}" for t in upload.json()[2:]}

    meta = json.loads((settings.models_dir / run["new_version"] / "meta.json").read_text(encoding="utf-8"))
    folds = meta["evaluation"]["folds"]
    assert len(folds) == 4 and sum(f["n_test"] for f in folds) == len(examples)
    assert {f["held_out"] for f in folds} == set(data.groups[: len(examples)])
    assert meta["untrainable_codes"] == [] and meta["base_version"] == base_version
    assert meta["comparison"]["held_out_examples"] >= 4 and "new" in meta["comparison"]
    # The signal words make the follow-up codes learnable from 4 reviewed examples each.
    assert meta["evaluation"]["knelpunten"]["micro_f1"] > 0.5
    Database(settings).dispose()


def test_learning_follow_up_project_starts_from_base_data_through_a_mapping_file(
    tmp_path: Path, make_settings, redis_url: str
) -> None:
    settings, _ = learning_setup(tmp_path, make_settings, redis_url)
    prepare_database(settings, ("admin", True))
    runtime = fake_embedder_runtime(settings)
    mapping_file = tmp_path / "mapping.yaml"
    mapping_file.write_text("codes:\n  KP03: GELD\n  KP04: WET\n  OPL-PRAAT: OPL-GESPREK\n", encoding="utf-8")
    with TestClient(create_app(settings)) as client:
        headers = login(client, "admin")
        project = client.post("/api/v1/projects", headers=headers, json={
            "name": "Vervolg", "pseudonymise": False, "codebook_yaml": FOLLOW_UP_CODEBOOK}).json()
        upload = client.post(f"/api/v1/projects/{project['id']}/transcripts", headers=headers, files=[
            ("files", ("v0.txt", _transcript(HEADERS[0], 0).encode(), "text/plain"))])
        _add_quotations(client, headers, runtime, upload.json()[0])
        started = client.post(f"/api/v1/projects/{project['id']}/training-runs", headers=headers, json={
            "base_snapshot": "synthetic-v1", "mappings": {"base": load_code_mapping(mapping_file)}})
        assert started.status_code == 202, started.text
        result = run_training(runtime.database, settings, started.json()["id"], lambda name: HashingEmbedder(),
                              hyperparameters=FAST)
        assert result["status"] == "done", result
        run = client.get(f"/api/v1/training-runs/{started.json()['id']}", headers=headers).json()

    snapshot = load_snapshot(Path(run["snapshot_path"]))
    base = load_snapshot(settings.labelled_data_dir / "synthetic-v1")
    mapped = {e.id: e for e in snapshot.examples if e.source.kind != "review"}
    assert set(mapped) == {e.id for e in base.examples}
    for original in base.examples:
        # KP03 (geld) becomes GELD (number 1), KP04 (wet) WET (number 2); KP01 and KP02 have no counterpart.
        expected = sorted({3: 1, 4: 2}[n] for n in original.knelpunten if n in (3, 4))
        assert list(mapped[original.id].knelpunten) == expected, original.id
        assert mapped[original.id].solutions == (("OPL-GESPREK",) if "OPL-PRAAT" in original.solutions else ())
    unmapped = snapshot.manifest["provenance"]["unmapped_codes"]
    assert set(unmapped) == {"KP01", "KP02", "OPL-REGIO"} and all(n > 0 for n in unmapped.values())
    meta = json.loads((settings.models_dir / run["new_version"] / "meta.json").read_text(encoding="utf-8"))
    assert [f["held_out"] for f in meta["evaluation"]["folds"]] == ["E", "X", "Y"]  # the base data's cases
    assert meta["examples"]["by_case"]["review"] == len(SENTENCES)  # the reviewed quotations train in every fold
    Database(settings).dispose()
