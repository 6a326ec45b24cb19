"""The `qcoder` console script as a user runs it: analyse and predict in a real subprocess."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from services.shared.config import REPO_ROOT

INTERVIEW = (
    "I: Hoe verloopt de samenwerking met de partners?\n"
    "R: Nou, eerlijk gezegd zitten we met dezelfde partijen aan drie verschillende overleggen. "
    "Daar wordt steeds hetzelfde besproken.\n"
    "I: En de wethouder, hoe zit het met de coördinatie?\n"
    "R: De wethouder laat zich nooit zien bij het overleg, er is weinig bestuurlijk commitment. "
    "Eén keer per jaar, dat is het.\n"
)


def _run(args: list[str], cwd: Path, env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, **env_extra}
    return subprocess.run(
        [sys.executable, "-m", "services.cli.main", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.mark.slow
def test_cli_analyse_writes_json_with_exact_spans_and_an_html_report(tmp_path: Path) -> None:
    first = tmp_path / "interview_a.txt"
    first.write_text(INTERVIEW, encoding="utf-8")
    second = tmp_path / "interview_b.txt"
    second.write_bytes(INTERVIEW.replace("\n", "\r\n").encode("cp1252"))
    env = {"QCODER_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "QCODER_REDIS_URL": "redis://127.0.0.1:1/0"}

    result = _run(["analyse", str(first), str(second), "--output", str(tmp_path / "out"), "-q"], tmp_path, env)

    assert result.returncode == 0, result.stderr
    report = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "Quotations per code" in report
    for path, original in ((first, INTERVIEW), (second, INTERVIEW)):
        data = json.loads((tmp_path / "out" / f"{path.stem}.json").read_text(encoding="utf-8"))
        assert data["schema"] == "qcoder.analysis/1" and data["model"]["version"]
        (transcript,) = data["transcripts"]
        assert transcript["status"] == "done"
        assert transcript["quotations"], "no quotation found in an interview about overlap and commitment"
        for quotation in transcript["quotations"]:
            assert original[quotation["start"]:quotation["end"]] == quotation["text"]
            assert quotation["speaker"] == "R"
            for code in quotation["codes"]:
                assert 0 < code["score"] <= 1 and code["id"]
                if code["kind"] == "knelpunt":
                    assert 1 <= code["number"] <= 20
    cp1252 = json.loads((tmp_path / "out" / "interview_b.json").read_text(encoding="utf-8"))["transcripts"][0]
    assert cp1252["encoding"].lower().replace("-", "") in ("cp1252", "windows1252")
    assert cp1252["warnings"]


def test_cli_analyse_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    env = {"QCODER_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    result = _run(["analyse", str(tmp_path / "nope.txt"), "--output", str(tmp_path / "o.json")], tmp_path, env)
    assert result.returncode == 2
    assert "not found" in result.stderr and "nope.txt" in result.stderr


@pytest.mark.slow
def test_cli_predict_writes_one_prediction_per_line(tmp_path: Path) -> None:
    items = [
        {"id": "a", "text": "We zitten met dezelfde partijen aan veel te veel verschillende overlegtafels."},
        {"id": "b", "text": "De wethouder toont totaal geen betrokkenheid en komt nooit naar het overleg."},
        {"id": "c", "text": "Koffie?"},
    ]
    source = tmp_path / "items.jsonl"
    source.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")

    result = _run(["predict", "--input", str(source), "--output", str(tmp_path / "preds.jsonl")], REPO_ROOT, {})

    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in (tmp_path / "preds.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [line["id"] for line in lines] == ["a", "b", "c"]
    for line in lines:
        assert set(line) == {"id", "codes", "scores", "stance"}
        assert sorted(int(k) for k in line["scores"]) == list(range(1, 21))
        assert all(0.0 <= p <= 1.0 for p in line["scores"].values())
        assert all(str(code) in line["scores"] for code in line["codes"])
    assert lines[2]["codes"] == [] and lines[2]["stance"] == "neutraal"


def test_cli_predict_names_the_malformed_line(tmp_path: Path) -> None:
    source = tmp_path / "items.jsonl"
    source.write_text('{"id": 1, "text": "ok"}\n{not json}\n', encoding="utf-8")
    result = _run(["predict", "--input", str(source), "--output", str(tmp_path / "p.jsonl")], REPO_ROOT, {})
    assert result.returncode == 2 and "items.jsonl:2" in result.stderr
