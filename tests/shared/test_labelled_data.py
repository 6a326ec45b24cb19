"""Tests for services/shared/labelled_data.py and the shipped labelled_data/base-v1 snapshot."""
from __future__ import annotations

import copy
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from services.shared.codebook import codebook_from_dict, load_codebook
from services.shared.errors import ConflictError, LabelledDataError
from services.shared.labelled_data import (
    Example,
    check_manifest,
    compute_manifest,
    load_snapshot,
    snapshot_from_examples,
    validate_snapshot,
    write_manifest,
)

REPO = Path(__file__).resolve().parents[2]
BASE = REPO / "labelled_data" / "base-v1"
CODEBOOK_PATH = REPO / "codebooks" / "lzw-regie" / "codebook.yaml"
THESIS = Path(os.environ.get("QCODER_THESIS_PATH", "/work/shared/seed/thesis_excerpt.txt"))


@pytest.fixture
def codebook():
    """A small codebook: knelpunten 1-3 and two solutions."""
    return codebook_from_dict({
        "key": "mini", "version": "1", "name": "Mini", "language": "nl",
        "categories": [{"id": "A", "name": "Netwerk", "color": "#112233"}],
        "codes": [
            {"id": "KP01", "kind": "knelpunt", "name": "Schaal", "description": "d", "category": "A", "number": 1},
            {"id": "KP02", "kind": "knelpunt", "name": "Integraliteit", "description": "d", "category": "A",
             "number": 2},
            {"id": "KP03", "kind": "knelpunt", "name": "Overlap", "description": "d", "category": "A", "number": 3},
            {"id": "OPL-A", "kind": "oplossing", "name": "A", "description": "d", "addresses": ["KP01"],
             "color": "#445566"},
            {"id": "OPL-B", "kind": "oplossing", "name": "B", "description": "d", "addresses": ["KP03"],
             "color": "#445566"},
        ],
    })


def _record(n: int, **changes) -> dict:
    record = {"id": f"t-{n:04d}", "text": f"Er zijn te veel overleggen, nummer {n}.", "knelpunten": [3],
              "stance": "knelpunt", "solutions": ["OPL-B"], "respondents": ["Int X1"], "case": "X",
              "context": None, "source": {"kind": "thesis-quote", "section": "4.1.1", "line": 100 + n, "note": ""}}
    record.update(changes)
    return record


def _write(directory: Path, parts: dict[str, list]) -> Path:
    """Write parts/<name>.jsonl; items are records (dicts) or raw line strings."""
    (directory / "parts").mkdir(parents=True)
    for name, items in parts.items():
        lines = [item if isinstance(item, str) else json.dumps(item, ensure_ascii=False) for item in items]
        (directory / "parts" / f"{name}.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return directory


# ---------------------------------------------------------------------------------------------
# The shipped snapshot
# ---------------------------------------------------------------------------------------------

def test_labelled_data_shipped_snapshot_validates_against_shipped_codebook():
    assert validate_snapshot(BASE, load_codebook(CODEBOOK_PATH)) == []


def test_labelled_data_shipped_manifest_matches_contents():
    manifest = check_manifest(BASE)
    snapshot = load_snapshot(BASE)
    assert manifest["data_snapshot"] == snapshot.data_snapshot
    assert manifest["totals"]["examples"] == len(snapshot.examples)
    assert {p["file"] for p in manifest["parts"]} == {p.name for p in (BASE / "parts").glob("*.jsonl")}


def test_labelled_data_shipped_snapshot_has_no_held_back_case():
    assert all(e.case != "Z" and not any("Z" in r for r in e.respondents) for e in load_snapshot(BASE).examples)


_CITE_ITEM = r"\s*(?:(?:(?:Int|Doc)\s+)?[A-Z]\d+|Foc)\s*"
_CITATION = re.compile(rf"\s*\({_CITE_ITEM}(?:,{_CITE_ITEM})*\)+")  # (Int X1, Doc X1, Foc)


def _canonical(text: str) -> str:
    """Citations, whitespace and hyphens removed: what survives PDF line breaks and re-joined words."""
    return re.sub(r"[\s\-\u00ad\u2010]+", "", _CITATION.sub("", text))


def _thesis_lines() -> list[str]:
    if not THESIS.exists():
        pytest.skip(f"thesis text not found at {THESIS}; set QCODER_THESIS_PATH to check quotes against it")
    return THESIS.read_text(encoding="utf-8").split("\n")


def test_labelled_data_thesis_passages_occur_in_thesis():
    lines = _thesis_lines()
    thesis = _canonical(" ".join(line for line in lines if not line.strip().isdigit()))  # drop page numbers
    examples = [e for e in load_snapshot(BASE).examples if e.source.kind in ("thesis-quote", "thesis-citation")]
    assert examples
    invented = [e.id for e in examples if _canonical(e.text) not in thesis]
    assert invented == []
    not_quoted = [e.id for e in examples if e.source.kind == "thesis-quote"
                  and _canonical(f"“{e.text}”") not in thesis and _canonical(f"“{e.text}") not in thesis]
    assert not_quoted == []


def test_labelled_data_thesis_x_lines_point_at_passage_start():
    lines = _thesis_lines()
    examples = [e for e in load_snapshot(BASE).examples if e.id.startswith("thesis-x-")]
    assert len(examples) >= 90
    wrong = []
    for e in examples:
        head = _canonical(e.text)[:12]
        window = _canonical(" ".join(lines[e.source.line - 1:e.source.line + 2]))
        if head not in window or not 2046 <= e.source.line <= 2878:
            wrong.append((e.id, e.source.line))
    assert wrong == []


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------

def test_labelled_data_valid_snapshot_has_no_problems(tmp_path, codebook):
    _write(tmp_path, {"a": [_record(1), _record(2, stance="neutraal", knelpunten=[], solutions=[])],
                      "b": [_record(3, case="handwritten", respondents=[],
                                    source={"kind": "handwritten", "section": None, "line": None, "note": ""})]})
    assert validate_snapshot(tmp_path, codebook) == []


BROKEN = {
    "bad_json": ('{"id": "t-0002", "text": ', "bad JSON"),
    "not_an_object": ("[1, 2]", "one JSON object"),
    "empty_line": ("   ", "empty line"),
    "missing_field": ({k: v for k, v in _record(2).items() if k != "stance"}, "missing field 'stance'"),
    "missing_source_kind": (_record(2, source={"section": "4.1.1"}), "source.kind"),
    "wrong_type": (_record(2, knelpunten="3"), "field 'knelpunten'"),
    "bool_knelpunt": (_record(2, knelpunten=[True]), "field 'knelpunten'"),
    "wrong_type_line": (_record(2, source={"kind": "thesis-quote", "line": "12"}), "source.line"),
    "unknown_field": (_record(2, label="x"), "unknown field 'label'"),
    "duplicate_id": (_record(1), "duplicate id 't-0001' (first at parts/a.jsonl:1)"),
    "unknown_knelpunt": (_record(2, knelpunten=[3, 99]), "knelpunt number 99"),
    "unknown_solution": (_record(2, solutions=["OPL-NOPE"]), "unknown solution id 'OPL-NOPE'"),
    "knelpunt_as_solution": (_record(2, solutions=["KP01"]), "unknown solution id 'KP01'"),
    "unknown_stance": (_record(2, stance="positief"), "unknown stance 'positief'"),
    "knelpunt_without_number": (_record(2, knelpunten=[]), "needs at least one knelpunt"),
    "unknown_source_kind": (_record(2, source={"kind": "blog"}), "unknown source.kind 'blog'"),
    "case_z": (_record(2, case="Z"), "held back"),
    "respondent_z": (_record(2, respondents=["Int Z3"]), "held-back case Z"),
    "unknown_case": (_record(2, case="Q"), "unknown case 'Q'"),
    "empty_text": (_record(2, text="  "), "empty text"),
    "line_break_in_text": (_record(2, text="Er zijn te veel over-\nleggen."), "line break"),
}


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_labelled_data_validation_detects_problem(tmp_path, codebook, kind):
    line, expected = BROKEN[kind]
    _write(tmp_path, {"a": [_record(1), line, _record(3)]})
    problems = validate_snapshot(tmp_path, codebook)
    assert len(problems) == 1, problems
    assert problems[0].startswith("parts/a.jsonl:2: ")
    assert expected in problems[0]


def test_labelled_data_review_examples_may_name_any_respondent(tmp_path, codebook):
    """A follow-up study's own respondent "Z3" is not the thesis' held-back case Z."""
    review = {"kind": "review", "section": None, "line": None, "note": ""}
    _write(tmp_path, {"a": [_record(1), _record(2, case="review", respondents=["Z3"], source=review)]})
    assert validate_snapshot(tmp_path, codebook) == []


def test_labelled_data_validation_names_file_of_cross_part_duplicate(tmp_path, codebook):
    _write(tmp_path, {"a": [_record(1)], "b": [_record(2), _record(1)]})
    assert validate_snapshot(tmp_path, codebook) == [
        "parts/b.jsonl:2: duplicate id 't-0001' (first at parts/a.jsonl:1)"]


def test_labelled_data_validation_reports_missing_parts(tmp_path, codebook):
    (tmp_path / "parts").mkdir()
    assert len(validate_snapshot(tmp_path, codebook)) == 1
    assert "no parts/*.jsonl" in validate_snapshot(tmp_path, codebook)[0]


# ---------------------------------------------------------------------------------------------
# Loading, hashing, manifest
# ---------------------------------------------------------------------------------------------

def test_labelled_data_load_snapshot_reads_parts_in_sorted_order(tmp_path):
    _write(tmp_path, {"b": [_record(2)], "a": [_record(1), _record(3, context="Wat gaat er mis?")]})
    snapshot = load_snapshot(tmp_path)
    assert [e.id for e in snapshot.examples] == ["t-0001", "t-0003", "t-0002"]
    first = snapshot.examples[0]
    assert first.knelpunten == (3,) and first.source.line == 101 and snapshot.examples[1].context == "Wat gaat er mis?"
    assert snapshot.manifest is None and snapshot.data_snapshot == f"sha256:{snapshot.sha256}"


def test_labelled_data_load_snapshot_refuses_unreadable_line(tmp_path):
    _write(tmp_path, {"a": [_record(1), "{not json"]})
    with pytest.raises(LabelledDataError, match=r"parts/a.jsonl:2"):
        load_snapshot(tmp_path)


def test_labelled_data_load_snapshot_refuses_held_back_case(tmp_path):
    _write(tmp_path, {"a": [_record(1), _record(2, case="Z")]})
    with pytest.raises(LabelledDataError, match=r"parts/a.jsonl:2: case 'Z' is held back"):
        load_snapshot(tmp_path)


def test_labelled_data_example_from_dict_names_structural_problems():
    with pytest.raises(LabelledDataError, match="missing field 'text'") as info:
        Example.from_dict({k: v for k, v in _record(1).items() if k != "text"})
    assert info.value.details["problems"] == ["missing field 'text'"]


def test_labelled_data_example_round_trips_with_extra_source_keys():
    record = _record(1, source={"kind": "review", "section": None, "line": None, "note": "",
                                "transcript_id": 7, "quotation_id": 12})
    assert Example.from_dict(copy.deepcopy(record)).to_dict() == record


def test_labelled_data_hash_changes_when_one_label_changes(tmp_path):
    records = [_record(1), _record(2), _record(3)]
    one = _write(tmp_path / "one", {"a": records})
    changed = copy.deepcopy(records)
    changed[1]["knelpunten"] = [2]
    two = _write(tmp_path / "two", {"a": changed})
    assert load_snapshot(one).sha256 != load_snapshot(two).sha256
    assert compute_manifest(one)["sha256"] != compute_manifest(two)["sha256"]


def test_labelled_data_hash_is_stable_when_files_are_reread(tmp_path):
    one = _write(tmp_path / "one", {"a": [_record(1)], "b": [_record(2)]})
    first = load_snapshot(one).sha256
    assert load_snapshot(one).sha256 == first == compute_manifest(one)["sha256"]
    copied = shutil.copytree(one, tmp_path / "elsewhere")
    assert load_snapshot(copied).sha256 == first  # the hash names the content, not the location


def test_labelled_data_manifest_counts_and_created_at_outside_hash(tmp_path):
    _write(tmp_path, {"a": [_record(1), _record(2, knelpunten=[1, 3], stance="oplossing", solutions=["OPL-A"])],
                      "b": [_record(3, case="Y", respondents=["Int Y2"])]})
    manifest = write_manifest(tmp_path, {"by": "test"})
    assert [(p["file"], p["examples"]) for p in manifest["parts"]] == [("a.jsonl", 2), ("b.jsonl", 1)]
    totals = manifest["totals"]
    assert totals["examples"] == 3 and totals["case"] == {"X": 2, "Y": 1}
    assert totals["knelpunt"] == {"1": 1, "3": 3} and totals["stance"]["oplossing"] == 1
    assert totals["source_kind"] == {"thesis-quote": 3} and totals["solution"] == {"OPL-A": 1, "OPL-B": 2}
    stored = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    stored["created_at"] = "1999-01-01T00:00:00+00:00"
    (tmp_path / "manifest.json").write_text(json.dumps(stored), encoding="utf-8")
    assert check_manifest(tmp_path)["provenance"] == {"by": "test"}
    again = write_manifest(tmp_path)
    assert again["created_at"] == "1999-01-01T00:00:00+00:00" and again["provenance"] == {"by": "test"}


def test_labelled_data_check_manifest_detects_changed_part(tmp_path):
    _write(tmp_path, {"a": [_record(1)], "b": [_record(2)]})
    write_manifest(tmp_path)
    (tmp_path / "parts" / "b.jsonl").write_text(json.dumps(_record(2, stance="neutraal")) + "\n", encoding="utf-8")
    with pytest.raises(LabelledDataError, match="b.jsonl") as info:
        check_manifest(tmp_path)
    assert "a.jsonl" not in str(info.value.details["changed"])


def test_labelled_data_check_manifest_requires_manifest(tmp_path):
    _write(tmp_path, {"a": [_record(1)]})
    with pytest.raises(LabelledDataError, match="write_manifest"):
        check_manifest(tmp_path)


# ---------------------------------------------------------------------------------------------
# New snapshots
# ---------------------------------------------------------------------------------------------

def test_labelled_data_snapshot_from_examples_writes_valid_snapshot(tmp_path, codebook):
    source = load_snapshot(_write(tmp_path / "src", {"a": [_record(1), _record(2)], "b": [_record(3)]}))
    new = snapshot_from_examples({"reviewed": source.examples}, tmp_path / "out", "v2",
                                 {"from": source.data_snapshot, "reviewer": "r1"}, codebook=codebook)
    assert new.path == tmp_path / "out" / "v2" and new.examples == source.examples
    assert validate_snapshot(new.path, codebook) == []
    manifest = check_manifest(new.path)
    assert manifest["snapshot"] == "v2" and manifest["provenance"]["from"] == source.data_snapshot
    assert new.manifest == manifest and manifest["sha256"] == new.sha256
    assert [p.name for p in (new.path / "parts").iterdir()] == ["reviewed.jsonl"]


def test_labelled_data_snapshot_from_examples_refuses_to_overwrite(tmp_path):
    examples = [Example.from_dict(_record(1))]
    first = snapshot_from_examples(examples, tmp_path, "v1", {})
    before = (first.path / "parts" / "examples.jsonl").read_bytes()
    with pytest.raises(ConflictError, match="never overwritten"):
        snapshot_from_examples([Example.from_dict(_record(2))], tmp_path, "v1", {})
    assert (first.path / "parts" / "examples.jsonl").read_bytes() == before
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConflictError):
        snapshot_from_examples(examples, tmp_path, "empty", {})


def test_labelled_data_snapshot_from_examples_refuses_invalid_and_leaves_nothing(tmp_path, codebook):
    bad = [Example.from_dict(_record(1)), Example.from_dict(_record(2, knelpunten=[99]))]
    with pytest.raises(LabelledDataError, match="knelpunt number 99"):
        snapshot_from_examples(bad, tmp_path, "v1", {}, codebook=codebook)
    duplicate = [Example.from_dict(_record(1)), Example.from_dict(_record(1))]
    with pytest.raises(LabelledDataError, match="duplicate id"):
        snapshot_from_examples(duplicate, tmp_path, "v1", {})
    assert list(tmp_path.iterdir()) == []
