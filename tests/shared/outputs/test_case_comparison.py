"""Case comparison like thesis table 8: cell rules, the seeded project's table, and the quotations behind cells."""
from __future__ import annotations

import pytest

from services.shared.outputs.case_comparison import case_comparison, cell_quotations, cell_status, to_csv, to_html


@pytest.mark.parametrize("counts, solutions, expected", [
    ({"knelpunt": 3}, 0, "knelpunt"),
    ({"knelpunt": 3}, 1, "resolved"),
    ({"knelpunt": 1, "oplossing": 1}, 0, "resolved"),
    ({"succesfactor": 2}, 0, "succesfactor"),
    ({"succesfactor": 2}, 1, "succesfactor"),
    ({"knelpunt": 2, "succesfactor": 1}, 0, "mixed"),
    ({"knelpunt": 3, "succesfactor": 1}, 0, "knelpunt"),
    ({"knelpunt": 1, "succesfactor": 3}, 0, "succesfactor"),
    ({"neutraal": 2}, 0, "neutral"),
    ({"neutraal": 1, "succesfactor": 1}, 0, "succesfactor"),
    ({}, 0, None),
])
def test_case_comparison_cell_rules(counts, solutions, expected):
    assert cell_status(counts, solutions) == expected


def test_case_comparison_seeded_table(codings):
    comparison = case_comparison(codings)
    assert comparison.cases == ["Casus X", "Casus Y"]
    cells = {row.code_id: {case: cell.symbol for case, cell in row.cells.items()} for row in comparison.rows}
    assert cells == {"KP03": {"Casus X": "-", "Casus Y": ""}, "KP12": {"Casus X": "+/-", "Casus Y": ""},
                     "KP14": {"Casus X": "", "Casus Y": "-"}, "KP19": {"Casus X": "", "Casus Y": "-"}}
    assert [row.group for row in comparison.rows][0].startswith("A.")


def test_case_comparison_cell_quotations_one_click_away(codings):
    comparison = case_comparison(codings)
    items = cell_quotations(codings, comparison, "KP12", "Casus X")
    assert {i["role"] for i in items} == {"code", "solution"}
    assert {i["stance"] for i in items if i["role"] == "code"} == {"knelpunt", "succesfactor"}
    assert all(i["respondent"] == "Int X1" for i in items)
    html = to_html(comparison, codings)
    assert 'href="#c-KP12-1"' in html and 'id="c-KP12-1"' in html
    assert "“De afdeling wonen en de afdeling zorg weten niet van elkaar waar ze mee bezig zijn.” (Int X1)" in html


def test_case_comparison_csv_uses_thesis_symbols(codings):
    rows = to_csv(case_comparison(codings)).decode("utf-8-sig").splitlines()
    assert rows[0] == "groep,code,knelpunt / succesfactor,Casus X,Casus Y"
    assert any(row.endswith(",KP12,Afstemming,+/-,") for row in rows)
