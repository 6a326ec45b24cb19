"""The code-document table: confirmed quotations per code per transcript, respondent or case (CSV, XLSX)."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from services.shared.errors import InputError
from services.shared.outputs.data import ProjectCodings

GROUPINGS = ("transcript", "respondent", "case")
SHEET_TITLES = {"transcript": "Per transcript", "respondent": "Per respondent", "case": "Per casus"}


@dataclass
class CodeRow:
    """One code with its number of quotations per column and in total."""

    code_id: str
    kind: str
    number: int | None
    name: str
    counts: list[int]
    total: int


@dataclass
class CodeDocumentTable:
    """Rows are codes (knelpunten by number, then solutions, then variables); columns the chosen grouping."""

    by: str
    columns: list[str]
    rows: list[CodeRow]

    def to_dict(self) -> dict:
        """Plain data for JSON."""
        return {"by": self.by, "columns": self.columns,
                "rows": [{"code_id": r.code_id, "kind": r.kind, "number": r.number, "name": r.name,
                          "counts": dict(zip(self.columns, r.counts)), "total": r.total} for r in self.rows]}


def column_of(codings: ProjectCodings, transcript_id: str, by: str) -> str:
    """The column a transcript's quotations count in: its file name, respondent id or case."""
    if by == "transcript":
        return codings.transcript(transcript_id).filename
    if by == "respondent":
        return codings.respondent(transcript_id)
    return codings.case(transcript_id)


def code_document_table(codings: ProjectCodings, by: str = "transcript", *, include_empty: bool = True
                        ) -> CodeDocumentTable:
    """Count confirmed quotations per code per column; a quotation counts once per code it carries."""
    if by not in GROUPINGS:
        raise InputError(f"Group the table by one of: {', '.join(GROUPINGS)}.", by=by)
    columns: list[str] = []
    for transcript in codings.transcripts:
        column = column_of(codings, transcript.id, by)
        if column not in columns:
            columns.append(column)
    counts: dict[tuple[str, str], int] = {}
    for quotation in codings.confirmed():
        column = column_of(codings, quotation.transcript_id, by)
        for code_id in set(quotation.codes):
            counts[code_id, column] = counts.get((code_id, column), 0) + 1
    codebook = codings.codebook
    rows = []
    for code in [*codebook.knelpunten(), *codebook.solutions(), *codebook.variables()]:
        values = [counts.get((code.id, column), 0) for column in columns]
        if include_empty or any(values):
            rows.append(CodeRow(code.id, code.kind, code.number, code.name, values, sum(values)))
    return CodeDocumentTable(by=by, columns=columns, rows=rows)


def to_csv(table: CodeDocumentTable) -> bytes:
    """CSV (UTF-8 with BOM so that Excel reads the accents) with one row per code."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["code", "soort", "nummer", "naam", *table.columns, "totaal"])
    for row in table.rows:
        writer.writerow([row.code_id, row.kind, row.number or "", row.name, *row.counts, row.total])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(codings: ProjectCodings) -> bytes:
    """A workbook with one sheet per grouping (transcript, respondent, case)."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    bold = Font(bold=True)
    shade = PatternFill("solid", fgColor="DDEBF7")
    for by in GROUPINGS:
        table = code_document_table(codings, by)
        sheet = workbook.create_sheet(SHEET_TITLES[by])
        header = ["Code", "Soort", "Nummer", "Naam", *table.columns, "Totaal"]
        sheet.append(header)
        for cell in sheet[1]:
            cell.font, cell.fill = bold, shade
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for row in table.rows:
            sheet.append([row.code_id, row.kind, row.number, row.name, *row.counts, row.total])
        sheet.freeze_panes = "E2"
        sheet.column_dimensions["A"].width = 28
        sheet.column_dimensions["D"].width = 40
        for index in range(5, len(header) + 1):
            sheet.column_dimensions[get_column_letter(index)].width = 14
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
