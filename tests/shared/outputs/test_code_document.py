"""Code-document table: counts per transcript, respondent and case, as CSV and XLSX."""
from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from services.shared.errors import InputError
from services.shared.outputs.code_document import code_document_table, to_csv, to_xlsx


def test_code_document_counts_per_case(codings):
    table = code_document_table(codings, "case", include_empty=False)
    assert table.columns == ["Casus X", "Casus Y"]
    counts = {row.code_id: row.counts for row in table.rows}
    assert counts == {"KP03": [1, 0], "KP12": [2, 0], "KP14": [0, 2], "KP19": [0, 1], "OPL-EEN-AANSPREEKPUNT": [1, 0]}


def test_code_document_per_respondent_and_transcript(codings):
    assert code_document_table(codings, "respondent").columns == ["Int X1", "Int Y1"]
    assert code_document_table(codings, "transcript").columns == ["int_x1.txt", "int_y1.txt"]
    with pytest.raises(InputError):
        code_document_table(codings, "gemeente")


def test_code_document_csv_and_xlsx_agree(codings):
    table = code_document_table(codings, "case")
    rows = list(csv.reader(io.StringIO(to_csv(table).decode("utf-8-sig"))))
    assert rows[0] == ["code", "soort", "nummer", "naam", "Casus X", "Casus Y", "totaal"]
    kp12 = next(r for r in rows if r[0] == "KP12")
    workbook = load_workbook(io.BytesIO(to_xlsx(codings)))
    assert workbook.sheetnames == ["Per transcript", "Per respondent", "Per casus"]
    sheet = workbook["Per casus"]
    xlsx_kp12 = next(r for r in sheet.iter_rows(values_only=True) if r[0] == "KP12")
    assert [str(v) for v in xlsx_kp12] == kp12 == ["KP12", "knelpunt", "12", "Afstemming", "2", "0", "2"]
