"""Tests for services/shared/codebook.py and the shipped codebooks/lzw-regie/codebook.yaml."""
from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
import yaml

from services.shared.codebook import (
    STANCES,
    Codebook,
    codebook_from_dict,
    load_codebook,
    load_default_codebook,
)
from services.shared.config import REPO_ROOT, get_settings
from services.shared.errors import CodebookError, UnknownCodeError

SHIPPED = REPO_ROOT / "codebooks" / "lzw-regie" / "codebook.yaml"

# The fixed ids and names of /tmp/solutions.md (thesis §5.3 and table 4): the specification, not output.
EXPECTED_CATEGORIES = {
    "A": "Het netwerk", "B": "Het proces", "C": "De gemeentelijke insteek",
    "D": "Kennis en innovatie", "E": "Financiering en wetgeving",
}
EXPECTED_KNELPUNTEN = {
    1: ("Schaal", "A"), 2: ("Integraliteit", "A"), 3: ("Overlap", "A"),
    4: ("Aandacht", "B"), 5: ("Taal", "B"), 6: ("Denkwijze", "B"), 7: ("Belangen", "B"),
    8: ("Vertrouwen", "B"), 9: ("Resultaat", "B"), 10: ("Burgerperspectief", "B"),
    11: ("Visie", "C"), 12: ("Afstemming", "C"), 13: ("Competenties", "C"), 14: ("Betrokkenheid", "C"),
    15: ("Kennisdeling", "D"), 16: ("Kennisontwikkeling", "D"), 17: ("Innovatie", "D"),
    18: ("Definitie", "D"), 19: ("Financiering", "E"), 20: ("Wetgeving", "E"),
}
EXPECTED_SOLUTIONS = {
    "OPL-REGIONALE-AFSPRAKEN": [1], "OPL-REGIONALE-PROGRAMMAMANAGER": [1],
    "OPL-PARTIJEN-ACTIEF-BENADEREN": [2], "OPL-VERWACHTINGEN-PARTNERS": [2],
    "OPL-OVERLEGSTRUCTUUR-OVERZICHT": [3], "OPL-PROCESMANAGER": [4, 5, 6, 7, 8, 9, 18],
    "OPL-PROGRAMMATISCH-WERKEN": [4, 6], "OPL-KENNISMAKING": [4, 5, 6, 7, 18],
    "OPL-GEMEENSCHAPPELIJKE-TAAL": [5], "OPL-ANDERSDENKENDEN-UITNODIGEN": [6, 17],
    "OPL-BELANGEN-EXPLICITEREN": [7], "OPL-OPEN-COMMUNICATIE": [8], "OPL-QUICK-WINS": [9],
    "OPL-BURGERS-BETREKKEN": [10], "OPL-VOORLICHTING-BURGERS": [10], "OPL-WOONVISIE": [11],
    "OPL-INTERNE-AFSTEMMING": [12], "OPL-EEN-AANSPREEKPUNT": [12], "OPL-COMPETENTIES-WERVEN": [13],
    "OPL-COACHING-TRAINING": [13], "OPL-BESTUURLIJK-TREKKER": [14, 13],
    "OPL-INITIATIEVEN-STIMULEREN": [14, 17], "OPL-KENNISBIJEENKOMSTEN": [15],
    "OPL-BEST-PRACTICES-DELEN": [15], "OPL-ONDERZOEK-MONITORING": [16], "OPL-KOSTEN-BATENANALYSE": [16],
    "OPL-EXPERIMENTEREN": [17, 19], "OPL-NIEUWE-TOETREDERS": [17], "OPL-DOELGROEPEN-BEWAKEN": [18],
    "OPL-GEZAMENLIJK-INKOPEN": [19], "OPL-RIJKSINFORMATIE": [20],
}
EXPECTED_VARIABLES = {
    "K1A": "Netwerkgrootte", "K1B": "Variëteit aan actoren", "K1C": "Onmisbare actoren",
    "K2A": "Wezenlijk aandeel van actor", "K2B": "Verhouding transactiekosten-opbrengsten",
    "K2C": "Risico's voor actoren", "K3A": "Onderling vertrouwen",
    "K3B": "Bewustzijn onderlinge afhankelijkheid", "K3C": "Meervoudige relaties",
    "K3D": "Netwerk leiderschap", "K3E": "Netwerkcompetenties",
    "K4A": "Gemeenschappelijk belang en consensus over doelen",
    "K4B": "Problemen en oplossingen passend binnen regels", "K5A": "Projectorganisatie",
}
COLOR = re.compile(r"^#[0-9A-F]{6}$")


@pytest.fixture(scope="module")
def shipped() -> Codebook:
    return load_codebook(SHIPPED)


# --- the shipped LZW codebook -----------------------------------------------------------------

def test_codebook_default_settings_load_the_shipped_file(shipped):
    loaded = load_default_codebook(get_settings(codebook_path=SHIPPED))
    assert loaded == shipped
    assert (loaded.key, loaded.version, loaded.language) == ("lzw-regie", "1.0.0", "nl")
    assert loaded.name.strip() and "5.3" in loaded.source and "tabel 4" in loaded.source


def test_codebook_shipped_categories_are_a_to_e(shipped):
    assert {c.id: c.name for c in shipped.categories} == EXPECTED_CATEGORIES
    assert all(c.description.strip() for c in shipped.categories)


def test_codebook_shipped_has_20_knelpunten_numbered_as_in_thesis(shipped):
    knelpunten = shipped.knelpunten()
    assert [k.number for k in knelpunten] == list(range(1, 21))
    assert {k.number: (k.name, k.category) for k in knelpunten} == EXPECTED_KNELPUNTEN
    assert [k.id for k in knelpunten] == [f"KP{n:02d}" for n in range(1, 21)]
    for number, (name, _) in EXPECTED_KNELPUNTEN.items():
        assert shipped.knelpunt_by_number(number).name == name


def test_codebook_shipped_knelpunt_descriptions_are_fuller_than_one_line(shipped):
    for knelpunt in shipped.knelpunten():
        sentences = [s for s in re.split(r"[.?!]\s", knelpunt.description) if s.strip()]
        assert len(sentences) >= 3, knelpunt.id


def test_codebook_shipped_solutions_match_the_fixed_ids_and_links(shipped):
    got = {s.id: list(s.addresses) for s in shipped.solutions()}
    assert got == {sid: [f"KP{n:02d}" for n in numbers] for sid, numbers in EXPECTED_SOLUTIONS.items()}
    for solution in shipped.solutions():
        assert solution.addresses, solution.id
        assert all(shipped.code(target).kind == "knelpunt" for target in solution.addresses)
        assert solution.name.strip() and solution.description.strip()


def test_codebook_shipped_every_knelpunt_has_a_solution(shipped):
    addressed = {target for s in shipped.solutions() for target in s.addresses}
    assert [k.id for k in shipped.knelpunten() if k.id not in addressed] == []


def test_codebook_shipped_markers_are_thesis_markers(shipped):
    markers = {c.id: c.marker for c in shipped.codes if c.marker is not None}
    assert markers.get("OPL-VERWACHTINGEN-PARTNERS") == "[1]"  # both of its §5.3 bullets carry [1]
    assert set(markers.values()) <= {"[1]", "[2]"}
    assert "OPL-PROCESMANAGER" not in markers


def test_codebook_shipped_has_14_literature_variables_with_indicators(shipped):
    variables = shipped.variables()
    assert {v.id: v.name for v in variables} == EXPECTED_VARIABLES
    for variable in variables:
        assert variable.kind == "variabele" and variable.category is None and variable.number is None
        assert variable.group and variable.group.startswith(variable.id[:2])
        assert variable.indicators, variable.id
        assert all(i.name and i.knelpunt and i.succesfactor for i in variable.indicators)
    k2b = shipped.code("K2B").indicators
    assert [(i.knelpunt, i.succesfactor) for i in k2b] == [("Nee", "Ja"), ("Hoog", "Laag"), ("Nee", "Ja")]


def test_codebook_shipped_colours_follow_categories_and_families(shipped):
    assert all(COLOR.match(c.color) for c in shipped.codes)
    category_colors = {c.id: c.color for c in shipped.categories}
    assert len(set(category_colors.values())) == 5
    assert all(k.color == category_colors[k.category] for k in shipped.knelpunten())
    solution_colors = {s.color for s in shipped.solutions()}
    variable_colors = {v.color for v in shipped.variables()}
    assert not solution_colors & variable_colors
    assert not (solution_colors | variable_colors) & set(category_colors.values())


def test_codebook_shipped_codes_are_frozen_and_hashable(shipped):
    code = shipped.code("K4B")
    assert len({code, shipped.code("K4B"), shipped.code("KP01")}) == 2
    assert hash(shipped) == hash(load_codebook(SHIPPED))
    with pytest.raises(dataclasses.FrozenInstanceError):
        code.name = "x"  # type: ignore[misc]


def test_codebook_unknown_code_and_number_raise(shipped):
    with pytest.raises(UnknownCodeError):
        shipped.code("KP21")
    with pytest.raises(UnknownCodeError):
        shipped.knelpunt_by_number(21)


def test_codebook_stances_are_the_documented_four():
    assert STANCES == ("knelpunt", "oplossing", "succesfactor", "neutraal")


# --- round trip and hash ----------------------------------------------------------------------

def test_codebook_to_dict_round_trips(shipped, tmp_path):
    data = shipped.to_dict()
    assert codebook_from_dict(data) == shipped
    assert codebook_from_dict(json.loads(json.dumps(data, ensure_ascii=False))) == shipped
    copy = tmp_path / "codebook.yaml"
    copy.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=True), encoding="utf-8")
    assert load_codebook(copy) == shipped


def _reverse_keys(value):
    if isinstance(value, dict):
        return {k: _reverse_keys(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reverse_keys(v) for v in value]
    return value


def test_codebook_sha256_is_stable_under_key_order_and_changes_with_content(shipped, tmp_path):
    raw = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    reordered = tmp_path / "reordered.yaml"
    reordered.write_text(yaml.safe_dump(_reverse_keys(raw), allow_unicode=True, sort_keys=False), "utf-8")
    assert load_codebook(reordered).sha256 == shipped.sha256
    assert re.fullmatch(r"[0-9a-f]{64}", shipped.sha256)

    raw["codes"][0]["description"] += " Extra zin."
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    assert load_codebook(changed).sha256 != shipped.sha256


# --- a project's own codebook: the format hard-codes no LZW ids --------------------------------

BASE = """\
key: demo
version: "0.1"
name: Demo codebook
language: nl
categories:
  - id: A
    name: Netwerk
    color: "#112233"
codes:
  - id: P1
    kind: knelpunt
    number: 1
    category: A
    name: Eerste
    description: Eerste knelpunt.
  - id: P2
    kind: knelpunt
    number: 2
    category: A
    name: Tweede
    description: Tweede knelpunt.
  - id: S1
    kind: oplossing
    name: Oplossing
    description: Lost P1 en P2 op.
    color: "#00AA00"
    addresses: [P1, P2]
  - id: V1
    kind: variabele
    name: Variabele
    description: Een variabele.
    color: "#777777"
    indicators:
      - {name: Indicator, knelpunt: "Nee", succesfactor: "Ja"}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "codebook.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_codebook_accepts_a_project_codebook_with_its_own_ids(tmp_path):
    cb = load_codebook(_write(tmp_path, BASE))
    assert [k.id for k in cb.knelpunten()] == ["P1", "P2"]
    assert cb.code("P2").color == "#112233"  # taken from category A
    assert cb.code("S1").addresses == ("P1", "P2")
    assert cb.code("V1").indicators[0].succesfactor == "Ja"


def _mutate(old: str, new: str) -> str:
    assert BASE.count(old) == 1, old
    return BASE.replace(old, new)


MARK = "# <-- error"
INVALID = {
    "yaml_syntax": (_mutate("    description: Tweede knelpunt.", f"   description: Tweede.  {MARK}"),
                    "invalid YAML"),
    "yaml_duplicate_key": (_mutate("    name: Tweede\n", f"    name: Tweede\n    name: Nog eens  {MARK}\n"),
                           "duplicate key 'name'"),
    "missing_code_name": (_mutate("  - id: P2\n    kind: knelpunt\n    number: 2\n    category: A\n    name: Tweede\n",
                                  f"  - id: P2  {MARK}\n    kind: knelpunt\n    number: 2\n    category: A\n"),
                          "required field 'name'"),
    "missing_top_language": (_mutate("key: demo\n", f"key: demo  {MARK}\n").replace("language: nl\n", ""),
                             "required field 'language'"),
    "missing_knelpunt_number": (_mutate("  - id: P2\n    kind: knelpunt\n    number: 2\n",
                                        f"  - id: P2  {MARK}\n    kind: knelpunt\n"),
                                "required field 'number'"),
    "duplicate_code_id": (_mutate("  - id: S1", f"  - id: P1  {MARK}"), "duplicate code id"),
    "duplicate_number": (_mutate("    number: 2", f"    number: 1  {MARK}"), "already used"),
    "zero_number": (_mutate("    number: 2", f"    number: 0  {MARK}"), "positive whole number"),
    "negative_number": (_mutate("    number: 2", f"    number: -2  {MARK}"), "positive whole number"),
    "text_number": (_mutate("    number: 2", f"    number: \"2\"  {MARK}"), "positive whole number"),
    "unknown_category": (_mutate("    number: 2\n    category: A", f"    number: 2\n    category: Z  {MARK}"),
                         "unknown category 'Z'"),
    "dangling_address": (_mutate("    addresses: [P1, P2]", f"    addresses: [P1, P9]  {MARK}"),
                         "'P9'"),
    "dangling_address_block_list": (_mutate("    addresses: [P1, P2]",
                                            f"    addresses:\n      - P1\n      - P9  {MARK}"), "'P9'"),
    "address_not_a_knelpunt": (_mutate("    addresses: [P1, P2]", f"    addresses: [P1, V1]  {MARK}"),
                               "not a knelpunt"),
    "empty_name": (_mutate("    name: Tweede", f"    name: \"  \"  {MARK}"), "'name' is empty"),
    "blank_name": (_mutate("    name: Tweede", f"    name:  {MARK}"), "'name' is empty"),
    "bad_colour": (_mutate('    color: "#00AA00"', f'    color: "#00AA0"  {MARK}'), "not a colour"),
    "named_colour": (_mutate('    color: "#00AA00"', f"    color: green  {MARK}"), "not a colour"),
    "unquoted_colour": (_mutate('    color: "#00AA00"', f"    color: #00AA00  {MARK}"), "quoted"),
    "unknown_kind": (_mutate("    kind: oplossing", f"    kind: solution  {MARK}"), "unknown kind 'solution'"),
    "unknown_field": (_mutate("    name: Oplossing", f"    name: Oplossing\n    colour: \"#00AA00\"  {MARK}"),
                      "unknown field 'colour'"),
    "duplicate_category": (_mutate('    color: "#112233"\n',
                                   f'    color: "#112233"\n  - id: A  {MARK}\n    name: Nog een\n'),
                           "duplicate category id"),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_codebook_invalid_file_names_file_and_line(tmp_path, case):
    text, fragment = INVALID[case]
    expected_line = next(n for n, line in enumerate(text.splitlines(), 1) if MARK in line)
    path = _write(tmp_path, text)
    with pytest.raises(CodebookError) as info:
        load_codebook(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{expected_line}: "), message
    assert fragment in message
    assert info.value.details == {"file": str(path), "line": expected_line}


def test_codebook_missing_file_says_which_setting(tmp_path):
    with pytest.raises(CodebookError, match="codebook_path"):
        load_codebook(tmp_path / "nope.yaml")


def test_codebook_empty_or_non_mapping_file_is_rejected(tmp_path):
    with pytest.raises(CodebookError, match="empty"):
        load_codebook(_write(tmp_path, "# nothing here\n"))
    with pytest.raises(CodebookError, match="mapping"):
        load_codebook(_write(tmp_path, "- just\n- a list\n"))


def test_codebook_refuses_python_tags(tmp_path):
    with pytest.raises(CodebookError, match=r":1: invalid YAML"):
        load_codebook(_write(tmp_path, "key: !!python/object/apply:os.getcwd []\n"))


def test_codebook_from_plain_dict_reports_the_source_without_line():
    data = yaml.safe_load(BASE)
    data["codes"][1]["name"] = ""
    with pytest.raises(CodebookError) as info:
        codebook_from_dict(data, source="upload.yaml")
    assert str(info.value).startswith("upload.yaml: code 'P2': 'name' is empty")
