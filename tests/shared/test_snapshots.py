"""Snapshot building helpers: code mappings between codebooks."""
from __future__ import annotations

from pathlib import Path

import pytest

from services.shared.codebook import load_codebook
from services.shared.errors import InputError
from services.shared.labelled_data import Example, Source
from services.shared.snapshots import load_code_mapping, map_base_examples
from tests.worker.training_support import write_tiny_codebook

TARGET = """\
key: vervolg
version: "1.0.0"
name: Follow-up
language: nl
categories:
  - {id: A, name: Netwerk, color: "#112233", description: Het netwerk}
codes:
  - {id: KP01, kind: knelpunt, number: 1, category: A, name: Geld, description: geld budget}
  - {id: OPL-X, kind: oplossing, color: "#778899", addresses: [KP01], name: Fonds, description: een fonds}
"""


def test_snapshots_mapping_relabels_and_drops_unmapped_codes(tmp_path: Path) -> None:
    source = load_codebook(write_tiny_codebook(tmp_path))
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "codebook.yaml").write_text(TARGET, encoding="utf-8")
    target = load_codebook(tmp_path / "t" / "codebook.yaml")
    example = Example(id="x-1", text="Geld is lastig.", knelpunten=(2, 3), stance="knelpunt", solutions=("OPL-REGIO",),
                      respondents=(), case="X", context=None, source=Source("thesis-quote"))
    dropped: dict[str, int] = {}
    (mapped,) = map_base_examples([example], source, target, {"KP03": "KP01", "OPL-REGIO": "OPL-X"}, dropped)
    assert mapped.knelpunten == (1,) and mapped.solutions == ("OPL-X",) and mapped.stance == "knelpunt"
    assert dropped == {"KP02": 1}
    (only_unmapped,) = map_base_examples([example], source, target, {}, {})
    assert only_unmapped.knelpunten == () and only_unmapped.stance == "neutraal"


def test_snapshots_code_mapping_file_must_map_ids_to_ids(tmp_path: Path) -> None:
    good = tmp_path / "map.yaml"
    good.write_text("codes:\n  KP03: KP01\n", encoding="utf-8")
    assert load_code_mapping(good) == {"KP03": "KP01"}
    bad = tmp_path / "bad.yaml"
    bad.write_text("- KP03\n", encoding="utf-8")
    with pytest.raises(InputError):
        load_code_mapping(bad)
